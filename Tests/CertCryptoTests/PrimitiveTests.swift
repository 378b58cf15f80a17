import ByteEncoding
import TestSupport
import XCTest
@testable import CertCrypto

final class Base64URLTests: XCTestCase {
    /// RFC 4648 §10 vectors, translated to the URL alphabet without padding.
    func testRFC4648Vectors() {
        let vectors: [(String, String)] = [
            ("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"),
            ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"), ("foobar", "Zm9vYmFy"),
        ]
        for (plain, encoded) in vectors {
            XCTAssertEqual(Base64URL.encode(Array(plain.utf8)), encoded)
            XCTAssertEqual(Base64URL.decode(encoded), Array(plain.utf8))
        }
    }

    func testURLAlphabetAndRejections() {
        // RFC 7515 Appendix C example: bytes 3, 236, 255, 224, 193 -> "A-z_4ME".
        XCTAssertEqual(Base64URL.encode([3, 236, 255, 224, 193]), "A-z_4ME")
        XCTAssertEqual(Base64URL.decode("A-z_4ME"), [3, 236, 255, 224, 193])
        XCTAssertNil(Base64URL.decode("A+z/4ME"))
        XCTAssertNil(Base64URL.decode("Zg=="))
        XCTAssertNil(Base64URL.decode("Z"))
        XCTAssertNil(Base64URL.decode("Zm 9v"))
    }

    func testRoundTripAllLengths() throws {
        for length in 0 ..< 70 {
            let bytes = try SecureRandom.bytes(length)
            let text = Base64URL.encode(bytes)
            XCTAssertFalse(text.contains("="))
            XCTAssertEqual(Base64URL.decode(text), bytes)
            // Cross-check against Foundation's standard base64.
            let standard = Data(bytes).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
            XCTAssertEqual(text, standard)
        }
    }
}

final class DigestAndMACTests: XCTestCase {
    func testSHA256Vectors() {
        // FIPS 180-2 Appendix B.1 and the empty string.
        XCTAssertEqual(Digest.sha256(Array("abc".utf8)).hex,
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(Digest.sha256([]).hex,
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(Digest.sha256(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)).hex,
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    func testSHA384Vector() {
        XCTAssertEqual(Digest.sha384(Array("abc".utf8)).hex,
                       "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7")
    }

    /// RFC 4231 §4.2, §4.3, §4.4, §4.7 (test cases 1, 2, 3 and 6).
    func testHMACSHA256RFC4231() throws {
        let cases: [(key: [UInt8], data: [UInt8], mac: String)] = [
            ([UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
             "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            ([UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50),
             "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
            ([UInt8](repeating: 0xaa, count: 131),
             Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
             "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        ]
        for testCase in cases {
            XCTAssertEqual(try HMAC.sha256(key: testCase.key, data: testCase.data).hex, testCase.mac)
        }
    }

    func testHMACEmptyData() throws {
        // Checked with: printf '' | openssl dgst -sha256 -hmac key
        let cli = try OpenSSLCLI.succeed(["dgst", "-sha256", "-hmac", "key"], stdin: [])
        let expected = try HMAC.sha256(key: Array("key".utf8), data: [])
        XCTAssertTrue(cli.stdout.contains(expected.hex), cli.stdout)
    }

    /// RFC 5869 Appendix A.1 (test case 1) and A.3 (test case 3: empty salt and info).
    func testHKDFRFC5869() throws {
        let okm1 = try KeyDerivation.hkdfSHA256(
            key: [UInt8](repeating: 0x0b, count: 22),
            salt: [UInt8](hex: "000102030405060708090a0b0c"),
            info: [UInt8](hex: "f0f1f2f3f4f5f6f7f8f9"),
            length: 42)
        XCTAssertEqual(okm1.hex, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
        let okm3 = try KeyDerivation.hkdfSHA256(key: [UInt8](repeating: 0x0b, count: 22), salt: [], info: [], length: 42)
        XCTAssertEqual(okm3.hex, "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8")
    }

    func testHKDFRejectsBadLength() {
        XCTAssertThrowsError(try KeyDerivation.hkdfSHA256(key: [1], salt: [], info: [], length: 0))
        XCTAssertThrowsError(try KeyDerivation.hkdfSHA256(key: [1], salt: [], info: [], length: 255 * 32 + 1))
    }

    func testSecureRandomAndCleanse() throws {
        let a = try SecureRandom.bytes(32)
        let b = try SecureRandom.bytes(32)
        XCTAssertEqual(a.count, 32)
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(try SecureRandom.bytes(0), [])
        XCTAssertThrowsError(try SecureRandom.bytes(-1))
        var secret = a
        SecureMemory.cleanse(&secret)
        XCTAssertEqual(secret, [UInt8](repeating: 0, count: 32))
    }
}

final class SecretBoxTests: XCTestCase {
    let key = [UInt8](repeating: 0x42, count: 32)
    let secretName = Array("account-key".utf8)

    func testRoundTripAndLayout() throws {
        for plaintext in [[], Array("hunter2".utf8), [UInt8](repeating: 7, count: 1000)] {
            let sealed = try SecretBox.seal(plaintext, key: key, associatedData: secretName)
            XCTAssertEqual(sealed.count, 1 + 12 + plaintext.count + 16)
            XCTAssertEqual(sealed.first, SecretBox.formatVersion)
            XCTAssertEqual(try SecretBox.open(sealed, key: key, associatedData: secretName), plaintext)
        }
    }

    func testNoncesDiffer() throws {
        let a = try SecretBox.seal([1, 2, 3], key: key, associatedData: secretName)
        let b = try SecretBox.seal([1, 2, 3], key: key, associatedData: secretName)
        XCTAssertNotEqual(Array(a[1 ..< 13]), Array(b[1 ..< 13]))
    }

    func testEveryByteTamperIsDetected() throws {
        let sealed = try SecretBox.seal(Array("a secret worth keeping".utf8), key: key, associatedData: secretName)
        for index in sealed.indices {
            var tampered = sealed
            tampered[index] ^= 0x01
            XCTAssertThrowsError(try SecretBox.open(tampered, key: key, associatedData: secretName)) { error in
                let expected: SecretBoxError = index == 0 ? .unsupportedVersion(sealed[0] ^ 0x01) : .authenticationFailed
                XCTAssertEqual(error as? SecretBoxError, expected, "byte \(index)")
            }
        }
    }

    func testWrongKeyWrongADTruncatedBadVersion() throws {
        let sealed = try SecretBox.seal(Array("payload".utf8), key: key, associatedData: secretName)
        var otherKey = key
        otherKey[31] ^= 0x80
        XCTAssertThrowsError(try SecretBox.open(sealed, key: otherKey, associatedData: secretName)) {
            XCTAssertEqual($0 as? SecretBoxError, .authenticationFailed)
        }
        XCTAssertThrowsError(try SecretBox.open(sealed, key: key, associatedData: Array("other-name".utf8))) {
            XCTAssertEqual($0 as? SecretBoxError, .authenticationFailed)
        }
        XCTAssertThrowsError(try SecretBox.open(sealed, key: key, associatedData: [])) {
            XCTAssertEqual($0 as? SecretBoxError, .authenticationFailed)
        }
        for length in [0, 1, 13, 28] {
            XCTAssertThrowsError(try SecretBox.open(Array(sealed.prefix(length)), key: key, associatedData: secretName)) {
                XCTAssertEqual($0 as? SecretBoxError, .truncated, "length \(length)")
            }
        }
        // Dropping the last byte leaves a valid-looking length but a wrong tag.
        XCTAssertThrowsError(try SecretBox.open(Array(sealed.dropLast()), key: key, associatedData: secretName)) {
            XCTAssertEqual($0 as? SecretBoxError, .authenticationFailed)
        }
        var badVersion = sealed
        badVersion[0] = 2
        XCTAssertThrowsError(try SecretBox.open(badVersion, key: key, associatedData: secretName)) {
            XCTAssertEqual($0 as? SecretBoxError, .unsupportedVersion(2))
        }
        XCTAssertThrowsError(try SecretBox.seal([1], key: [1, 2, 3], associatedData: secretName)) {
            XCTAssertEqual($0 as? SecretBoxError, .invalidKeyLength(3))
        }
        XCTAssertThrowsError(try SecretBox.open(sealed, key: [UInt8](repeating: 0, count: 16), associatedData: secretName)) {
            XCTAssertEqual($0 as? SecretBoxError, .invalidKeyLength(16))
        }
    }

    /// Known answer: AES-256-GCM with an all-zero key and nonce over 16 zero bytes gives the
    /// ciphertext of McGrew & Viega, "The GCM Mode of Operation", test case 14.
    func testCiphertextKnownAnswer() throws {
        let sealed = try SecretBox.seal([UInt8](repeating: 0, count: 16), key: [UInt8](repeating: 0, count: 32),
                                        associatedData: [], nonce: [UInt8](repeating: 0, count: 12))
        XCTAssertEqual(Array(sealed[13 ..< 29]).hex, "cea7403d4d606b6e074ec5d3baf39d18")
        XCTAssertEqual(try SecretBox.open(sealed, key: [UInt8](repeating: 0, count: 32), associatedData: []),
                       [UInt8](repeating: 0, count: 16))
    }
}
