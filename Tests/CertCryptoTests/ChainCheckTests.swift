import XCTest
@testable import CertCrypto

/// `Certificate.parseChain(pem:checking:)` answers as `parseChain(pem:)`, `matches` and `isIssued(by:)` do, from one
/// parse of each certificate.
final class ChainCheckTests: XCTestCase {
    func testOneParseAnswersAsTheSeparateChecks() throws {
        let pki = try TestPKI()
        let leafKey = try PrivateKey(pem: pki.leafKeyPEM)
        let caKey = try PrivateKey(pem: pki.caKeyPEM)
        for (pem, key) in [(pki.leafPEM + pki.caPEM, leafKey), (pki.leafPEM + pki.caPEM, caKey), (pki.caPEM + pki.leafPEM, caKey),
                           (pki.leafPEM + pki.leafPEM, leafKey), (pki.leafPEM, leafKey), (pki.caPEM + pki.caPEM, caKey)] {
            let separate = try Certificate.parseChain(pem: pem)
            let checked = try Certificate.parseChain(pem: pem, checking: key)
            XCTAssertEqual(checked.chain, separate)
            XCTAssertEqual(checked.leafMatchesKey, separate[0].matches(key))
            XCTAssertEqual(checked.firstBrokenLink, separate.indices.dropLast().first { !separate[$0].isIssued(by: separate[$0 + 1]) })
        }
        // The answers are not all alike: a good chain, a wrong key, a reversed chain.
        XCTAssertNil(try Certificate.parseChain(pem: pki.leafPEM + pki.caPEM, checking: leafKey).firstBrokenLink)
        XCTAssertFalse(try Certificate.parseChain(pem: pki.leafPEM + pki.caPEM, checking: caKey).leafMatchesKey)
        XCTAssertEqual(try Certificate.parseChain(pem: pki.caPEM + pki.leafPEM, checking: caKey).firstBrokenLink, 0)
    }

    func testItThrowsAsParseChainDoes() throws {
        let key = try PrivateKey.generate(.ec256)
        for pem in ["no certificate", "-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n",
                    "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n"] {
            var separate = "", checked = ""
            do { _ = try Certificate.parseChain(pem: pem) } catch { separate = "\(error)" }
            do { _ = try Certificate.parseChain(pem: pem, checking: key) } catch { checked = "\(error)" }
            XCTAssertFalse(separate.isEmpty)
            XCTAssertEqual(checked, separate, pem)
        }
    }
}
