@testable import CertAgent
import CertCrypto
import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

final class MasterKeySourceTests: XCTestCase {
    func testMissingKeyFileIsCreated0600InA0700DirectoryAndThenReused() throws {
        let temp = try TemporaryDirectory()
        let path = temp.path("etc/certagent/master.key")
        let source = MasterKeySource(keyFile: path, createIfMissing: true, environment: [:])
        let first = try source.load()
        XCTAssertTrue(first.created)
        XCTAssertEqual(first.origin, .keyFile(path: path))
        XCTAssertEqual(fileMode(path), 0o600)
        XCTAssertEqual(fileMode(temp.path("etc/certagent")), 0o700)
        XCTAssertEqual(fileMode(temp.path("etc")), 0o700)
        XCTAssertEqual(try readBytes(path).count, 32)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: temp.path("etc/certagent")), ["master.key"])
        let second = try source.load()
        XCTAssertFalse(second.created)
        XCTAssertTrue(second.key.isSameKey(as: first.key))
        XCTAssertEqual(try readBytes(path), first.key.material.bytes)
        XCTAssertNotEqual(try MasterKeySource(keyFile: temp.path("other.key"), createIfMissing: true, environment: [:]).load().key.identifier,
                          first.key.identifier, "random keys")
    }

    func testMissingKeyFileWithoutCreationIsAnError() throws {
        let temp = try TemporaryDirectory()
        let path = temp.path("master.key")
        XCTAssertThrowsError(try MasterKeySource(keyFile: path, createIfMissing: false, environment: [:]).load()) { error in
            XCTAssertTrue("\(error)".contains(path) && "\(error)".contains("does not exist"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }

    func testGroupOrOtherAccessibleKeyFileIsRefusedWithTheFix() throws {
        let temp = try TemporaryDirectory()
        let path = temp.path("master.key")
        for mode: mode_t in [0o644, 0o640, 0o604, 0o660, 0o602] {
            try writeFile(path, [UInt8](repeating: 7, count: 32), mode: mode)
            XCTAssertThrowsError(try MasterKeySource(keyFile: path, createIfMissing: true, environment: [:]).load()) { error in
                let message = "\(error)"
                XCTAssertTrue(message.contains(path) && message.contains("chmod 600 \(path)") && message.contains(octal(mode)), message)
            }
            XCTAssertEqual(try readBytes(path), [UInt8](repeating: 7, count: 32), "never replaced")
        }
        try writeFile(path, [UInt8](repeating: 7, count: 32), mode: 0o400)
        XCTAssertNoThrow(try MasterKeySource(keyFile: path, createIfMissing: false, environment: [:]).load(), "0400 is fine")
    }

    func testWrongSizeKeyFileIsRefused() throws {
        let temp = try TemporaryDirectory()
        let path = temp.path("master.key")
        for size in [0, 31, 33, 64, 65] {
            try writeFile(path, [UInt8](repeating: 0x61, count: size))
            XCTAssertThrowsError(try MasterKeySource(keyFile: path, createIfMissing: true, environment: [:]).load()) { error in
                let message = "\(error)"
                XCTAssertTrue(message.contains(path) && message.contains("\(size) bytes"), message)
                XCTAssertFalse(message.contains("aaaa"), "no content in the message")
            }
            XCTAssertEqual(try readBytes(path).count, size, "never replaced")
        }
    }

    func testKeyFileOwnedBySomeoneElseIsRefused() throws {
        try XCTSkipUnless(geteuid() == 0, "needs root to chown")
        let temp = try TemporaryDirectory()
        let path = temp.path("master.key")
        try writeFile(path, [UInt8](repeating: 1, count: 32))
        XCTAssertEqual(chown(path, 4242, 4242), 0)
        XCTAssertThrowsError(try MasterKeySource(keyFile: path, createIfMissing: true, environment: [:]).load()) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(path) && message.contains("uid 4242"), message)
        }
    }

    func testSystemdCredentialIsPreferredAndAcceptsRawHexAndBase64() throws {
        let temp = try TemporaryDirectory()
        let keyFile = temp.path("master.key")
        try writeFile(keyFile, [UInt8](repeating: 1, count: 32))
        let credentials = try temp.make("credentials")
        let credential = credentials + "/certagent-master-key"
        let raw: [UInt8] = (0 ..< 32).map { UInt8(truncatingIfNeeded: $0 * 9 + 3) }
        let expected = try MasterKey(bytes: raw)
        let hex = raw.hex
        let base64 = Data(raw).base64EncodedString()
        let encodings: [(String, [UInt8])] = [
            ("raw", raw), ("hex", Array(hex.utf8)), ("hex+newline", Array((hex + "\n").utf8)),
            ("HEX", Array(hex.uppercased().utf8)), ("base64+newline", Array((base64 + "\n").utf8)),
            ("base64 unpadded", Array(base64.dropLast().utf8)), ("hex+crlf", Array((hex + "\r\n").utf8)),
        ]
        let source = MasterKeySource(keyFile: keyFile, createIfMissing: true, environment: ["CREDENTIALS_DIRECTORY": credentials])
        for (name, bytes) in encodings {
            try writeFile(credential, bytes, mode: 0o400)
            let loaded = try source.load()
            XCTAssertEqual(loaded.origin, .systemdCredential(path: credential), name)
            XCTAssertTrue(loaded.key.isSameKey(as: expected), name)
        }
        for (name, bytes) in [("31 raw", Array(raw.prefix(31))), ("33 raw", raw + [0]), ("raw+newline", raw + [0x0a]),
                              ("hex+2 newlines", Array((hex + "\n\n").utf8)), ("bad hex", Array(("zz" + hex.dropFirst(2)).utf8))] {
            try writeFile(credential, bytes, mode: 0o400)
            XCTAssertThrowsError(try source.load(), name) { error in
                XCTAssertTrue("\(error)".contains(credential), "\(error)")
            }
        }
        // Without the credential file (or without the variable) the key file is used.
        unlink(credential)
        XCTAssertEqual(try source.load().origin, .keyFile(path: keyFile))
        XCTAssertEqual(try MasterKeySource(keyFile: keyFile, createIfMissing: false, environment: [:]).load().origin, .keyFile(path: keyFile))
    }

    func testPendingKeyWithoutCurrentKeyIsRefused() throws {
        let temp = try TemporaryDirectory()
        let path = temp.path("master.key")
        try writeFile(path + ".next", [UInt8](repeating: 1, count: 32))
        XCTAssertThrowsError(try MasterKeySource(keyFile: path, createIfMissing: true, environment: [:]).load()) { error in
            XCTAssertTrue("\(error)".contains(path + ".next"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "no new key invented next to a pending one")
    }

    func testDerivedKeysAreStableAndDistinct() throws {
        let key = try SecretsFixtures.key(1)
        let passphrase = try key.accountKeyPassphrase
        XCTAssertEqual(passphrase.count, 64)
        XCTAssertTrue(passphrase.allSatisfy { (0x30 ... 0x39).contains($0) || (0x61 ... 0x66).contains($0) })
        XCTAssertEqual(passphrase, try HMAC.sha256(key: key.material.bytes, data: Array("certagent account-key passphrase v1".utf8)).hex.utf8.map { $0 })
        let subkey = try key.secretsKey().bytes
        XCTAssertEqual(subkey, try KeyDerivation.hkdfSHA256(key: key.material.bytes, salt: [], info: Array("certagent secrets v1".utf8), length: 32))
        XCTAssertNotEqual(subkey, key.material.bytes)
        XCTAssertNotEqual(try SecretsFixtures.key(2).accountKeyPassphrase, passphrase)
        XCTAssertEqual(key.identifier.count, 16)
        XCTAssertEqual("\(key)", "master key \(key.identifier)")
        XCTAssertThrowsError(try MasterKey(bytes: [1, 2, 3]))
    }
}

final class MasterKeyOpenSSLTests: XCTestCase {
    /// The emergency procedure in `MasterKey.accountKeyPassphrase`'s documentation, run as written.
    func testDocumentedOpenSSLCommandReproducesThePassphraseAndOpensTheAccountKey() throws {
        let temp = try TemporaryDirectory()
        let source = MasterKeySource(keyFile: temp.path("master.key"), createIfMissing: true, environment: [:])
        let key = try source.load().key
        let accountKey = try PrivateKey.generate(.ec256)
        try AccountKeyFile.write(accountKey, to: temp.path("account-key.pem"), masterKey: key)
        XCTAssertTrue(try temp.read("account-key.pem").hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----"))

        let passphraseCommand = "printf '%s' 'certagent account-key passphrase v1' | openssl mac -digest SHA256 -macopt hexkey:$(od -An -tx1 -v master.key | tr -d ' \\n') HMAC | tr A-Z a-z"
        let computed = try Subprocess.run(["bash", "-c", passphraseCommand], in: temp.url)
        XCTAssertEqual(computed.status, 0, computed.stderr)
        XCTAssertEqual(computed.stdout.trimmingCharacters(in: .newlines), String(decoding: try key.accountKeyPassphrase, as: UTF8.self))

        let script = """
        set -euo pipefail
        PASS=$(printf '%s' 'certagent account-key passphrase v1' \\
          | openssl mac -digest SHA256 -macopt hexkey:$(od -An -tx1 -v master.key | tr -d ' \\n') HMAC \\
          | tr A-Z a-z)
        openssl pkey -in account-key.pem -passin pass:$PASS
        """
        let opened = try Subprocess.run(["bash", "-c", script], in: temp.url)
        XCTAssertEqual(opened.status, 0, opened.stderr)
        XCTAssertEqual(opened.stdout, try accountKey.pkcs8PEM())

        let wrong = try Subprocess.run(["openssl", "pkey", "-in", "account-key.pem", "-passin", "pass:" + String(repeating: "0", count: 64)], in: temp.url)
        XCTAssertNotEqual(wrong.status, 0, "a wrong passphrase does not open it")
    }

    func testPlainAccountKeyIsEncryptedOnFirstRead() throws {
        let temp = try TemporaryDirectory()
        let key = try SecretsFixtures.key(3)
        let accountKey = try PrivateKey.generate(.ec256)
        let path = try temp.write("account-key.pem", try accountKey.pkcs8PEM())
        let read = try AccountKeyFile.read(path, masterKey: key)
        XCTAssertEqual(try read.pkcs8PEM(), try accountKey.pkcs8PEM())
        XCTAssertTrue(try temp.read("account-key.pem").hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----"))
        XCTAssertEqual(fileMode(path), 0o600)
        XCTAssertEqual(try AccountKeyFile.read(path, masterKey: key).pkcs8PEM(), try accountKey.pkcs8PEM())
        XCTAssertThrowsError(try AccountKeyFile.read(path, masterKey: try SecretsFixtures.key(4))) { error in
            XCTAssertTrue("\(error)".contains(path), "\(error)")
        }
    }
}
