import Foundation
import XCTest
@testable import CertCrypto

/// `Certificate.Fields` (kept in a renewal record's summary) gives back the very certificate a parse gives, and the
/// byte-level PEM reading answers as the Character-level one did.
final class CertificateFieldsTests: XCTestCase {
    func testFieldsThroughJSONGiveTheParsedCertificateBack() throws {
        let pki = try TestPKI()
        let parsed = try Certificate(pem: pki.leafPEM)
        let stored = try JSONDecoder().decode(Certificate.Fields.self, from: JSONEncoder().encode(parsed.fields))
        let rebuilt = try XCTUnwrap(Certificate(pem: pki.leafPEM + pki.caPEM, knownFields: stored))
        XCTAssertEqual(rebuilt, parsed)
        // DNS names and addresses keep their interleaved order and kinds.
        XCTAssertEqual(rebuilt.subjectAlternativeNames, ["example.test", "*.wild.example.test", "192.0.2.7", "2001:db8::1"])
        XCTAssertEqual(rebuilt.ipAddresses.count, 2)
        XCTAssertEqual(rebuilt.dnsNames, ["example.test", "*.wild.example.test"])
        XCTAssertEqual(rebuilt.issuer, "O=CertAgent Tests,CN=Test CA")
    }

    func testUndecodableFieldsOrNoBlockGiveNil() throws {
        let pki = try TestPKI()
        var fields = try Certificate(pem: pki.leafPEM).fields
        XCTAssertNil(Certificate(pem: "no certificate here", knownFields: fields))
        fields.serialNumber = "not hex"
        XCTAssertNil(Certificate(pem: pki.leafPEM, knownFields: fields))
    }

    func testByteLevelPEMReadingMatchesTheCharacterLevelOne() throws {
        let pki = try TestPKI()
        let leaf = pki.leafPEM
        let body = leaf.split(separator: "\n").dropFirst().dropLast().joined(separator: "\n")
        let inputs = [
            leaf,
            leaf + pki.caPEM,
            "explanatory text\n" + leaf + "trailing words\n",
            leaf.replacing("\n", with: "\r\n"),
            leaf.replacing("\n", with: "\r"),
            leaf.replacing("\n", with: " \t\n\t "),
            leaf.replacing("\n", with: "\n\n\u{0B}\u{0C}"),
            "-----BEGIN CERTIFICATE-----\n" + body,                                    // missing END
            "-----BEGIN CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\n",               // nested BEGIN
            "-----END CERTIFICATE-----\n",                                             // END without BEGIN
            "-----BEGIN CERTIFICATE-----\nab-_\n-----END CERTIFICATE-----\n",           // base64url is not PEM
            "-----BEGIN CERTIFICATE-----\nQQ==\n-----END CERTIFICATE-----\n",           // padded
            "-----BEGIN CERTIFICATE-----\nQQ===\n-----END CERTIFICATE-----\n",          // too much padding
            "-----BEGIN CERTIFICATE-----\nQ Q==\n-----END CERTIFICATE-----\n",          // space inside
            "-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----\n",               // empty body
            "",
        ]
        for input in inputs {
            XCTAssertEqual(outcome { try PEMEncoding.decodeAll(input, label: "CERTIFICATE") },
                           outcome { try PEMEncoding.decodeCharacters(input, label: "CERTIFICATE") }, input.debugDescription)
        }
    }

    func testFirstBlockAloneIgnoresWhatFollows() throws {
        let pki = try TestPKI()
        let der = try PEMEncoding.decodeFirst(pki.leafPEM + "-----BEGIN CERTIFICATE-----\n!!\n", label: "CERTIFICATE")
        XCTAssertEqual(der, try Certificate(pem: pki.leafPEM).der)
        XCTAssertThrowsError(try PEMEncoding.decodeAll(pki.leafPEM + "-----BEGIN CERTIFICATE-----\n!!\n", label: "CERTIFICATE"))
    }

    private func outcome(_ body: () throws -> [[UInt8]]) -> String {
        do { return "\(try body())" } catch { return "error: \(error)" }
    }
}
