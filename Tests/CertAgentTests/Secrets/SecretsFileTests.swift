@testable import CertAgent
import CertCrypto
import Foundation
import TestSupport
import XCTest

final class SecretsFileTests: XCTestCase {
    func testRoundTripsEveryKindOfSecretAcrossReopen() throws {
        let temp = try TemporaryDirectory()
        let path = temp.path("secrets.sealed")
        let key = try SecretsFixtures.key(1)
        let file = try SecretsFile.open(path: path, masterKey: key)
        XCTAssertEqual(fileMode(path), 0o600, "an empty file with its key check is written at once")
        XCTAssertEqual(file.names(), [])
        try file.set(name: "eab-hmac-key", value: SecretsFixtures.eabKey)
        try file.set(name: "dns_api.token", value: SecretsFixtures.apiToken)
        try file.set(name: "mail-password", value: SecretsFixtures.mailPassword)
        XCTAssertEqual(fileMode(path), 0o600)

        let reopened = try SecretsFile.open(path: path, masterKey: try SecretsFixtures.key(1))
        XCTAssertEqual(reopened.names(), ["dns_api.token", "eab-hmac-key", "mail-password"])
        XCTAssertEqual(try reopened.value(named: "eab-hmac-key"), SecretsFixtures.eabKey)
        XCTAssertEqual(try reopened.value(named: "dns_api.token"), SecretsFixtures.apiToken)
        XCTAssertEqual(try reopened.value(named: "mail-password"), SecretsFixtures.mailPassword)

        let text = try String(decoding: readBytes(path), as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("{\"format\":\"certagent-secrets\",\"version\":1,\"check\":\""), text)
        for secret in [SecretsFixtures.apiToken, SecretsFixtures.mailPassword] {
            XCTAssertFalse(text.contains(String(decoding: secret, as: UTF8.self)), "no plaintext on disk")
        }
        XCTAssertFalse(text.contains(Data(SecretsFixtures.eabKey).base64EncodedString()))
    }

    func testReplaceRemoveAndFreshNoncePerWrite() throws {
        let temp = try TemporaryDirectory()
        let path = temp.path("secrets.sealed")
        let file = try SecretsFile.open(path: path, masterKey: try SecretsFixtures.key(1))
        try file.set(name: "token", value: Array("one".utf8))
        let first = try readBytes(path)
        try file.set(name: "token", value: Array("one".utf8))
        XCTAssertNotEqual(try readBytes(path), first, "same value, fresh nonce, different ciphertext")
        try file.set(name: "token", value: Array("two".utf8))
        XCTAssertEqual(try file.value(named: "token"), Array("two".utf8))
        XCTAssertTrue(try file.remove(name: "token"))
        let afterRemove = try readBytes(path)
        XCTAssertFalse(try file.remove(name: "token"))
        XCTAssertEqual(try readBytes(path), afterRemove, "removing a missing name writes nothing")
        XCTAssertThrowsError(try file.value(named: "token")) { error in
            XCTAssertEqual(error as? SecretsError, .notFound(path: path, name: "token"))
        }
        XCTAssertEqual(try SecretsFile.open(path: path, masterKey: try SecretsFixtures.key(1)).names(), [])
    }

    func testNamesAreRestricted() throws {
        let temp = try TemporaryDirectory()
        let file = try SecretsFile.open(path: temp.path("s"), masterKey: try SecretsFixtures.key(1))
        for bad in ["", "a b", "ä", "a/b", "x\"y", String(repeating: "a", count: 65), "tab\t"] {
            XCTAssertThrowsError(try file.set(name: bad, value: [1])) { error in
                XCTAssertEqual(error as? SecretsError, .invalidName(bad))
            }
        }
        try file.set(name: String(repeating: "Z", count: 64), value: [1])
        try file.set(name: "A-z_0.9", value: [2])
        XCTAssertEqual(file.names().count, 2)
    }

    func testWrongMasterKeyIsRefusedAndTheFileIsNeverTouched() throws {
        let temp = try TemporaryDirectory()
        let path = temp.path("secrets.sealed")
        try SecretsFile.open(path: path, masterKey: try SecretsFixtures.key(1)).set(name: "token", value: [1, 2, 3])
        let before = try readBytes(path)
        XCTAssertThrowsError(try SecretsFile.open(path: path, masterKey: try SecretsFixtures.key(2))) { error in
            XCTAssertEqual(error as? SecretsError, .wrongMasterKey(path: path))
            XCTAssertTrue("\(error)".contains(path), "names the file: \(error)")
        }
        XCTAssertEqual(try readBytes(path), before)

        // An empty file (no secrets) still detects the wrong key through its check value.
        let emptyPath = temp.path("empty.sealed")
        _ = try SecretsFile.open(path: emptyPath, masterKey: try SecretsFixtures.key(1))
        XCTAssertThrowsError(try SecretsFile.open(path: emptyPath, masterKey: try SecretsFixtures.key(2))) { error in
            XCTAssertEqual(error as? SecretsError, .wrongMasterKey(path: emptyPath))
        }

        // A handle opened with the right key refuses to write over a file that was replaced by one sealed under
        // another key (or damaged) since: set/remove re-verify the file on disk first.
        let handle = try SecretsFile.open(path: path, masterKey: try SecretsFixtures.key(1))
        let other = temp.path("other.sealed")
        try SecretsFile.open(path: other, masterKey: try SecretsFixtures.key(2)).set(name: "x", value: [9])
        let foreign = try readBytes(other)
        try writeFile(path, foreign)
        XCTAssertThrowsError(try handle.set(name: "token", value: [4])) { error in
            XCTAssertEqual(error as? SecretsError, .wrongMasterKey(path: path))
        }
        XCTAssertThrowsError(try handle.remove(name: "token"))
        XCTAssertEqual(try readBytes(path), foreign, "unchanged after refused set and remove")
    }

    func testFlippingAnyByteNeverYieldsWrongValues() throws {
        let temp = try TemporaryDirectory()
        let path = temp.path("secrets.sealed")
        let key = try SecretsFixtures.key(1)
        let file = try SecretsFile.open(path: path, masterKey: key)
        try file.set(name: "a1", value: SecretsFixtures.eabKey)
        try file.set(name: "a2", value: SecretsFixtures.apiToken)
        try file.set(name: "pw", value: SecretsFixtures.mailPassword)
        let original = try readBytes(path)
        let expected = ["a1": SecretsFixtures.eabKey, "a2": SecretsFixtures.apiToken, "pw": SecretsFixtures.mailPassword]
        var refused = 0
        var accepted = 0
        for index in original.indices {
            for mask: UInt8 in [0x01, 0x20, 0x80, 0xff] {
                var damaged = original
                damaged[index] ^= mask
                try writeFile(path, damaged)
                do {
                    let opened = try SecretsFile.open(path: path, masterKey: key, createIfMissing: false)
                    var values: [String: [UInt8]] = [:]
                    for name in opened.names() { values[name] = try opened.value(named: name) }
                    XCTAssertEqual(values, expected, "byte \(index) ^ \(mask) opened with different values")
                    accepted += 1
                } catch let error as SecretsError {
                    XCTAssertTrue(error.description.contains(path), "\(error)")
                    refused += 1
                }
            }
        }
        XCTAssertEqual(refused, original.count * 4, "the format is strict: every single-byte change is refused")
        XCTAssertEqual(accepted, 0)
        for length in [0, 1, original.count / 2, original.count - 2, original.count - 1] {
            try writeFile(path, Array(original.prefix(length)))
            XCTAssertThrowsError(try SecretsFile.open(path: path, masterKey: key), "truncated to \(length)") { error in
                guard case .malformed(let errorPath, _)? = error as? SecretsError else { return XCTFail("\(error)") }
                XCTAssertEqual(errorPath, path)
            }
        }
    }

    func testSwappingSealedValuesBetweenNamesFails() throws {
        let temp = try TemporaryDirectory()
        let path = temp.path("secrets.sealed")
        let key = try SecretsFixtures.key(1)
        let file = try SecretsFile.open(path: path, masterKey: key)
        try file.set(name: "aa", value: Array("value-of-aa".utf8))
        try file.set(name: "bb", value: Array("value-of-bb".utf8))
        let object = try JSONSerialization.jsonObject(with: Data(try readBytes(path))) as! [String: Any]
        let secrets = object["secrets"] as! [String: String]
        let check = Array(Data(base64Encoded: object["check"] as! String)!)
        let swapped = SecretsFileFormat.encode(check: check, sealed: [
            "aa": Array(Data(base64Encoded: secrets["bb"]!)!), "bb": Array(Data(base64Encoded: secrets["aa"]!)!),
        ])
        try writeFile(path, swapped)
        XCTAssertThrowsError(try SecretsFile.open(path: path, masterKey: key)) { error in
            guard case .tampered(let errorPath, _)? = error as? SecretsError else { return XCTFail("\(error)") }
            XCTAssertEqual(errorPath, path)
        }
    }

    func testErrorsAndDescriptionsNeverContainSecretValues() throws {
        let temp = try TemporaryDirectory()
        let path = temp.path("secrets.sealed")
        let key = try SecretsFixtures.key(1)
        let file = try SecretsFile.open(path: path, masterKey: key)
        try file.set(name: "pw", value: SecretsFixtures.mailPassword)
        let original = try readBytes(path)
        // Flip one bit inside the sealed ciphertext of "pw" (decoded, flipped, encoded again: always valid base64).
        let text = String(decoding: original, as: UTF8.self)
        let sealedText = try XCTUnwrap(text.firstMatch(of: #/"pw":"([A-Za-z0-9+/=]+)"/#)?.output.1)
        var sealed = try XCTUnwrap(Data(base64Encoded: String(sealedText)))
        sealed[sealed.count / 2] ^= 0x01
        try writeFile(path, Array(text.replacing(String(sealedText), with: sealed.base64EncodedString()).utf8))
        var messages: [String] = []
        do { _ = try SecretsFile.open(path: path, masterKey: key) } catch { messages.append("\(error)") }
        try writeFile(path, original)
        do { _ = try SecretsFile.open(path: path, masterKey: try SecretsFixtures.key(2)) } catch { messages.append("\(error)") }
        XCTAssertEqual(messages.count, 2)
        XCTAssertTrue(messages[0].contains("\"pw\" failed authentication"), messages[0])
        let keyHex = try readBytesOfKey(key).hex
        for message in messages + ["\(key)", String(describing: file)] {
            XCTAssertFalse(message.contains("pässwörd"), message)
            XCTAssertFalse(message.contains(keyHex), message)
            XCTAssertTrue(message.contains(path) || message.hasPrefix("master key ") || message.contains("SecretsFile"), message)
        }
    }

    private func readBytesOfKey(_ key: MasterKey) throws -> [UInt8] { key.material.bytes }
}
