import Foundation
import TestSupport
import XCTest
@testable import CertCrypto

/// Cross-checks against a second implementation (Python's `cryptography` package) where the
/// openssl CLI has no equivalent (AES-GCM with associated data).
final class IndependentCheckTests: XCTestCase {
    private func python(_ script: String, input: String) throws -> (status: Int32, output: String) {
        let result = try Subprocess.run(["python3", "-c", script], stdin: Array(input.utf8))
        return (result.status, result.output)
    }

    func testSecretBoxOpensWithPythonCryptography() throws {
        // scripts/install-deps installs python3-cryptography: without it this check must fail, not pass silently.
        XCTAssertEqual(try python("import cryptography", input: "").status, 0, "python3 with the cryptography package is required (scripts/install-deps)")
        let key = try SecureRandom.bytes(32)
        let plaintext = Array("sealed by CertCrypto".utf8)
        let associated = Array("eab-hmac-key".utf8)
        let sealed = try SecretBox.seal(plaintext, key: key, associatedData: associated)
        // The layout and the AAD (version byte || associatedData) are documented in SecretBox.
        let script = """
            import sys
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
            key, sealed, ad = (bytes.fromhex(x) for x in sys.stdin.read().split())
            print(AESGCM(key).decrypt(sealed[1:13], sealed[13:], sealed[:1] + ad).hex())
            """
        let result = try python(script, input: "\(key.hex) \(sealed.hex) \(associated.hex)")
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertEqual(result.output.trimmingCharacters(in: .whitespacesAndNewlines), plaintext.hex)

        // And the reverse: Python seals, SecretBox opens.
        let sealScript = """
            import sys, os
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
            key, pt, ad = (bytes.fromhex(x) for x in sys.stdin.read().split())
            nonce = os.urandom(12)
            print((b"\\x01" + nonce + AESGCM(key).encrypt(nonce, pt, b"\\x01" + ad)).hex())
            """
        let sealedByPython = try python(sealScript, input: "\(key.hex) \(plaintext.hex) \(associated.hex)")
        XCTAssertEqual(sealedByPython.status, 0, sealedByPython.output)
        let bytes = [UInt8](hex: sealedByPython.output.trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertEqual(try SecretBox.open(bytes, key: key, associatedData: associated), plaintext)
    }
}

final class ErrorReportingTests: XCTestCase {
    func testCryptoErrorCarriesOpenSSLQueueText() throws {
        let key = try PrivateKey.generate(.ec256)
        let encrypted = try key.encryptedPKCS8PEM(passphrase: Array("right".utf8))
        do {
            _ = try PrivateKey(pem: encrypted, passphrase: Array("wrong".utf8))
            XCTFail("wrong passphrase accepted")
        } catch let error as CryptoError {
            XCTAssertTrue(error.operation.contains("PEM_read_bio_PrivateKey"), error.operation)
            XCTAssertTrue(error.detail.contains("error:"), error.detail)  // OpenSSL's "error:XXXXXXXX:lib::reason"
            XCTAssertTrue(error.lowLevelDetail.contains(error.detail))
            XCTAssertTrue(String(reflecting: error).contains(error.detail), "the debug form keeps OpenSSL's text")
            XCTAssertFalse(error.description.contains("error:"), "what a person reads has no OpenSSL codes: \(error)")
            XCTAssertEqual(error.description, "the private key cannot be read: the passphrase is wrong, or the file is not a PEM private key")
        }
    }

    func testGarbageCertificateIsDescribedInWordsAndKeepsTheOpenSSLCause() throws {
        // Valid base64, not DER: OpenSSL's "header too long" or similar.
        let garbage = "-----BEGIN CERTIFICATE-----\nZ2FyYmFnZSBnYXJiYWdlIGdhcmJhZ2U=\n-----END CERTIFICATE-----\n"
        XCTAssertThrowsError(try Certificate.parseChain(pem: garbage)) { error in
            guard let error = error as? CryptoError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.description, "the data is not a valid X.509 certificate (neither PEM nor DER that can be parsed)")
            XCTAssertEqual(error.operation, "d2i_X509")
            XCTAssertTrue(error.detail.contains("error:"), error.detail)
            XCTAssertTrue(error.lowLevelDetail.hasPrefix("d2i_X509 failed: error:"), error.lowLevelDetail)
        }
        XCTAssertThrowsError(try Certificate.parseChain(pem: "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n")) { error in
            XCTAssertEqual("\(error)", "malformed PEM: invalid base64 in CERTIFICATE block 1")
        }
        XCTAssertThrowsError(try Certificate.parseChain(pem: "<html>502 Bad Gateway</html>")) { error in
            XCTAssertEqual("\(error)", "no PEM certificate (-----BEGIN CERTIFICATE-----) found")
        }
    }

    func testConcurrentSigningWithOneKey() throws {
        let key = try PrivateKey.generate(.ec256)
        final class Results: @unchecked Sendable {
            let lock = NSLock()
            var signatures: [[UInt8]] = []
            var failures = 0
        }
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: 64) { index in
            let signature = try? key.signJWS(Array("message \(index)".utf8))
            results.lock.lock()
            if let signature { results.signatures.append(signature) } else { results.failures += 1 }
            results.lock.unlock()
        }
        XCTAssertEqual(results.failures, 0)
        XCTAssertEqual(results.signatures.count, 64)
        XCTAssertTrue(results.signatures.allSatisfy { $0.count == 64 })
    }
}
