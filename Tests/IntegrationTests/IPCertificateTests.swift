import CertAgent
import CertCrypto
import Foundation
import TestSupport
import XCTest

/// IP-address certificates (RFC 8738) from a real Pebble, which validates `ip` identifiers by fetching
/// `http://<address>:<httpPort>/.well-known/acme-challenge/<token>` (IPv6 in brackets) from the test bed's nginx,
/// listening on 127.0.0.1 and [::1].
final class IPCertificateTests: XCTestCase {
    private func environment(preflightOn testbed: Testbed) throws -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment[Testbed.skipPreflightVariable] = nil
        environment["CERTAGENT_HTTP01_PORT"] = try XCTUnwrap(testbed.values["TESTBED_HTTP_PORT"])
        return environment
    }

    private func addressWebroot(_ testbed: Testbed) throws -> String { try XCTUnwrap(testbed.values["TESTBED_ADDRESS_WEBROOT"]) }

    func testANameWithAnIPv4AndAnIPv6AddressIsIssuedAndVerifies() throws {
        let testbed = try Testbed(options: ["--ipv6"])
        let site = try testbed.webroot(for: "ip.test")
        let addresses = try addressWebroot(testbed)
        let storage = testbed.directory + "/store"
        let config = try testbed.writeConfig([
            ["name": "mixed", "domains": ["ip.test", "127.0.0.1", "::1"], "webroot": site, "webroots": ["127.0.0.1": addresses, "::1": addresses]],
        ], storage: storage)

        let result = try runCommand(ProjectPaths.certagentBinary, ["issue", "--config", config])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.stdout.contains("✓ mixed: issued for ip.test, 127.0.0.1, ::1"), result.stdout)

        let current = storage + "/certificates/mixed/current"
        let sans = try runCommand("/usr/bin/openssl", ["x509", "-in", current + "/cert.pem", "-noout", "-ext", "subjectAltName"])
        XCTAssertEqual(sans.status, 0, sans.stderr)
        let lines = sans.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        XCTAssertEqual(lines.last.map { Set($0.components(separatedBy: ", ")) },
                       ["DNS:ip.test", "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1"], sans.stdout)
        let verify = try runCommand("/usr/bin/openssl", ["verify", "-CAfile", try testbed.rootFile(), "-untrusted", current + "/chain.pem", current + "/cert.pem"])
        XCTAssertEqual(verify.status, 0, verify.output)
        XCTAssertTrue(verify.stdout.contains("cert.pem: OK"), verify.stdout)
        let subject = try runCommand("/usr/bin/openssl", ["req", "-in", current + "/csr.pem", "-noout", "-subject", "-nameopt", "RFC2253"])
        XCTAssertEqual(subject.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "subject=CN=ip.test", "the CN is the name, never an address")

        // Pebble was asked for, and validated, the addresses as `ip` identifiers, IPv6 in brackets.
        let log = try String(contentsOfFile: try XCTUnwrap(testbed.values["TESTBED_PEBBLE_LOG"]), encoding: .utf8)
        XCTAssertTrue(log.contains(#"Identifier{Type:"ip", Value:"127.0.0.1"}"#), log)
        XCTAssertTrue(log.contains(#"Identifier{Type:"ip", Value:"::1"}"#), log)
        XCTAssertTrue(log.contains("validate w/ HTTP: http://[::1]:"), log)
        XCTAssertEqual(filesBelow(addresses), [], "no challenge file or directory is left")

        // The stored certificate covers every configured entry: a second run has nothing to do.
        let again = try runCommand(ProjectPaths.certagentBinary, ["issue", "--config", config])
        XCTAssertEqual(again.status, 0, again.output)
        XCTAssertTrue(again.stdout.contains("✓ mixed: already has a certificate"), again.stdout)
        XCTAssertEqual(try testbed.ordersCreated(), 1)
    }

    /// Addresses only: the pre-flight check fetches its probes from each address itself (no lookup, so it runs here
    /// without any /etc/hosts entry), and the certificate has no common name.
    func testAddressesOnlyPassThePreflightCheckAndGetACertificateWithoutCN() throws {
        let testbed = try Testbed(options: ["--ipv6"])
        let addresses = try addressWebroot(testbed)
        let storage = testbed.directory + "/store"
        let config = try testbed.writeConfig([["name": "loopback", "domains": ["127.0.0.1", "::1"], "webroot": addresses]], storage: storage)
        let environment = try environment(preflightOn: testbed)

        let checked = try runCommand(ProjectPaths.certagentBinary, ["check", "--online", "--config", config], environment: environment)
        XCTAssertEqual(checked.status, 0, checked.output)
        XCTAssertTrue(checked.stdout.contains("✓ 127.0.0.1 (IPv4) served the probe file from \(addresses)"), checked.stdout)
        XCTAssertTrue(checked.stdout.contains("✓ ::1 (IPv6) served the probe file from \(addresses)"), checked.stdout)

        let issued = try runCommand(ProjectPaths.certagentBinary, ["issue", "--config", config], environment: environment)
        XCTAssertEqual(issued.status, 0, issued.output)
        let certificate = storage + "/certificates/loopback/current/cert.pem"
        let text = try runCommand("/usr/bin/openssl", ["x509", "-in", certificate, "-noout", "-subject", "-ext", "subjectAltName"])
        XCTAssertTrue(text.stdout.contains("IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1"), text.stdout)
        let csrSubject = try runCommand("/usr/bin/openssl", ["req", "-in", storage + "/certificates/loopback/current/csr.pem", "-noout", "-subject"])
        XCTAssertEqual(csrSubject.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "subject=", "no CN with addresses only")
        XCTAssertEqual(filesBelow(addresses), [])
    }

    /// A failed `ip` validation is told with the URL the CA fetched, the IPv6 address in brackets.
    func testAnUnservedAddressIsExplainedWithItsBracketedURL() throws {
        let testbed = try Testbed(options: ["--ipv6"])
        let unserved = testbed.directory + "/elsewhere/public_html"   // nginx serves TESTBED_ADDRESS_WEBROOT, not this
        try FileManager.default.createDirectory(atPath: unserved, withIntermediateDirectories: true)
        let config = try testbed.writeConfig([["name": "lost", "domains": ["::1"], "webroot": unserved]], storage: testbed.directory + "/store")

        let result = try runCommand(ProjectPaths.certagentBinary, ["issue", "--config", config])
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.stderr.contains("✗ lost: ::1 did not pass the CA's HTTP-01 check\n  the token was written to \(unserved)/.well-known/acme-challenge/"),
                      result.stderr)
        XCTAssertTrue(result.stderr.contains("  the CA fetched http://[::1]/.well-known/acme-challenge/"), result.stderr)
        XCTAssertTrue(result.stderr.contains("does not listen on [::1] port 80, or its default site"), result.stderr)
        XCTAssertEqual(filesBelow(unserved), [])
    }

    /// `init` takes an address where a domain goes and writes a config that works: the certificate is named after it
    /// without colons, and issued.
    func testInitWithAnAddressWritesAWorkingConfig() throws {
        let testbed = try Testbed(options: ["--ipv6"])
        let config = testbed.directory + "/etc/config.json"
        let result = try runCommand(ProjectPaths.certagentBinary, [
            "init", "--config", config, "--domain", "::1", "--domain", "127.0.0.1", "--webroot", try addressWebroot(testbed),
            "--storage", testbed.directory + "/store", "--email", "admin@example.com", "--accept-terms-of-service", "--no-reload",
            "--directory", testbed.directoryURL, "--ca-file", testbed.caFile])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.stdout.contains("✓ 0--1: issued for ::1, 127.0.0.1"), result.stdout)
        let written = try String(contentsOfFile: config, encoding: .utf8)
        XCTAssertTrue(written.contains(#""domains": ["::1", "127.0.0.1"]"#), written)
        let checked = try runCommand(ProjectPaths.certagentBinary, ["check", "--config", config])
        XCTAssertEqual(checked.status, 0, checked.output)

        let refused = try runCommand(ProjectPaths.certagentBinary, ["init", "--config", config, "--domain", "0:0::2", "--webroot", try addressWebroot(testbed)])
        XCTAssertEqual(refused.status, 2, refused.output)
        XCTAssertTrue(refused.stderr.contains("--domain 0:0::2: is not written in canonical form (RFC 5952 for IPv6): write ::2"), refused.stderr)
    }
}
