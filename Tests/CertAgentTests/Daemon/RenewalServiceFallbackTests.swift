import ACME
@testable import CertAgent
import CertCrypto
import Foundation
import Logging
import Synchronization
import TestSupport
import XCTest

/// Two scripted CAs behind one `RenewalService`: the primary at https://ca.test, the fallback at https://second.test,
/// each with its own issuing CA, on a real `AgentSession` (config, store, master key, one account key per CA).
final class FallbackTestbed {
    static let domain = "www.example.test"
    static let name = "site"

    let temporary: TemporaryDirectory
    let primary: ScriptedACMEServer
    let second: ScriptedACMEServer
    let session: AgentSession
    let service: RenewalService
    private let sink = ARITestbed.LineSink()

    init(fallbackAfterFailures: Int = 2, profile: String? = nil, primaryProfiles: [String: String]? = nil) throws {
        temporary = try TemporaryDirectory()
        let webroot = try temporary.make("webroot")
        primary = ScriptedACMEServer(ca: try ScriptedIssuingCA(directory: try temporary.make("ca-1")), webroots: [Self.domain: webroot])
        second = ScriptedACMEServer(ca: try ScriptedIssuingCA(directory: try temporary.make("ca-2")), webroots: [Self.domain: webroot],
                                    base: "https://second.test")
        primary.script(profiles: primaryProfiles)
        var config: [String: Any] = [
            "directory": [primary.directoryURL, second.directoryURL],
            "fallbackAfterFailures": fallbackAfterFailures,
            "storage": temporary.path("store"),
            "acceptTermsOfService": true,
            "certificates": [["name": Self.name, "domains": [Self.domain], "webroot": webroot]],
        ]
        if let profile { config["profile"] = profile }
        let configPath = try temporary.write("config.json", bytes: Array(try JSONSerialization.data(withJSONObject: config)))
        let sink = self.sink
        var logger = Logger(label: "fallback-test") { label in
            AgentLogHandler(label: label, level: .debug, journald: false) { line in sink.lines.withLock { $0.append(line) } }
        }
        logger.logLevel = .debug
        let clock = StoppableClock()
        session = try AgentSession(config: try ConfigLoader.load(path: configPath, environment: [:]), clock: clock, logger: logger,
                                   environment: [:], transport: Router(servers: [primary, second]))
        service = RenewalService(session: session, clock: clock, random: ScriptedRandomSource([0.25]), logger: logger)
        service.connectIfPossible()
    }

    /// Sends each request to the scripted CA whose base URL it starts with.
    struct Router: HTTPTransport {
        let servers: [ScriptedACMEServer]

        func send(_ request: HTTPRequest) throws -> HTTPResponse {
            guard let server = servers.first(where: { request.url.hasPrefix($0.base + "/") }) else {
                throw URLError(.cannotConnectToHost)
            }
            return try server.send(request)
        }
    }

    var log: String { sink.lines.withLock { $0.joined(separator: "\n") } }

    func record() -> RenewalRecord { RenewalRecordStore(store: session.store).load(Self.name).record }

    /// The directory URL the current version's issuance facts name.
    func issuingDirectory() -> String? { session.store.issuanceFacts(of: Self.name)?.directoryURL }

    /// A forced pass (as `certagent renew --force`), which ignores the backoff.
    @discardableResult
    func forcedPass() -> RenewalOutcome { service.process(Self.name, forced: true) }

    static let serverInternal = ScriptedACMEServer.ScriptedProblem(status: 500, type: "serverInternal", detail: "the primary is broken", retryAfter: nil)
}

/// A second CA when the first fails (`directory` as a list): which CA each attempt goes to, and ARI `replaces`
/// (RFC 9773 §5) and renewal information asked only of the CA that issued the certificate.
final class RenewalServiceFallbackTests: XCTestCase {
    func testAFallbackCAWithoutTheProfileOrdersUnderItsDefaultAndThePrimaryKeepsIt() throws {
        let bed = try FallbackTestbed(fallbackAfterFailures: 1, profile: "tlsserver", primaryProfiles: ["classic": "90 days", "tlsserver": "45 days"])
        bed.primary.script(newOrderFailure: FallbackTestbed.serverInternal)
        guard case .failed = bed.forcedPass() else { return XCTFail("the primary should fail\n\(bed.log)") }
        XCTAssertEqual(bed.primary.placedOrders.last?.profile, "tlsserver", "the primary is asked for the profile")

        guard case .renewed = bed.forcedPass() else { return XCTFail("the fallback should issue without the profile\n\(bed.log)") }
        XCTAssertEqual(bed.second.placedOrders.count, 1)
        XCTAssertNil(bed.second.placedOrders[0].profile, "a CA that offers no profiles is asked for none")
        XCTAssertTrue(bed.log.contains("the fallback CA does not offer the profile: ordering under its default"), bed.log)
        let facts = bed.session.store.issuanceFacts(of: FallbackTestbed.name)
        XCTAssertEqual(facts?.directoryURL, bed.second.directoryURL)
        XCTAssertNil(facts?.profile)
        let status = CertificateStatus.all(config: bed.session.config, store: bed.session.store, now: Date())[0]
        XCTAssertNotEqual(status.nextActionReason, .profileChanged, "a fallback's certificate is renewed in its time, at the primary")
        guard case .notDue = bed.service.process(FallbackTestbed.name) else { return XCTFail("no early renewal for the profile\n\(bed.log)") }

        // The next renewal goes to the primary and orders the profile again.
        bed.primary.script(newOrderFailure: nil)
        guard case .renewed = bed.forcedPass() else { return XCTFail("the primary should issue\n\(bed.log)") }
        XCTAssertEqual(bed.primary.placedOrders.last?.profile, "tlsserver")
        XCTAssertEqual(bed.session.store.issuanceFacts(of: FallbackTestbed.name)?.profile, "tlsserver")
    }

    func testThePrimaryStillRefusesAProfileItDoesNotOffer() throws {
        let bed = try FallbackTestbed(fallbackAfterFailures: 1, profile: "tlsserver")
        guard case .failed(let error, _) = bed.forcedPass() else { return XCTFail("no profiles at the primary is an error\n\(bed.log)") }
        XCTAssertTrue("\(error)".contains("tlsserver"), "\(error)")
        XCTAssertEqual(bed.primary.placedOrders.count, 0, "refused before any order")
    }

    func testFailuresAtThePrimarySendTheRenewalToTheSecondCAAndTheNextRenewalBackToThePrimary() throws {
        let bed = try FallbackTestbed(fallbackAfterFailures: 2)
        bed.primary.script(newOrderFailure: FallbackTestbed.serverInternal)

        for attempt in 1...2 {
            guard case .failed = bed.forcedPass() else { return XCTFail("attempt \(attempt) at the primary should fail\n\(bed.log)") }
        }
        XCTAssertEqual(bed.primary.placedOrders.count, 2)
        XCTAssertEqual(bed.second.placedOrders.count, 0, "two failures at the primary before moving on")
        XCTAssertEqual(bed.record().failuresAtAuthority, 2)

        guard case .renewed = bed.forcedPass() else { return XCTFail("the second CA should issue\n\(bed.log)") }
        XCTAssertEqual(bed.second.issued.count, 1)
        XCTAssertEqual(bed.issuingDirectory(), bed.second.directoryURL, "the issuance facts name the second CA")
        let status = CertificateStatus(certificate: bed.session.config.certificates[0], store: bed.session.store, now: Date())
        XCTAssertEqual(status.caDirectory, bed.second.directoryURL)
        XCTAssertTrue(status.text.contains("CA            https://second.test/dir"), status.text)
        XCTAssertTrue(bed.log.contains("ordering from the fallback CA https://second.test/dir (https://ca.test/dir failed 2 times in a row)"), bed.log)
        XCTAssertNil(bed.record().failedAuthority, "a success forgets the failures")
        let secondAccounts = bed.second.requests.filter { $0.url.hasSuffix("/new-account") }
        XCTAssertFalse(secondAccounts.isEmpty, "an account of its own at the second CA")

        bed.primary.script(newOrderFailure: nil)
        guard case .renewed = bed.forcedPass() else { return XCTFail("the next renewal goes to the primary\n\(bed.log)") }
        XCTAssertEqual(bed.primary.issued.count, 1)
        XCTAssertEqual(bed.second.issued.count, 1)
        XCTAssertEqual(bed.issuingDirectory(), bed.primary.directoryURL)
        XCTAssertEqual(bed.primary.placedOrders.last?.hasReplacesMember, false,
                       "the certificate being replaced came from the second CA: no `replaces` for the primary")
    }

    func testRateLimitPastWhatTheCertificateCanWaitMovesOnAtOnce() throws {
        let bed = try FallbackTestbed(fallbackAfterFailures: 3)
        bed.primary.script(newOrderFailure: .init(status: 429, type: "rateLimited", detail: "too many certificates", retryAfter: String(3 * 86_400)))

        let before = Date()
        guard case .failed(_, let retryAt) = bed.service.process(FallbackTestbed.name) else { return XCTFail(bed.log) }
        XCTAssertLessThan(retryAt, before.addingTimeInterval(FailureBackoff.delay(afterFailures: 1) + 30),
                          "the primary's three days hold nothing back: the backoff's minute paces the attempt at the second CA")
        XCTAssertNil(bed.record().retryAfter)
        XCTAssertTrue(bed.log.contains("the next attempt goes to the fallback CA https://second.test/dir"), bed.log)

        guard case .renewed = bed.forcedPass() else { return XCTFail(bed.log) }
        XCTAssertEqual(bed.issuingDirectory(), bed.second.directoryURL)
        XCTAssertEqual(bed.primary.placedOrders.count, 1)
    }

    func testReplacesGoesOnlyToTheCAThatIssuedTheCertificate() throws {
        let bed = try FallbackTestbed(fallbackAfterFailures: 1)
        guard case .renewed = bed.service.process(FallbackTestbed.name) else { return XCTFail(bed.log) }
        XCTAssertEqual(bed.issuingDirectory(), bed.primary.directoryURL)
        let firstID = try XCTUnwrap(bed.primary.issued.first?.certificateID)

        // The primary, which issued it, fails once: the renewal goes to the second CA without `replaces`.
        bed.primary.script(newOrderFailure: FallbackTestbed.serverInternal)
        guard case .failed = bed.forcedPass() else { return XCTFail(bed.log) }
        XCTAssertEqual(bed.primary.placedOrders.last?.replaces, firstID, "to the issuing CA: `replaces` names the certificate")
        guard case .renewed = bed.forcedPass() else { return XCTFail(bed.log) }
        XCTAssertEqual(bed.second.placedOrders.count, 1)
        XCTAssertEqual(bed.second.placedOrders.last?.hasReplacesMember, false, "the second CA did not issue the certificate replaced")
        let secondID = try XCTUnwrap(bed.second.issued.first?.certificateID)

        // Renewal information about the second CA's certificate is asked of the second CA only.
        let now = ARITestbed.wholeSecond(Date())
        bed.second.script(renewalInfo: .window(start: now.addingTimeInterval(-60), end: now.addingTimeInterval(86_400), retryAfter: nil))
        bed.primary.script(renewalInfo: .window(start: now.addingTimeInterval(-60), end: now.addingTimeInterval(86_400), retryAfter: nil))
        bed.primary.script(newOrderFailure: nil)
        guard case .renewed = bed.service.process(FallbackTestbed.name) else { return XCTFail(bed.log) }
        XCTAssertEqual(bed.second.renewalInfoRequests, [bed.second.renewalInfoBase + "/" + secondID])
        XCTAssertEqual(bed.primary.renewalInfoRequests, [], "the primary is not asked about a certificate it did not issue")
        XCTAssertEqual(bed.primary.placedOrders.last?.hasReplacesMember, false, "the renewal at the primary replaces the second CA's certificate")
        XCTAssertEqual(bed.issuingDirectory(), bed.primary.directoryURL)
    }

    func testAVersionWithoutIssuanceFactsCountsAsThePrimarys() throws {
        let bed = try FallbackTestbed()
        guard case .renewed = bed.service.process(FallbackTestbed.name) else { return XCTFail(bed.log) }
        let id = try XCTUnwrap(bed.primary.issued.first?.certificateID)
        let files = try XCTUnwrap(try bed.session.store.linkedVersion(FallbackTestbed.name))
        try FileManager.default.removeItem(atPath: StoreKeys.issuanceFacts(in: files))   // as written before the facts existed
        XCTAssertNil(bed.issuingDirectory())
        let status = CertificateStatus(certificate: bed.session.config.certificates[0], store: bed.session.store, now: Date())
        XCTAssertNil(status.caDirectory)
        XCTAssertTrue(status.text.contains("CA            not recorded"), status.text)

        let now = ARITestbed.wholeSecond(Date())
        bed.primary.script(renewalInfo: .window(start: now.addingTimeInterval(-60), end: now.addingTimeInterval(86_400), retryAfter: nil))
        guard case .renewed = bed.service.process(FallbackTestbed.name) else { return XCTFail(bed.log) }
        XCTAssertEqual(bed.primary.renewalInfoRequests, [bed.primary.renewalInfoBase + "/" + id])
        XCTAssertEqual(bed.primary.placedOrders.last?.replaces, id)
    }
}
