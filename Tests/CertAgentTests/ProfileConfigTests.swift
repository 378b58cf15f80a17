@testable import CertAgent
import Foundation
import TestSupport
import XCTest

/// `profile` in the config, and the limits `check` catches before a CA would: names per certificate and profile,
/// wildcards, IP addresses outside `shortlived` at Let's Encrypt. Each problem names its field and value.
final class ProfileConfigTests: XCTestCase {
    var temp: TemporaryDirectory!
    var webroot: String!

    override func setUpWithError() throws {
        temp = try TemporaryDirectory()
        webroot = try temp.make("home/site/public_html")
    }

    private func load(_ json: String) throws -> AgentConfig {
        try ConfigLoader.parse(Data(json.utf8), path: "/etc/certagent/config.json", environment: [:], runningAsRoot: false)
    }

    private func problems(_ json: String, file: StaticString = #filePath, line: UInt = #line) -> [ConfigProblem] {
        refusedConfig(file: file, line: line) { try load(json) }?.problems ?? []
    }

    private func names(_ count: Int) -> String {
        (1...count).map { "\"n\($0).example.org\"" }.joined(separator: ", ")
    }

    func testTopLevelProfileAppliesAndPerCertificateProfileWins() throws {
        let config = try load(#"""
        {"profile": "tlsserver", "certificates": [
          {"name": "plain", "domains": ["a.example.org"], "webroot": "\#(webroot!)"},
          {"name": "short", "domains": ["b.example.org"], "webroot": "\#(webroot!)", "profile": "shortlived"}]}
        """#)
        XCTAssertEqual(config.profile, "tlsserver")
        XCTAssertEqual(config.certificate(named: "plain")?.profile, "tlsserver")
        XCTAssertEqual(config.certificate(named: "short")?.profile, "shortlived")

        let without = try load(#"{"certificates": [{"domains": ["a.example.org"], "webroot": "\#(webroot!)"}]}"#)
        XCTAssertNil(without.profile)
        XCTAssertNil(without.certificates[0].profile, "no profile: the order names none (the CA's default)")
    }

    func testProfileThatIsNotANameIsRefusedWithFieldAndValue() {
        let found = problems(#"""
        {"profile": "two words", "certificates": [
          {"domains": ["a.example.org"], "webroot": "\#(webroot!)", "profile": 7},
          {"domains": ["b.example.org"], "webroot": "\#(webroot!)", "profile": "line\nbreak"},
          {"domains": ["c.example.org"], "webroot": "\#(webroot!)", "profile": ""}]}
        """#)
        let byField = Dictionary(grouping: found, by: \.field)
        XCTAssertEqual(byField["profile"]?.first?.value, "\"two words\"")
        XCTAssertNotNil(byField["profile"]?.first?.message.range(of: "is not a profile name"))
        XCTAssertEqual(byField["certificates[0].profile"]?.first?.message, "must be a string, not a number")
        XCTAssertEqual(byField["certificates[1].profile"]?.first?.value, "\"line\\nbreak\"")
        XCTAssertEqual(byField["certificates[2].profile"]?.first?.value, "\"\"")
        let long = String(repeating: "p", count: 65)
        let tooLong = problems(#"{"profile": "\#(long)", "certificates": [{"domains": ["a.example.org"], "webroot": "\#(webroot!)"}]}"#)
        XCTAssertEqual(tooLong.first?.field, "profile")
        XCTAssertNotNil(tooLong.first?.message.range(of: "1–64 characters"))
    }

    func testMoreThanAHundredNamesIsRefusedWithCountAndLimit() throws {
        XCTAssertEqual(try load(#"{"certificates": [{"domains": [\#(names(100))], "webroot": "\#(webroot!)"}]}"#).certificates[0].domains.count, 100)
        let found = problems(#"{"certificates": [{"domains": [\#(names(101))], "webroot": "\#(webroot!)"}]}"#)
        XCTAssertEqual(found.map(\.field), ["certificates[0].domains"])
        XCTAssertEqual(found.first?.message, "lists 101 names: a certificate holds at most 100 (Let's Encrypt's limit): split them over several certificates")
    }

    func testTLSServerProfileHoldsAtMostTwentyFiveNames() throws {
        let fits = try load(#"{"certificates": [{"domains": [\#(names(25))], "webroot": "\#(webroot!)", "profile": "tlsserver"}]}"#)
        XCTAssertEqual(fits.certificates[0].domains.count, 25)
        let perCertificate = problems(#"{"certificates": [{"domains": [\#(names(26))], "webroot": "\#(webroot!)", "profile": "tlsserver"}]}"#)
        XCTAssertEqual(perCertificate.map(\.field), ["certificates[0].domains"])
        XCTAssertEqual(perCertificate.first?.message, "lists 26 names: the profile tlsserver allows at most 25 per certificate (Let's Encrypt): split them over several certificates or choose another profile")
        // The top-level profile counts the same; another profile allows the 100.
        let inherited = problems(#"{"profile": "tlsserver", "certificates": [{"domains": [\#(names(30))], "webroot": "\#(webroot!)"}]}"#)
        XCTAssertEqual(inherited.first?.field, "certificates[0].domains")
        XCTAssertNotNil(inherited.first?.message.range(of: "lists 30 names: the profile tlsserver allows at most 25"))
        XCTAssertNoThrow(try load(#"{"profile": "tlsserver", "certificates": [{"domains": [\#(names(30))], "webroot": "\#(webroot!)", "profile": "classic"}]}"#))
    }

    func testWildcardIsRefusedBecauseHTTP01CannotProveIt() {
        let found = problems(#"{"certificates": [{"domains": ["example.org", "*.example.org"], "webroot": "\#(webroot!)"}]}"#)
        XCTAssertEqual(found.first?.field, "certificates[0].domains[1]")
        XCTAssertEqual(found.first?.value, "\"*.example.org\"")
        let message = found.first?.message ?? ""
        for part in ["wildcard", "HTTP-01 cannot prove", "RFC 8555 §8.3", "DNS-01", "www.example.org"] {
            XCTAssertNotNil(message.range(of: part), "\(part) in: \(message)")
        }
    }

    // MARK: IP addresses at Let's Encrypt (the pure rule: `domains` takes addresses with the IP-certificate work)

    private func certificate(_ domains: [String], profile: String?) -> CertificateConfig {
        CertificateConfig(name: "box", domains: domains, webroots: [:], keyType: .ec256, profile: profile)
    }

    /// Offline (`ipAddressProblem`: the CA's list unknown) and with the CA's list (`problem`).
    func testIPAddressesOnlyUnderShortlivedWhereLetsEncryptsRuleApplies() throws {
        let letsEncrypt = KnownDirectory.letsencrypt.url
        let problem = try XCTUnwrap(CertificateProfile.ipAddressProblem(with: certificate(["box.example.org", "192.0.2.7"], profile: nil),
                                                               directoryURL: letsEncrypt, offered: nil))
        XCTAssertEqual(problem.kind, .ipAddressNeedsShortlived(address: "192.0.2.7"))
        XCTAssertEqual(problem.description, "the IP address 192.0.2.7 needs the profile \"shortlived\" at the CA at \(letsEncrypt) (Let's Encrypt issues IP-address certificates only under it), but the profile is none: set \"profile\": \"shortlived\" for this certificate")
        let classic = try XCTUnwrap(CertificateProfile.ipAddressProblem(with: certificate(["2001:db8::1"], profile: "classic"),
                                                               directoryURL: KnownDirectory.letsencryptStaging.url, offered: nil))
        XCTAssertEqual(classic.kind, .ipAddressNeedsShortlived(address: "2001:db8::1"))
        XCTAssertNotNil(classic.description.range(of: "the profile is \"classic\""))
        XCTAssertNil(CertificateProfile.ipAddressProblem(with: certificate(["192.0.2.7"], profile: "shortlived"), directoryURL: letsEncrypt,
                                                offered: nil))
        // Another CA: the rule applies only when its directory offers shortlived (known at check --online time).
        XCTAssertNil(CertificateProfile.ipAddressProblem(with: certificate(["192.0.2.7"], profile: nil), directoryURL: "https://ca.test/dir",
                                                offered: nil))
        XCTAssertEqual(CertificateProfile.problem(with: certificate(["192.0.2.7"], profile: "default"), directoryURL: "https://ca.test/dir",
                                                  offered: ["default": "", "shortlived": "160 hours"])?.kind,
                       .ipAddressNeedsShortlived(address: "192.0.2.7"))
        XCTAssertNil(CertificateProfile.ipAddressProblem(with: certificate(["box.example.org"], profile: nil), directoryURL: letsEncrypt, offered: nil),
                     "names alone need no profile")
        XCTAssertNil(CertificateProfile.ipAddressProblem(with: certificate(["1.2.3.example.org"], profile: nil), directoryURL: letsEncrypt, offered: nil),
                     "a name that starts like an address is a name")

        // At config load, against Let's Encrypt's directory: field and value named; shortlived passes; another CA passes.
        let refused = problems(#"""
        {"directory": "letsencrypt", "certificates": [{"name": "box", "domains": ["box.example.org", "::1"], "webroot": "\#(webroot!)"}]}
        """#)
        XCTAssertEqual(refused.map(\.field), ["certificates[0].domains"], "\(refused)")
        XCTAssertTrue(refused.first?.description.contains("::1") == true && refused.first?.description.contains("shortlived") == true, "\(refused)")
        XCTAssertNoThrow(try load(#"""
        {"directory": "letsencrypt", "certificates": [{"name": "box", "domains": ["box.example.org", "::1"], "webroot": "\#(webroot!)", "profile": "shortlived"}]}
        """#))
        XCTAssertNoThrow(try load(#"""
        {"directory": "https://ca.example.net/dir", "certificates": [{"name": "box", "domains": ["127.0.0.1"], "webroot": "\#(webroot!)"}]}
        """#))
    }

    // MARK: The CA's meta.profiles

    func testProfileCheckedAgainstWhatTheCAOffers() throws {
        let offered = ["classic": "The same profile you're accustomed to", "shortlived": "Near-term expiration\u{1b}[31m",
                       "tlsserver": "45-day certificates"]
        XCTAssertNil(CertificateProfile.problem(with: certificate(["a.example.org"], profile: "tlsserver"), directoryURL: "https://ca.test/dir",
                                                offered: offered))
        XCTAssertNil(CertificateProfile.problem(with: certificate(["a.example.org"], profile: nil), directoryURL: "https://ca.test/dir",
                                                offered: nil), "no profile configured: nothing to check")

        let unknown = try XCTUnwrap(CertificateProfile.problem(with: certificate(["a.example.org"], profile: "tlsclient"),
                                                               directoryURL: "https://ca.test/dir", offered: offered))
        XCTAssertEqual(unknown.kind, .notOffered(offered))
        XCTAssertEqual(unknown.description, "profile = \"tlsclient\" is not offered by the CA at https://ca.test/dir; it offers: "
            + "classic (The same profile you're accustomed to); shortlived (Near-term expiration\\x1b[31m); tlsserver (45-day certificates). "
            + "Set \"profile\" to one of them (or remove it for the CA's default)", "descriptions are the CA's text: escaped")

        for none in [nil, [:]] as [[String: String]?] {
            let problem = try XCTUnwrap(CertificateProfile.problem(with: certificate(["a.example.org"], profile: "tlsserver"),
                                                                   directoryURL: "https://ca.test/dir", offered: none))
            XCTAssertEqual(problem.kind, .noProfilesOffered)
            XCTAssertEqual(problem.description, "profile = \"tlsserver\" is configured, but the CA at https://ca.test/dir offers no profiles (its directory has no meta.profiles): remove \"profile\" (the CA would ignore or refuse it)")
        }
    }
}
