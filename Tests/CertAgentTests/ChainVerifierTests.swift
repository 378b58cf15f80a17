import ACME
@testable import CertAgent
import CertCrypto
import Foundation
import TestSupport
import XCTest

/// What the CA issued is what was asked: every requested name, and no other.
final class ChainVerifierTests: XCTestCase {
    private func issue(sans: [String]?, domains: [String]) throws -> (chain: String, key: PrivateKey) {
        let temporary = try TemporaryDirectory()
        let ca = try ScriptedIssuingCA(directory: temporary.path)
        let key = try PrivateKey.generate(.ec256)
        let csr = try CertificateSigningRequest.make(key: key, domains: domains)
        let leaf = try ca.sign(csrDER: csr.der, serialHex: "0A0B", days: 30, subjectAltNames: sans)
        return (leaf + ca.certificatePEM, key)
    }

    func testExactlyTheRequestedNamesAreAccepted() throws {
        let domains = ["www.example.test", "example.test"]
        let (chain, key) = try issue(sans: ["DNS:WWW.Example.Test", "DNS:example.test"], domains: domains)
        XCTAssertEqual(try ChainVerifier.verify(chainPEM: chain, key: key, domains: domains, now: Date()).count, 2,
                       "DNS names compare case-insensitively")
    }

    func testExtraDNSNameOrIPAddressIsRefusedNamingThem() throws {
        let domains = ["www.example.test"]
        let (chain, key) = try issue(sans: ["DNS:www.example.test", "DNS:evil\u{1b}[31m.example", "IP:192.0.2.66"], domains: domains)
        XCTAssertThrowsError(try ChainVerifier.verify(chainPEM: chain, key: key, domains: domains, now: Date())) { error in
            guard case ChainVerificationError.unrequestedNames(let names, let requested, _)? = error as? ChainVerificationError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(names, ["evil\u{1b}[31m.example", "192.0.2.66"])
            XCTAssertEqual(requested, domains)
            XCTAssertTrue("\(error)".contains(#"for names that were not requested: evil\x1b[31m.example, 192.0.2.66 (requested: www.example.test)"#),
                          "\(error)")
        }
    }

    func testMissingNamesAreStillRefused() throws {
        let (chain, key) = try issue(sans: ["DNS:www.example.test"], domains: ["www.example.test"])
        XCTAssertThrowsError(try ChainVerifier.verify(chainPEM: chain, key: key, domains: ["www.example.test", "shop.example.test"], now: Date())) {
            guard case ChainVerificationError.missingNames(["shop.example.test"], _)? = $0 as? ChainVerificationError else { return XCTFail("\($0)") }
        }
    }

    func testUnparseableChainIsDescribedInWordsAndKeepsTheCause() throws {
        let key = try PrivateKey.generate(.ec256)
        let garbage = "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n"
        XCTAssertThrowsError(try ChainVerifier.verify(chainPEM: garbage, key: key, domains: ["a.test"], now: Date())) { error in
            XCTAssertEqual("\(error)", "the CA sent a certificate that cannot be parsed (not PEM / not DER X.509)")
            let detail = LowLevelDetail.of(IssuanceError(name: "site", underlying: error))
            XCTAssertTrue(detail?.hasPrefix("d2i_X509 failed: ") ?? false, detail ?? "nil")
        }
        XCTAssertThrowsError(try ChainVerifier.verify(chainPEM: "-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n",
                                                     key: key, domains: ["a.test"], now: Date())) { error in
            XCTAssertEqual("\(error)", "the CA sent a certificate that cannot be parsed (not PEM / not DER X.509): "
                           + "malformed PEM: invalid base64 in CERTIFICATE block 1")
        }
    }
}
