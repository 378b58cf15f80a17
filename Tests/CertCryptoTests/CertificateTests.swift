import ByteEncoding
import Foundation
import TestSupport
import XCTest
@testable import CertCrypto

/// A CA and a leaf made with the openssl CLI, independently of CertCrypto.
final class TestPKI {
    let dir: TemporaryDirectory
    let caPEM: String
    let leafPEM: String
    let leafKeyPEM: String
    let caKeyPEM: String

    init() throws {
        dir = try TemporaryDirectory()
        try OpenSSLCLI.succeed(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-noenc",
                                "-keyout", "ca.key", "-subj", "/CN=Test CA/O=CertAgent Tests", "-days", "3650",
                                "-addext", "basicConstraints=critical,CA:TRUE", "-out", "ca.pem"], in: dir.url)
        try OpenSSLCLI.succeed(["req", "-new", "-newkey", "rsa:2048", "-noenc", "-keyout", "leaf.key",
                                "-subj", "/CN=example.test", "-out", "leaf.csr"], in: dir.url)
        try dir.write("ext.cnf", """
            subjectAltName=DNS:example.test,DNS:*.wild.example.test,IP:192.0.2.7,IP:2001:db8::1
            authorityKeyIdentifier=keyid
            subjectKeyIdentifier=hash

            """)
        try OpenSSLCLI.succeed(["x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                                "-set_serial", "0x8a0102030405060708", "-days", "90", "-extfile", "ext.cnf",
                                "-out", "leaf.pem"], in: dir.url)
        caPEM = try dir.read("ca.pem")
        leafPEM = try dir.read("leaf.pem")
        leafKeyPEM = try dir.read("leaf.key")
        caKeyPEM = try dir.read("ca.key")
    }

    func cli(_ arguments: [String]) throws -> String {
        try OpenSSLCLI.succeed(arguments, in: dir.url).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

final class CertificateTests: XCTestCase {
    func testParsedFieldsMatchOpenSSL() throws {
        let pki = try TestPKI()
        let leaf = try Certificate(pem: pki.leafPEM)
        let ca = try Certificate(pem: pki.caPEM)

        XCTAssertEqual(leaf.subject, "CN=example.test")
        XCTAssertEqual("subject=" + leaf.subject, try pki.cli(["x509", "-in", "leaf.pem", "-noout", "-subject", "-nameopt", "RFC2253"]))
        XCTAssertEqual("issuer=" + leaf.issuer, try pki.cli(["x509", "-in", "leaf.pem", "-noout", "-issuer", "-nameopt", "RFC2253"]))
        XCTAssertEqual(leaf.issuer, "O=CertAgent Tests,CN=Test CA")
        XCTAssertEqual(ca.subject, ca.issuer)
        XCTAssertEqual(leaf.subjectAlternativeNames, ["example.test", "*.wild.example.test", "192.0.2.7", "2001:db8::1"])
        XCTAssertEqual(ca.subjectAlternativeNames, [])

        // Serial: openssl prints the magnitude; the DER INTEGER has a leading 00 because 0x8a has its top bit set.
        XCTAssertEqual(try pki.cli(["x509", "-in", "leaf.pem", "-noout", "-serial"]), "serial=8A0102030405060708")
        XCTAssertEqual(leaf.serialNumber, [0x00, 0x8a, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08])
        XCTAssertEqual(leaf.serialHex, "008a0102030405060708")
        XCTAssertNotNil(findSubsequence([0x02, 0x0a] + leaf.serialNumber, in: leaf.der))

        // Dates, against openssl's ISO 8601 output.
        let iso = ISO8601DateFormatter()
        func cliDate(_ option: String) throws -> Date? {
            let line = try pki.cli(["x509", "-in", "leaf.pem", "-noout", option, "-dateopt", "iso_8601"])
            let value = line.split(separator: "=", maxSplits: 1).last.map(String.init) ?? ""
            return iso.date(from: value.replacingOccurrences(of: " ", with: "T"))
        }
        XCTAssertEqual(leaf.notAfter, try XCTUnwrap(try cliDate("-enddate")))
        XCTAssertEqual(leaf.notBefore, try XCTUnwrap(try cliDate("-startdate")))
        XCTAssertEqual(leaf.notAfter.timeIntervalSince(leaf.notBefore), 90 * 86400)

        // AKI of the leaf is the CA's SKI, and both equal openssl's view.
        let caSKI = try XCTUnwrap(ca.subjectKeyIdentifier)
        XCTAssertEqual(caSKI.count, 20)
        XCTAssertEqual(leaf.authorityKeyIdentifier, caSKI)
        let text = try pki.cli(["x509", "-in", "ca.pem", "-noout", "-ext", "subjectKeyIdentifier"])
        XCTAssertTrue(text.uppercased().contains(caSKI.map { String(format: "%02X", $0) }.joined(separator: ":")), text)
        XCTAssertNotNil(leaf.subjectKeyIdentifier)
        XCTAssertNotEqual(leaf.subjectKeyIdentifier, caSKI)

        // DER and PEM round trip.
        try pki.dir.write("mine.pem", leaf.pem)
        XCTAssertEqual(try pki.cli(["x509", "-in", "mine.pem", "-noout", "-fingerprint", "-sha256"]),
                       try pki.cli(["x509", "-in", "leaf.pem", "-noout", "-fingerprint", "-sha256"]))
        XCTAssertEqual(try Certificate(der: leaf.der), leaf)
    }

    func testKeyMatchingAndIssuance() throws {
        let pki = try TestPKI()
        let leaf = try Certificate(pem: pki.leafPEM)
        let ca = try Certificate(pem: pki.caPEM)
        let leafKey = try PrivateKey(pem: pki.leafKeyPEM)
        let caKey = try PrivateKey(pem: pki.caKeyPEM)
        XCTAssertEqual(leafKey.type, .rsa2048)
        XCTAssertEqual(caKey.type, .ec256)
        XCTAssertTrue(leaf.matches(leafKey))
        XCTAssertFalse(leaf.matches(caKey))
        XCTAssertTrue(ca.matches(caKey))
        XCTAssertFalse(leaf.matches(try PrivateKey.generate(.rsa2048)))

        XCTAssertTrue(leaf.isIssued(by: ca))
        XCTAssertTrue(ca.isIssued(by: ca))
        XCTAssertFalse(ca.isIssued(by: leaf))
        XCTAssertFalse(leaf.isIssued(by: leaf))

        // A second CA with the same name but a different key does not verify the leaf.
        let other = try TemporaryDirectory()
        try OpenSSLCLI.succeed(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-noenc",
                                "-keyout", "ca.key", "-subj", "/CN=Test CA/O=CertAgent Tests", "-days", "30",
                                "-out", "ca.pem"], in: other.url)
        let impostor = try Certificate(pem: try other.read("ca.pem"))
        XCTAssertEqual(impostor.subject, ca.subject)
        XCTAssertFalse(leaf.isIssued(by: impostor))
    }

    func testCovers() throws {
        let leaf = try Certificate(pem: try TestPKI().leafPEM)
        XCTAssertTrue(leaf.covers("example.test"))
        XCTAssertTrue(leaf.covers("EXAMPLE.Test"))
        XCTAssertTrue(leaf.covers("example.test."))
        XCTAssertTrue(leaf.covers("a.wild.example.test"))
        XCTAssertTrue(leaf.covers("A.WILD.example.test"))
        XCTAssertFalse(leaf.covers("wild.example.test"))
        XCTAssertFalse(leaf.covers("b.a.wild.example.test"))
        XCTAssertFalse(leaf.covers("www.example.test"))
        XCTAssertFalse(leaf.covers("example.tes"))
        XCTAssertTrue(leaf.covers("192.0.2.7"))
        XCTAssertTrue(leaf.covers("2001:DB8:0::1"))
        XCTAssertFalse(leaf.covers("192.0.2.8"))
        XCTAssertFalse(leaf.covers(""))
    }

    /// Addresses are compared as octets (RFC 8738 §3, RFC 5280 §4.2.1.6), never as text, and never against a DNS SAN.
    func testCoversComparesAddressOctets() throws {
        let leaf = try Certificate(pem: try TestPKI().leafPEM)   // example.test, *.wild.example.test, 192.0.2.7, 2001:db8::1
        XCTAssertTrue(leaf.covers("2001:db8:0:0:0:0:0:1"))
        XCTAssertFalse(leaf.covers("2001:db8::2"))
        XCTAssertFalse(leaf.covers("::ffff:192.0.2.7"))   // the same IPv4 address inside IPv6 is 16 other octets
        XCTAssertFalse(leaf.covers("192.0.2.07"))          // not an address (a leading zero), and no DNS SAN says it
        XCTAssertFalse(leaf.covers("[2001:db8::1]"))
        XCTAssertEqual(leaf.dnsNames, ["example.test", "*.wild.example.test"])
        XCTAssertEqual(leaf.ipAddresses, [IPAddress("192.0.2.7"), IPAddress("2001:db8::1")])
    }

    func testIPAddressParsesAndPrintsCanonicalText() {
        XCTAssertEqual(IPAddress("127.0.0.1")?.octets, [127, 0, 0, 1])
        XCTAssertEqual(IPAddress("0:0::1")?.text, "::1")
        XCTAssertEqual(IPAddress("2001:DB8:0:0:1:0:0:1")?.text, "2001:db8::1:0:0:1")
        XCTAssertEqual(IPAddress("2001:db8:0:1:1:1:1:1")?.text, "2001:db8:0:1:1:1:1:1")   // one zero field stays (RFC 5952 §4.2.2)
        XCTAssertEqual(IPAddress("::1")?.urlHost, "[::1]")
        XCTAssertEqual(IPAddress("192.0.2.1")?.urlHost, "192.0.2.1")
        XCTAssertEqual(IPAddress("::1"), IPAddress("0:0:0:0:0:0:0:1"))
        for text in ["010.0.0.1", "1.2.3", "fe80::1%eth0", "2001:db8::/32", "[::1]", "example.test", "", "1.2.3.256"] {
            XCTAssertNil(IPAddress(text), text)
        }
        XCTAssertTrue(IPAddress("::ffff:192.0.2.1")!.embedsIPv4)
        XCTAssertTrue(IPAddress("::192.0.2.1")!.embedsIPv4)
        XCTAssertFalse(IPAddress("::1")!.embedsIPv4)
        XCTAssertFalse(IPAddress("::")!.embedsIPv4)
        XCTAssertFalse(IPAddress("192.0.2.1")!.embedsIPv4)
        XCTAssertNil(IPAddress(octets: [1, 2, 3]))
    }

    func testParseChainAndGarbage() throws {
        let pki = try TestPKI()
        let chain = try Certificate.parseChain(pem: "leaf follows\n" + pki.leafPEM + "\n" + pki.caPEM)
        XCTAssertEqual(chain.count, 2)
        XCTAssertEqual(chain[0].subject, "CN=example.test")
        XCTAssertEqual(chain[1].subject, "O=CertAgent Tests,CN=Test CA")
        XCTAssertTrue(chain[0].isIssued(by: chain[1]))
        // CRLF line endings are accepted too.
        XCTAssertEqual(try Certificate.parseChain(pem: (pki.leafPEM + pki.caPEM).replacingOccurrences(of: "\n", with: "\r\n")).count, 2)
        // init(pem:) takes the first certificate.
        XCTAssertEqual(try Certificate(pem: pki.caPEM + pki.leafPEM).subject, chain[1].subject)

        XCTAssertThrowsError(try Certificate.parseChain(pem: ""))
        XCTAssertThrowsError(try Certificate.parseChain(pem: "garbage"))
        XCTAssertThrowsError(try Certificate.parseChain(pem: pki.leafKeyPEM))
        XCTAssertThrowsError(try Certificate.parseChain(pem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
        XCTAssertThrowsError(try Certificate.parseChain(pem: "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"))
        XCTAssertThrowsError(try Certificate.parseChain(pem: pki.leafPEM + "-----BEGIN CERTIFICATE-----\nMIIB\n"))
        XCTAssertThrowsError(try Certificate(pem: "nothing here"))
        XCTAssertThrowsError(try Certificate(der: []))
        XCTAssertThrowsError(try Certificate(der: [0x30, 0x03, 0x02, 0x01, 0x01]))
        let leaf = try Certificate(pem: pki.leafPEM)
        XCTAssertThrowsError(try Certificate(der: leaf.der + [0])) { error in
            XCTAssertTrue("\(error)".contains("trailing"), "\(error)")
        }
        XCTAssertThrowsError(try Certificate(der: Array(leaf.der.dropLast())))
    }

    /// The names a certificate carries beyond the requested ones: DNS case-insensitively (one trailing dot ignored),
    /// a wildcard only as that wildcard, IP addresses by address.
    func testNamesNotRequested() throws {
        let pki = try TestPKI()
        let leaf = try Certificate(pem: pki.leafPEM)   // example.test, *.wild.example.test, 192.0.2.7, 2001:db8::1
        XCTAssertEqual(leaf.namesNotRequested(["EXAMPLE.test.", "*.Wild.Example.Test", "192.0.2.7", "2001:DB8:0:0::1"]), [])
        XCTAssertEqual(leaf.namesNotRequested(["example.test"]), ["*.wild.example.test", "192.0.2.7", "2001:db8::1"])
        XCTAssertEqual(leaf.namesNotRequested(["example.test", "a.wild.example.test", "192.0.2.7", "2001:db8::1"]),
                       ["*.wild.example.test"], "a wildcard nobody asked for is extra even when it covers a requested name")
        XCTAssertEqual(leaf.namesNotRequested(["example.test", "*.wild.example.test", "192.0.2.8", "2001:db8::1"]), ["192.0.2.7"])
    }

    /// A certificate issued by openssl for a CSR made by CertCrypto carries the requested names and key.
    func testCertificateFromOurCSR() throws {
        let pki = try TestPKI()
        let key = try PrivateKey.generate(.ec384)
        let csr = try CertificateSigningRequest.make(key: key, domains: ["one.test", "two.test", "198.51.100.4"])
        try pki.dir.write("ours.csr", csr.pem)
        try OpenSSLCLI.succeed(["x509", "-req", "-in", "ours.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                                "-days", "7", "-copy_extensions", "copy", "-out", "ours.pem"], in: pki.dir.url)
        let certificate = try Certificate(pem: try pki.dir.read("ours.pem"))
        XCTAssertEqual(certificate.subject, "CN=one.test")
        XCTAssertEqual(certificate.subjectAlternativeNames, ["one.test", "two.test", "198.51.100.4"])
        XCTAssertTrue(certificate.matches(key))
        XCTAssertTrue(certificate.isIssued(by: try Certificate(pem: pki.caPEM)))
    }

    private func findSubsequence(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        for start in 0 ... haystack.count - needle.count where Array(haystack[start ..< start + needle.count]) == needle {
            return start
        }
        return nil
    }
}

final class ARITests: XCTestCase {
    /// RFC 9773 §4.1 example: AKI 69:88:5B:…:C8:D4 and serial 0x87654321 (DER 00 87 65 43 21)
    /// give "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE". The serial half is checked on a real certificate.
    func testARIIdentifier() throws {
        let aki: [UInt8] = [0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40, 0x41, 0xE1, 0xB3,
                            0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C, 0xDE, 0x01, 0xC8, 0xD4]
        XCTAssertEqual(Base64URL.encode(aki) + "." + Base64URL.encode([0x00, 0x87, 0x65, 0x43, 0x21]),
                       "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE")

        let pki = try TestPKI()
        try OpenSSLCLI.succeed(["x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                                "-set_serial", "0x87654321", "-days", "1", "-extfile", "ext.cnf",
                                "-out", "ari.pem"], in: pki.dir.url)
        let certificate = try Certificate(pem: try pki.dir.read("ari.pem"))
        let ca = try Certificate(pem: pki.caPEM)
        XCTAssertEqual(certificate.serialNumber, [0x00, 0x87, 0x65, 0x43, 0x21])
        // The two halves ACME's renewalCertificateID is built from: the AKI and the serial's DER content octets.
        XCTAssertEqual(certificate.authorityKeyIdentifier, ca.subjectKeyIdentifier)
        XCTAssertEqual(Base64URL.encode(certificate.serialNumber), "AIdlQyE")
    }
}
