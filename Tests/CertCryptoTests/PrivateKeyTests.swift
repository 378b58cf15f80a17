import Foundation
import TestSupport
import XCTest
@testable import CertCrypto

final class PrivateKeyTests: XCTestCase {
    func testGenerateEveryTypeRoundTripAndOpenSSLCheck() throws {
        let dir = try TemporaryDirectory()
        for type in KeyType.allCases {
            let key = try PrivateKey.generate(type)
            XCTAssertEqual(key.type, type)
            let pem = try key.pkcs8PEM()
            XCTAssertTrue(pem.hasPrefix("-----BEGIN PRIVATE KEY-----\n"), pem)
            // Round trip: same type, same public key, same PEM.
            let reread = try PrivateKey(pem: pem)
            XCTAssertEqual(reread.type, type)
            XCTAssertEqual(try reread.publicKeyDER(), try key.publicKeyDER())
            XCTAssertEqual(try reread.pkcs8PEM(), pem)
            // Independent check: OpenSSL's own consistency check, and the algorithm/size it sees.
            let file = try dir.write("\(type.rawValue).pem", pem)
            let checked = try OpenSSLCLI.succeed(["pkey", "-in", file, "-noout", "-check"])
            XCTAssertTrue(checked.output.contains("Key is valid"), checked.output)
            let text = try OpenSSLCLI.succeed(["pkey", "-in", file, "-noout", "-text"]).stdout
            switch type {
            case .ec256: XCTAssertTrue(text.contains("NIST CURVE: P-256"), text)
            case .ec384: XCTAssertTrue(text.contains("NIST CURVE: P-384"), text)
            case .rsa2048: XCTAssertTrue(text.contains("(2048 bit"), text)
            case .rsa3072: XCTAssertTrue(text.contains("(3072 bit"), text)
            case .rsa4096: XCTAssertTrue(text.contains("(4096 bit"), text)
            }
            // SubjectPublicKeyInfo matches what openssl derives from the private key.
            let pubFile = dir.path("\(type.rawValue).pub.der")
            try OpenSSLCLI.succeed(["pkey", "-in", file, "-pubout", "-outform", "DER", "-out", pubFile])
            XCTAssertEqual(try key.publicKeyDER(), try dir.readBytes("\(type.rawValue).pub.der"))
        }
    }

    func testTypeDetectionFromOpenSSLGeneratedPEM() throws {
        let dir = try TemporaryDirectory()
        let cases: [(KeyType, [String])] = [
            (.ec256, ["ecparam", "-name", "prime256v1", "-genkey", "-noout"]),          // traditional "EC PRIVATE KEY"
            (.ec384, ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]), // PKCS#8
            (.rsa2048, ["genrsa", "-traditional", "-out", "FILE", "2048"]),                           // "RSA PRIVATE KEY"
            (.rsa3072, ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"]),
        ]
        for (expected, arguments) in cases {
            let file = dir.path("\(expected.rawValue).pem")
            try OpenSSLCLI.succeed(arguments.contains("FILE") ? arguments.map { $0 == "FILE" ? file : $0 } : arguments + ["-out", file])
            let pem = try dir.read("\(expected.rawValue).pem")
            XCTAssertEqual(try PrivateKey(pem: pem).type, expected, arguments.joined(separator: " "))
        }
        XCTAssertTrue(try dir.read("ec256.pem").contains("BEGIN EC PRIVATE KEY"))
        XCTAssertTrue(try dir.read("rsa2048.pem").contains("BEGIN RSA PRIVATE KEY"))
    }

    func testUnsupportedKeysAndGarbageThrow() throws {
        let dir = try TemporaryDirectory()
        let unsupported: [(String, [String])] = [
            ("ed25519", ["genpkey", "-algorithm", "ED25519"]),
            ("p521", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"]),
            ("rsa1024", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"]),
        ]
        for (name, arguments) in unsupported {
            let file = dir.path("\(name).pem")
            try OpenSSLCLI.succeed(arguments + ["-out", file])
            XCTAssertThrowsError(try PrivateKey(pem: try dir.read("\(name).pem")), name) { error in
                XCTAssertTrue(error is CryptoError, "\(error)")
            }
        }
        XCTAssertThrowsError(try PrivateKey(pem: "not a key"))
        XCTAssertThrowsError(try PrivateKey(pem: ""))
        XCTAssertThrowsError(try PrivateKey(pem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")) { error in
            let cryptoError = error as? CryptoError
            XCTAssertNotNil(cryptoError)
            XCTAssertFalse(cryptoError?.detail.isEmpty ?? true)
        }
    }

    func testEncryptedPKCS8() throws {
        let dir = try TemporaryDirectory()
        for type in [KeyType.ec256, .rsa2048] {
            let key = try PrivateKey.generate(type)
            let passphrase = Array("correct horse \(type.rawValue)".utf8)
            let encrypted = try key.encryptedPKCS8PEM(passphrase: passphrase)
            XCTAssertTrue(encrypted.hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"))
            XCTAssertFalse(encrypted.contains(try key.pkcs8PEM()))

            // Opened by the openssl CLI with the passphrase, which reports AES-256-CBC.
            let file = try dir.write("enc-\(type.rawValue).pem", encrypted)
            let decrypted = try OpenSSLCLI.succeed(["pkey", "-in", file, "-passin", "pass:correct horse \(type.rawValue)"]).stdout
            XCTAssertEqual(try PrivateKey(pem: decrypted).publicKeyDER(), try key.publicKeyDER())
            let info = try OpenSSLCLI.succeed(["asn1parse", "-in", file]).stdout
            XCTAssertTrue(info.contains("aes-256-cbc"), info)
            XCTAssertNotEqual(try OpenSSLCLI.run(["pkey", "-in", file, "-passin", "pass:wrong"]).status, 0)

            // Opened by PrivateKey with the passphrase; wrong or missing passphrase throws.
            let reopened = try PrivateKey(pem: encrypted, passphrase: passphrase)
            XCTAssertEqual(reopened.type, type)
            XCTAssertEqual(try reopened.publicKeyDER(), try key.publicKeyDER())
            XCTAssertThrowsError(try PrivateKey(pem: encrypted, passphrase: Array("wrong".utf8))) {
                XCTAssertTrue($0 is CryptoError)
            }
            XCTAssertThrowsError(try PrivateKey(pem: encrypted)) { XCTAssertTrue($0 is CryptoError) }
        }
        XCTAssertThrowsError(try PrivateKey.generate(.ec256).encryptedPKCS8PEM(passphrase: []))
    }

    func testEncryptedKeyFromOpenSSLCLI() throws {
        let dir = try TemporaryDirectory()
        let file = dir.path("k.pem")
        try OpenSSLCLI.succeed(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                                "-aes-256-cbc", "-pass", "pass:s3cret", "-out", file])
        let pem = try dir.read("k.pem")
        XCTAssertTrue(pem.contains("ENCRYPTED PRIVATE KEY"))
        XCTAssertEqual(try PrivateKey(pem: pem, passphrase: Array("s3cret".utf8)).type, .ec256)
        XCTAssertThrowsError(try PrivateKey(pem: pem, passphrase: Array("s3cre".utf8)))
    }
}
