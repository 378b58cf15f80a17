import ACME
@testable import CertAgent
import CertCrypto
import Foundation
import TestSupport
import XCTest

/// IP-address certificates (RFC 8738) from the config's side: `domains` holds names and addresses in one list, an
/// address is recognised by parsing it and must be in canonical form; the order, the webroot and the messages follow.
final class IPAddressEntryTests: XCTestCase {
    var temp: TemporaryDirectory!
    var webroot: String!

    override func setUpWithError() throws {
        temp = try TemporaryDirectory()
        webroot = try temp.make("public_html")
    }

    private let file = "/etc/certagent/config.json"

    private func load(_ json: String) throws -> AgentConfig {
        try ConfigLoader.parse(Data(json.utf8), path: file, environment: [:], runningAsRoot: false)
    }

    private func config(domains: [String], extra: String = "") -> String {
        let list = domains.map { "\"\($0)\"" }.joined(separator: ", ")
        // Let's Encrypt (the default directory) certifies addresses only under shortlived.
        return #"{"certificates": [{"domains": [\#(list)], "webroot": "\#(webroot!)", "profile": "shortlived"\#(extra)}]}"#
    }

    func testAddressesSitWithNamesInDomainsAndBecomeIPIdentifiers() throws {
        let certificate = try load(config(domains: ["www.example.test", "192.0.2.7", "2001:DB8::1", "::1"])).certificates[0]
        XCTAssertEqual(certificate.domains, ["www.example.test", "192.0.2.7", "2001:db8::1", "::1"])
        XCTAssertEqual(certificate.identifiers, [.dns("www.example.test"), .ip("192.0.2.7"), .ip("2001:db8::1"), .ip("::1")])
        XCTAssertEqual(certificate.webroots["2001:db8::1"], webroot)
        XCTAssertEqual(certificate.webroots["::1"], webroot)
        XCTAssertEqual(certificate.name, "www.example.test")
    }

    func testAnAddressFirstNamesTheCertificateWithoutColons() throws {
        XCTAssertEqual(try load(config(domains: ["192.0.2.7"])).certificates[0].name, "192.0.2.7")
        XCTAssertEqual(try load(config(domains: ["2001:db8::1", "a.example.test"])).certificates[0].name, "2001-db8--1")
        XCTAssertEqual(try load(config(domains: ["::1"])).certificates[0].name, "0--1", "never a leading '-', like an option")
        XCTAssertEqual(ConfigEditor.names(in: Array(config(domains: ["2001:db8::1"]).utf8)), ["2001-db8--1"], "init and the loader agree")
    }

    func testPerAddressWebrootsAndTheirMistakes() throws {
        let other = try temp.make("other")
        let certificate = try load(#"{"certificates": [{"domains": ["a.example.test", "::1"], "webroot": "\#(webroot!)", "webroots": {"::1": "\#(other)"}, "profile": "shortlived"}]}"#).certificates[0]
        XCTAssertEqual(certificate.webroots, ["a.example.test": webroot, "::1": other])

        let error = try XCTUnwrap({ () -> ConfigError? in
            do { _ = try load(#"{"certificates": [{"domains": ["::1"], "webroots": {"0:0::1": "\#(other)"}, "profile": "shortlived"}]}"#); return nil }
            catch { return error as? ConfigError }
        }())
        let messages = error.problems.map(\.description)
        XCTAssertTrue(messages.contains(#"certificates[0].webroots["0:0::1"] = "\#(other)": names a domain that is not in domains: write it as domains does, ::1"#), "\(messages)")
    }

    /// Every non-canonical or non-single address is refused naming file, field, value and the fix.
    func testNonCanonicalAddressesAreRefusedNamingTheFix() throws {
        let cases: [(written: String, message: String)] = [
            ("0:0::1", "is not written in canonical form (RFC 5952 for IPv6): write ::1"),
            ("2001:db8:0:0:0:0:0:1", "is not written in canonical form (RFC 5952 for IPv6): write 2001:db8::1"),
            ("2001:0db8::1", "is not written in canonical form (RFC 5952 for IPv6): write 2001:db8::1"),
            ("fe80::1%eth0", "has a zone ID (%eth0), which no certificate can hold: write fe80::1 if it is meant"),
            ("2001:db8::/32", "is a network prefix: a certificate holds single addresses (list each one)"),
            ("192.0.2.0/24", "is a network prefix: a certificate holds single addresses (list each one)"),
            ("[::1]", "has brackets, which belong in URLs only: write ::1"),
            ("010.0.0.1", "has a number with a leading zero, which some software reads as octal: write 10.0.0.1 if that is meant"),
            ("192.0.2.256", "is not a valid IPv4 address (four numbers 0–255 separated by dots)"),
            ("127.1", "is not a valid IPv4 address (four numbers 0–255 separated by dots)"),
            ("2001:db8::1::2", "is not a valid IPv6 address"),
            ("::ffff:192.0.2.1", "is an IPv6 address that only carries the IPv4 address 192.0.2.1: write 192.0.2.1"),
        ]
        for (written, message) in cases {
            do {
                _ = try load(config(domains: ["a.example.test", written]))
                XCTFail("\(written) was accepted")
            } catch let error as ConfigError {
                XCTAssertEqual(error.problems.first, ConfigProblem(field: "certificates[0].domains[1]", value: "\"\(written)\"", message: message))
                XCTAssertTrue(error.description.contains("\(file): certificates[0].domains[1] = \"\(written)\": \(message)"), error.description)
            }
        }
    }

    func testTheSameAddressTwiceIsListedTwice() throws {
        do {
            _ = try load(config(domains: ["::1", "::1"]))
            XCTFail("accepted")
        } catch let error as ConfigError {
            XCTAssertEqual(error.problems.map(\.message), ["is listed twice"])
        }
    }

    func testAURLWithAnAddressStillGetsTheURLHint() {
        XCTAssertEqual(IPAddressEntry.read("1.2.3.4:80"), .notAnAddress)
        XCTAssertEqual(DomainName.problem(with: "1.2.3.4:80"), "is a URL, not a name: write 1.2.3.4")
        XCTAssertEqual(IPAddressEntry.read("www.example.test"), .notAnAddress)
        XCTAssertEqual(IPAddressEntry.read("::1"), .address(IPAddress("::1")!))
    }

    /// The CA may write the address of an authorization in another form than the config: the webroot is found by
    /// address.
    func testSolverFindsTheWebrootOfAnAddressWrittenOtherwise() throws {
        let solver = WebrootSolver(webroots: ["::1": webroot])
        try solver.present(domain: "0:0:0:0:0:0:0:1", token: "tok6", keyAuthorization: "tok6.thumb")
        XCTAssertEqual(try String(contentsOfFile: webroot + "/.well-known/acme-challenge/tok6", encoding: .utf8), "tok6.thumb")
        solver.cleanUp(domain: "0:0:0:0:0:0:0:1", token: "tok6")
        XCTAssertFalse(FileManager.default.fileExists(atPath: webroot + "/.well-known"))
        XCTAssertThrowsError(try solver.present(domain: "::2", token: "tok", keyAuthorization: "x"))
    }

    /// A failed `ip` authorization is explained like a name's, with the URL the CA fetched (IPv6 in brackets) and the
    /// causes that apply to an address (no DNS).
    func testFailedIPAuthorizationIsExplainedWithTheBracketedURL() throws {
        let certificate = CertificateConfig(name: "site", domains: ["a.example.test", "::1"], webroots: ["a.example.test": webroot, "::1": webroot], keyType: .ec256)
        let solver = WebrootSolver(webroots: certificate.webroots)
        try solver.present(domain: "::1", token: "tokX", keyAuthorization: "tokX.t")
        solver.cleanUp(domain: "::1", token: "tokX")
        let problem = ACMEProblem(type: "urn:ietf:params:acme:error:connection", detail: "connection refused")
        let explained = CertificateIssuer.explained(ACMEError.authorizationFailed(identifier: .ip("::1"), problem: problem),
                                                    certificate: certificate, solver: solver)
        let failure = try XCTUnwrap(explained as? HTTP01ValidationFailure)
        XCTAssertEqual(failure.domain, "::1")
        XCTAssertEqual(failure.url, "http://[::1]/.well-known/acme-challenge/tokX")
        let text = failure.description
        XCTAssertTrue(text.hasPrefix("::1 did not pass the CA's HTTP-01 check"), text)
        XCTAssertTrue(text.contains("the CA fetched http://[::1]/.well-known/acme-challenge/tokX"), text)
        XCTAssertTrue(text.contains("does not listen on [::1] port 80"), text)
        XCTAssertTrue(text.contains("curl http://[::1]/.well-known/acme-challenge/check"), text)
        XCTAssertFalse(text.contains("AAAA"), "no DNS advice for an address: \(text)")
        // An identifier the certificate does not hold stays the CA's error.
        let unrelated = CertificateIssuer.explained(ACMEError.authorizationFailed(identifier: .ip("::2"), problem: problem),
                                                    certificate: certificate, solver: solver)
        XCTAssertNil(unrelated as? HTTP01ValidationFailure)
    }

    /// The issued chain must carry each address as an iPAddress SAN: compared by address, a missing one refused.
    func testChainVerifierChecksIPSANs() throws {
        let ca = try ScriptedIssuingCA(directory: temp.path)
        let key = try PrivateKey.generate(.ec256)
        let domains = ["a.example.test", "127.0.0.1", "::1"]
        let csr = try CertificateSigningRequest.make(key: key, domains: domains)
        let good = try ca.sign(csrDER: csr.der, serialHex: "0A01", days: 30,
                               subjectAltNames: ["DNS:a.example.test", "IP:127.0.0.1", "IP:0:0:0:0:0:0:0:1"])
        XCTAssertEqual(try ChainVerifier.verify(chainPEM: good + ca.certificatePEM, key: key, domains: domains, now: Date()).count, 2)
        let missing = try ca.sign(csrDER: csr.der, serialHex: "0A02", days: 30, subjectAltNames: ["DNS:a.example.test", "IP:127.0.0.1", "IP:::2"])
        XCTAssertThrowsError(try ChainVerifier.verify(chainPEM: missing + ca.certificatePEM, key: key, domains: domains, now: Date())) { error in
            guard case ChainVerificationError.missingNames(let names, _)? = error as? ChainVerificationError else { return XCTFail("\(error)") }
            XCTAssertEqual(names, ["::1"])
        }
        let asName = try ca.sign(csrDER: csr.der, serialHex: "0A03", days: 30, subjectAltNames: ["DNS:a.example.test", "DNS:127.0.0.1", "IP:::1"])
        XCTAssertThrowsError(try ChainVerifier.verify(chainPEM: asName + ca.certificatePEM, key: key, domains: domains, now: Date()),
                             "an address written as a DNS SAN does not cover the address")
    }

    /// The stored certificate's check (status, `issue`'s "nothing to do") compares addresses by octets: an address the
    /// certificate carries only as a DNS name, or not at all, is missing.
    func testStoredCertificateMissingAnAddressIsNamesMissing() throws {
        let result = try Subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                         "-keyout", temp.path("key.pem"), "-out", temp.path("cert.pem"), "-subj", "/CN=site.test",
                                         "-addext", "subjectAltName=DNS:site.test,IP:0:0:0:0:0:0:0:1,DNS:127.0.0.1", "-days", "30"])
        XCTAssertEqual(result.status, 0, result.output)
        let store = try CertificateStore(root: temp.path("store"), webroots: [])
        let material = CertificateMaterial(privateKeyPEM: try temp.read("key.pem"), csrPEM: "", certificatePEM: try temp.read("cert.pem"), chainPEM: "")
        try store.commit(try store.stage(material, for: "site"), for: "site")
        func state(_ domains: [String]) -> StoredCertificateState {
            let certificate = CertificateConfig(name: "site", domains: domains, webroots: [:], keyType: .ec256)
            return StoredCertificateState.inspect(certificate, in: store, now: Date())
        }
        XCTAssertTrue(state(["site.test", "::1"]).isUsable)
        guard case .namesMissing(let missing, _) = state(["site.test", "::1", "127.0.0.1", "::2"]) else {
            return XCTFail("expected namesMissing")
        }
        XCTAssertEqual(missing, ["127.0.0.1", "::2"])
    }
}
