import ACME
@testable import CertAgent
import CertCrypto
import Foundation
import Logging
import TestSupport
import XCTest

/// One certificate ordered through `RenewalService` from `ScriptedACMEServer` (which, unlike Pebble, serves
/// `meta.profiles`), with a config whose `profile` each test sets and may change, as a reload does.
final class ProfileTestbed {
    static let domain = "www.example.test"
    static let name = "site"

    let temporary: TemporaryDirectory
    let webroot: String
    let server: ScriptedACMEServer
    let clock = StoppableClock()
    /// Every log line of every session opened here (warning and above).
    let sink = ARITestbed.LineSink()
    private(set) var session: AgentSession
    private(set) var service: RenewalService

    init(offered: [String: String]?, profile: String?) throws {
        temporary = try TemporaryDirectory()
        webroot = try temporary.make("webroot")
        server = ScriptedACMEServer(ca: try ScriptedIssuingCA(directory: try temporary.make("ca")), webroots: [Self.domain: webroot])
        server.script(profiles: offered)
        (session, service) = try Self.open(configPath: try Self.writeConfig(in: temporary, webroot: webroot, profile: profile),
                                           server: server, clock: clock, sink: sink)
    }

    /// Writes the config again with `profile` and opens a new session and service on the same store and account.
    func configure(profile: String?) throws {
        (session, service) = try Self.open(configPath: try Self.writeConfig(in: temporary, webroot: webroot, profile: profile),
                                           server: server, clock: clock, sink: sink)
    }

    var log: String { sink.lines.withLock { $0.joined(separator: "\n") } }

    var store: CertificateStore { session.store }
    var certificate: CertificateConfig { session.config.certificates[0] }

    func status() -> CertificateStatus { CertificateStatus(certificate: certificate, store: store, now: Date()) }

    private static func writeConfig(in temporary: TemporaryDirectory, webroot: String, profile: String?) throws -> String {
        var certificate: [String: Any] = ["name": name, "domains": [domain], "webroot": webroot]
        if let profile { certificate["profile"] = profile }
        let config: [String: Any] = ["directory": ScriptedACMEServer.directoryURL, "storage": temporary.path("store"),
                                     "acceptTermsOfService": true, "certificates": [certificate]]
        return try temporary.write("config.json", bytes: Array(try JSONSerialization.data(withJSONObject: config)))
    }

    private static func open(configPath: String, server: ScriptedACMEServer, clock: StoppableClock,
                             sink: ARITestbed.LineSink) throws -> (AgentSession, RenewalService) {
        var logger = Logger(label: "profile-test") { label in
            AgentLogHandler(label: label, level: .warning, journald: false) { line in sink.lines.withLock { $0.append(line) } }
        }
        logger.logLevel = .warning
        let session = try AgentSession(config: try ConfigLoader.load(path: configPath, environment: [:]), clock: clock, logger: logger,
                                       environment: [:], transport: server)
        let service = RenewalService(session: session, clock: clock, random: ScriptedRandomSource([0.5]), failureLogLevel: .debug, logger: logger)
        service.connectIfPossible()
        return (session, service)
    }
}

/// Profiles against a CA that offers them, one that offers others, and one that offers none: the order carries the
/// profile, the stored version records it, `status` shows it, and a change in the config renews early.
final class ProfileIssuanceTests: XCTestCase {
    static let letsEncryptLike = ["classic": "The same profile you're accustomed to", "shortlived": "Near-term expiration",
                                  "tlsserver": "Fewer names, 45 days"]

    func testOfferedProfileIsOrderedRecordedAndShown() throws {
        let bed = try ProfileTestbed(offered: Self.letsEncryptLike, profile: "tlsserver")
        let outcome = bed.service.process(ProfileTestbed.name)
        guard case .renewed = outcome else { return XCTFail("\(outcome)") }

        XCTAssertEqual(bed.server.placedOrders.map(\.profile), ["tlsserver"], "the newOrder payload names the profile")
        let facts = try XCTUnwrap(bed.store.issuanceFacts(of: ProfileTestbed.name))
        XCTAssertEqual(facts.profile, "tlsserver")
        XCTAssertEqual(facts.directoryURL, ScriptedACMEServer.directoryURL)
        XCTAssertNotNil(facts.accountURL)

        let status = bed.status()
        XCTAssertEqual(status.profile, "tlsserver")
        XCTAssertEqual(status.configuredProfile, "tlsserver")
        XCTAssertTrue(status.text.contains("    profile       tlsserver\n"), status.text)
        let json = try StatusJSON.encode([status])
        XCTAssertTrue(json.contains(#""profile" : "tlsserver""#), json)
        XCTAssertTrue(json.contains(#""configuredProfile" : "tlsserver""#), json)
        XCTAssertTrue(json.contains(#""profileRecorded" : true"#), json)
        XCTAssertNotEqual(status.nextActionReason, .profileChanged)
    }

    func testNoProfileConfiguredOrdersNoneAndRecordsNone() throws {
        let bed = try ProfileTestbed(offered: Self.letsEncryptLike, profile: nil)
        guard case .renewed = bed.service.process(ProfileTestbed.name) else { return XCTFail("not issued") }
        XCTAssertEqual(bed.server.placedOrders.count, 1)
        XCTAssertNil(bed.server.placedOrders[0].profile)
        let facts = try XCTUnwrap(bed.store.issuanceFacts(of: ProfileTestbed.name))
        XCTAssertNil(facts.profile)
        let status = bed.status()
        XCTAssertNil(status.profile)
        XCTAssertFalse(status.text.contains("profile"), "nothing to say about profiles: no line\n\(status.text)")
        XCTAssertFalse(try StatusJSON.encode([status]).contains(#""profile""#))
    }

    func testUnknownProfileFailsBeforeAnyOrderListingWhatTheCAOffers() throws {
        let bed = try ProfileTestbed(offered: Self.letsEncryptLike, profile: "tlsclient")
        let outcome = bed.service.process(ProfileTestbed.name)
        guard case .failed(let error, _) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertTrue(error.contains(#"profile = "tlsclient" is not offered by the CA at \#(ScriptedACMEServer.directoryURL)"#), error)
        XCTAssertTrue(error.contains("classic (The same profile you're accustomed to); shortlived (Near-term expiration); tlsserver (Fewer names, 45 days)"), error)
        XCTAssertEqual(bed.server.placedOrders.count, 0, "no order is placed")
        XCTAssertEqual((FileManager.default.enumerator(atPath: bed.webroot)?.allObjects as? [String]) ?? [], [], "no challenge file was written")
        XCTAssertNil(try bed.store.linkedVersion(ProfileTestbed.name))
    }

    func testConnectingSaysAtOnceWhichCertificatesTheCAWillRefuseForTheirProfile() throws {
        let bed = try ProfileTestbed(offered: Self.letsEncryptLike, profile: "tlsclient")
        XCTAssertTrue(bed.log.contains("WARNING"), bed.log)
        XCTAssertTrue(bed.log.contains(#"profile = "tlsclient" is not offered"#), "told on connecting, before any renewal is due\n\(bed.log)")
        XCTAssertEqual(bed.server.placedOrders.count, 0)
        let fine = try ProfileTestbed(offered: Self.letsEncryptLike, profile: "tlsserver")
        XCTAssertFalse(fine.log.contains("profile"), fine.log)
    }

    func testConfiguredProfileAtACAWithoutProfilesIsAnError() throws {
        let bed = try ProfileTestbed(offered: nil, profile: "shortlived")
        let outcome = bed.service.process(ProfileTestbed.name)
        guard case .failed(let error, _) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertTrue(error.contains(#"profile = "shortlived" is configured, but the CA at \#(ScriptedACMEServer.directoryURL) offers no profiles"#), error)
        XCTAssertEqual(bed.server.placedOrders.count, 0, "not silently ordered without it")
    }

    func testChangedProfileRenewsEarlyOnceAndStatusSaysWhy() throws {
        let bed = try ProfileTestbed(offered: Self.letsEncryptLike, profile: "classic")
        guard case .renewed(let first, _) = bed.service.process(ProfileTestbed.name) else { return XCTFail("not issued") }
        guard case .notDue = bed.service.process(ProfileTestbed.name) else { return XCTFail("a fresh certificate is not renewed") }

        try bed.configure(profile: "shortlived")
        let status = bed.status()
        XCTAssertEqual(status.nextAction, .renewNow)
        XCTAssertEqual(status.nextActionReason, .profileChanged)
        XCTAssertEqual(status.profile, "classic")
        XCTAssertEqual(status.configuredProfile, "shortlived")
        XCTAssertTrue(status.text.contains("    profile       classic; configured: shortlived\n"), status.text)

        guard case .renewed(let second, _) = bed.service.process(ProfileTestbed.name) else { return XCTFail("not renewed for the profile") }
        XCTAssertNotEqual(second.serialHex, first.serialHex)
        XCTAssertEqual(bed.server.placedOrders.map(\.profile), ["classic", "shortlived"])
        XCTAssertEqual(bed.store.issuanceFacts(of: ProfileTestbed.name)?.profile, "shortlived")
        XCTAssertEqual(bed.store.issuanceFacts(of: ProfileTestbed.name, link: "previous")?.profile, "classic")
        guard case .notDue = bed.service.process(ProfileTestbed.name) else { return XCTFail("renewed again although the profile now matches") }

        // Removing the profile from the config is a change back to the CA's default.
        try bed.configure(profile: nil)
        XCTAssertEqual(bed.status().nextActionReason, .profileChanged)
        guard case .renewed = bed.service.process(ProfileTestbed.name) else { return XCTFail("not renewed for the removed profile") }
        XCTAssertEqual(bed.server.placedOrders.map(\.profile), ["classic", "shortlived", nil])
    }

    func testVersionWithoutIssuanceFactsIsNotRenewedForAProfile() throws {
        let bed = try ProfileTestbed(offered: Self.letsEncryptLike, profile: nil)
        guard case .renewed = bed.service.process(ProfileTestbed.name) else { return XCTFail("not issued") }
        // As a store written before issuance.json existed.
        let version = try XCTUnwrap(try bed.store.linkedVersion(ProfileTestbed.name))
        try FileManager.default.removeItem(atPath: version.directory + "/issuance.json")
        XCTAssertNil(bed.store.issuanceFacts(of: ProfileTestbed.name))

        try bed.configure(profile: "tlsserver")
        guard case .notDue = bed.service.process(ProfileTestbed.name) else { return XCTFail("renewed for an unknown profile") }
        XCTAssertEqual(bed.server.placedOrders.count, 1)
        let status = bed.status()
        XCTAssertEqual(status.profileRecorded, false)
        XCTAssertTrue(status.text.contains("    profile       not recorded (issued by an earlier CertAgent); configured: tlsserver\n"), status.text)
    }

    func testOnlineCheckReportsEachProfileAgainstTheDirectory() throws {
        let bed = try ProfileTestbed(offered: Self.letsEncryptLike, profile: nil)
        let good = CertificateConfig(name: "good", domains: ["a.example.test"], webroots: [:], keyType: .ec256, profile: "shortlived")
        let bad = CertificateConfig(name: "bad", domains: ["b.example.test"], webroots: [:], keyType: .ec256, profile: "tlsclient")
        let plain = CertificateConfig(name: "plain", domains: ["c.example.test"], webroots: [:], keyType: .ec256)
        XCTAssertFalse(ProfilePreflight.needsDirectory([plain]), "nothing to ask the CA")
        XCTAssertTrue(ProfilePreflight.needsDirectory([plain, good]))

        let report = ProfilePreflight.check([good, bad, plain], directoryURL: ScriptedACMEServer.directoryURL, transport: bed.server, clock: bed.clock)
        XCTAssertEqual(report.refused, ["bad"])
        XCTAssertEqual(report.lines.first, "Profiles: the CA at \(ScriptedACMEServer.directoryURL) offers classic (The same profile you're accustomed to); shortlived (Near-term expiration); tlsserver (Fewer names, 45 days)")
        XCTAssertTrue(report.lines.contains("  ✓ good: profile shortlived"), "\(report.lines)")
        XCTAssertTrue(report.lines.contains { $0.hasPrefix(#"  ✗ bad: profile = "tlsclient" is not offered"#) }, "\(report.lines)")
        XCTAssertEqual(bed.server.placedOrders.count, 0)

        bed.server.script(profiles: nil)
        let none = ProfilePreflight.check([good], directoryURL: ScriptedACMEServer.directoryURL, transport: bed.server, clock: bed.clock)
        XCTAssertEqual(none.refused, ["good"])
        XCTAssertTrue(none.lines[0].hasSuffix("offers no profiles (its directory has no meta.profiles)"), none.lines[0])

        let unreachable = ProfilePreflight.check([good], directoryURL: "https://elsewhere.test/dir", transport: bed.server, clock: bed.clock)
        XCTAssertEqual(unreachable.refused, ["good"], "a check that could not run does not pass")
        XCTAssertTrue(unreachable.lines[0].hasPrefix("Profiles: not checked: the CA's directory https://elsewhere.test/dir could not be read: "), unreachable.lines[0])
    }
}
