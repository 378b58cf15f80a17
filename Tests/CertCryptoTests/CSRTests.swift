import Foundation
import TestSupport
import XCTest
@testable import CertCrypto

final class CSRTests: XCTestCase {
    func testCSRVerifiesAndListsEverySAN() throws {
        let dir = try TemporaryDirectory()
        for type in [KeyType.ec256, .ec384, .rsa2048] {
            let key = try PrivateKey.generate(type)
            let domains = ["example.test", "www.example.test", "*.wild.example.test", "192.0.2.7", "2001:db8::1"]
            let csr = try CertificateSigningRequest.make(key: key, domains: domains)
            XCTAssertTrue(csr.pem.hasPrefix("-----BEGIN CERTIFICATE REQUEST-----\n"))
            XCTAssertTrue(csr.pem.hasSuffix("-----END CERTIFICATE REQUEST-----\n"))
            let file = try dir.write("csr-\(type.rawValue).pem", csr.pem)

            let verified = try OpenSSLCLI.succeed(["req", "-in", file, "-noout", "-verify"])
            XCTAssertTrue(verified.output.contains("verify OK") || verified.output.contains("self-signature ok"), verified.output)

            let text = try OpenSSLCLI.succeed(["req", "-in", file, "-noout", "-text"]).stdout
            XCTAssertTrue(text.contains("DNS:example.test, DNS:www.example.test, DNS:*.wild.example.test, IP Address:192.0.2.7, IP Address:2001:DB8:0:0:0:0:0:1"), text)
            XCTAssertTrue(text.contains("Signature Algorithm: \(type.isEC ? "ecdsa-with-SHA256" : "sha256WithRSAEncryption")"), text)
            let subject = try OpenSSLCLI.succeed(["req", "-in", file, "-noout", "-subject", "-nameopt", "RFC2253"]).stdout
            XCTAssertEqual(subject.trimmingCharacters(in: .whitespacesAndNewlines), "subject=CN=example.test")

            // The CSR carries this key's public key; DER and PEM agree.
            let pubFile = dir.path("csr-pub.der")
            try OpenSSLCLI.succeed(["req", "-in", file, "-noout", "-pubkey", "-out", dir.path("csr-pub.pem")])
            try OpenSSLCLI.succeed(["pkey", "-pubin", "-in", dir.path("csr-pub.pem"), "-outform", "DER", "-out", pubFile])
            XCTAssertEqual(try dir.readBytes("csr-pub.der"), try key.publicKeyDER())
            try OpenSSLCLI.succeed(["req", "-in", file, "-outform", "DER", "-out", dir.path("csr.der")])
            XCTAssertEqual(try dir.readBytes("csr.der"), csr.der)
        }
    }

    func testLongFirstDomainAndIPFirstHaveNoCommonName() throws {
        let dir = try TemporaryDirectory()
        let key = try PrivateKey.generate(.ec256)
        let long = String(repeating: "a", count: 60) + ".example.test"  // 73 characters
        for domains in [[long, "short.example.test"], ["192.0.2.1"]] {
            let csr = try CertificateSigningRequest.make(key: key, domains: domains)
            let file = try dir.write("csr.pem", csr.pem)
            try OpenSSLCLI.succeed(["req", "-in", file, "-noout", "-verify"])
            let text = try OpenSSLCLI.succeed(["req", "-in", file, "-noout", "-text"]).stdout
            XCTAssertFalse(text.contains("CN"), text)
            XCTAssertTrue(text.contains(domains[0]), text)
        }
    }

    /// RFC 8738: addresses go in as iPAddress SANs (16 octets for IPv6, whatever text it was written in); the CN is
    /// the first DNS name even when an address comes first, and a CSR for addresses alone has no CN at all.
    func testAddressesAreIPSANsAndNeverTheCommonName() throws {
        let dir = try TemporaryDirectory()
        let key = try PrivateKey.generate(.ec256)
        let cases: [(domains: [String], sans: String, subject: String)] = [
            (["127.0.0.1", "::1", "a.example.test"], "IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:a.example.test", "subject=CN=a.example.test"),
            (["127.0.0.1", "0:0::1"], "IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1", "subject="),
            (["2001:db8::7"], "IP Address:2001:DB8:0:0:0:0:0:7", "subject="),
        ]
        for (domains, sans, subject) in cases {
            let csr = try CertificateSigningRequest.make(key: key, domains: domains)
            let file = try dir.write("csr.pem", csr.pem)
            try OpenSSLCLI.succeed(["req", "-in", file, "-noout", "-verify"])
            let text = try OpenSSLCLI.succeed(["req", "-in", file, "-noout", "-text"]).stdout
            let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            let heading = try XCTUnwrap(lines.firstIndex(of: "X509v3 Subject Alternative Name:"), text)
            XCTAssertEqual(lines[heading + 1], sans)
            let shown = try OpenSSLCLI.succeed(["req", "-in", file, "-noout", "-subject", "-nameopt", "RFC2253"]).stdout
            XCTAssertEqual(shown.trimmingCharacters(in: .whitespacesAndNewlines), subject, "\(domains)")
        }
    }

    func testRejectsEmptyAndInvalidNames() throws {
        let key = try PrivateKey.generate(.ec256)
        XCTAssertThrowsError(try CertificateSigningRequest.make(key: key, domains: []))
        XCTAssertThrowsError(try CertificateSigningRequest.make(key: key, domains: [""]))
        XCTAssertThrowsError(try CertificateSigningRequest.make(key: key, domains: ["a b.example"]))
        XCTAssertThrowsError(try CertificateSigningRequest.make(key: key, domains: ["exämple.test"]))
    }

    func testDuplicatesAreDropped() throws {
        let dir = try TemporaryDirectory()
        let key = try PrivateKey.generate(.ec256)
        let csr = try CertificateSigningRequest.make(key: key, domains: ["a.test", "b.test", "a.test"])
        let file = try dir.write("csr.pem", csr.pem)
        let text = try OpenSSLCLI.succeed(["req", "-in", file, "-noout", "-text"]).stdout
        XCTAssertTrue(text.contains("DNS:a.test, DNS:b.test\n"), text)
    }
}
