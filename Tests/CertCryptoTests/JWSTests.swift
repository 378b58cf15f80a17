import ByteEncoding
import Foundation
import TestSupport
import XCTest
@testable import CertCrypto

final class JWSTests: XCTestCase {
    func testAlgorithms() throws {
        XCTAssertEqual(try PrivateKey.generate(.ec256).jwsAlgorithm, "ES256")
        XCTAssertEqual(try PrivateKey.generate(.ec384).jwsAlgorithm, "ES384")
        XCTAssertEqual(try PrivateKey.generate(.rsa2048).jwsAlgorithm, "RS256")
    }

    /// Every signature is verified by the openssl CLI with the public key openssl derived itself.
    func testSignaturesVerifyWithOpenSSL() throws {
        let dir = try TemporaryDirectory()
        let input = Array("eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UifQ".utf8)
        try dir.write("input.bin", bytes: input)
        for type in [KeyType.ec256, .ec384, .rsa2048, .rsa3072] {
            let key = try PrivateKey.generate(type)
            let keyFile = try dir.write("key.pem", try key.pkcs8PEM())
            try OpenSSLCLI.succeed(["pkey", "-in", keyFile, "-pubout", "-out", dir.path("pub.pem")])
            let signature = try key.signJWS(input)
            let digest: String
            let der: [UInt8]
            switch type {
            case .ec256:
                XCTAssertEqual(signature.count, 64)
                digest = "-sha256"
                der = TestDER.ecdsaSignature(raw: signature)
            case .ec384:
                XCTAssertEqual(signature.count, 96)
                digest = "-sha384"
                der = TestDER.ecdsaSignature(raw: signature)
            default:
                XCTAssertEqual(signature.count, (Int(type.rawValue.dropFirst(3)) ?? 0) / 8)
                digest = "-sha256"
                der = signature
            }
            try dir.write("sig.bin", bytes: der)
            let verified = try OpenSSLCLI.succeed(["dgst", digest, "-verify", dir.path("pub.pem"),
                                                   "-signature", dir.path("sig.bin"), dir.path("input.bin")])
            XCTAssertTrue(verified.stdout.contains("Verified OK"), "\(type): \(verified.output)")
            // A different input must not verify.
            try dir.write("other.bin", bytes: input + [0x2e])
            let rejected = try OpenSSLCLI.run(["dgst", digest, "-verify", dir.path("pub.pem"),
                                               "-signature", dir.path("sig.bin"), dir.path("other.bin")])
            XCTAssertNotEqual(rejected.status, 0, "\(type)")
        }
    }

    func testRSASignatureIsDeterministicPKCS1() throws {
        // PKCS#1 v1.5 is deterministic; ECDSA is randomised.
        let rsa = try PrivateKey.generate(.rsa2048)
        XCTAssertEqual(try rsa.signJWS([1, 2, 3]), try rsa.signJWS([1, 2, 3]))
        let ec = try PrivateKey.generate(.ec256)
        XCTAssertNotEqual(try ec.signJWS([1, 2, 3]), try ec.signJWS([1, 2, 3]))
        XCTAssertEqual(try ec.signJWS([]).count, 64)
    }

    /// RFC 7638 §3.1: the RSA key from RFC 7517 Appendix A.1 and its thumbprint.
    func testRFC7638ThumbprintVector() throws {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
        let jwk = ["kty": "RSA", "n": n, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"]
        XCTAssertEqual(try JWK.canonicalJSON(jwk), "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"\(n)\"}")
        XCTAssertEqual(try JWK.thumbprint(jwk), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        XCTAssertThrowsError(try JWK.thumbprint(["kty": "RSA", "n": n]))
        XCTAssertThrowsError(try JWK.thumbprint(["kty": "OKP", "x": "abc"]))
    }

    func testECJWKMatchesSubjectPublicKeyInfo() throws {
        for (type, size, curve) in [(KeyType.ec256, 32, "P-256"), (.ec384, 48, "P-384")] {
            // Repeat to make it likely that a coordinate with a leading zero byte appears at least sometimes.
            for _ in 0 ..< 8 {
                let key = try PrivateKey.generate(type)
                let jwk = try key.publicJWK()
                XCTAssertEqual(Set(jwk.keys), ["kty", "crv", "x", "y"])
                XCTAssertEqual(jwk["kty"], "EC")
                XCTAssertEqual(jwk["crv"], curve)
                let x = try XCTUnwrap(Base64URL.decode(jwk["x"] ?? ""))
                let y = try XCTUnwrap(Base64URL.decode(jwk["y"] ?? ""))
                XCTAssertEqual(x.count, size)
                XCTAssertEqual(y.count, size)
                // The uncompressed point 04 || x || y closes the SubjectPublicKeyInfo.
                let spki = try key.publicKeyDER()
                XCTAssertEqual(Array(spki.suffix(1 + 2 * size)), [0x04] + x + y)
            }
        }
    }

    func testRSAJWKMatchesOpenSSLModulus() throws {
        let dir = try TemporaryDirectory()
        let key = try PrivateKey.generate(.rsa2048)
        let jwk = try key.publicJWK()
        XCTAssertEqual(Set(jwk.keys), ["kty", "n", "e"])
        XCTAssertEqual(jwk["e"], "AQAB")
        let n = try XCTUnwrap(Base64URL.decode(jwk["n"] ?? ""))
        XCTAssertEqual(n.count, 256)
        XCTAssertNotEqual(n.first, 0)
        let file = try dir.write("rsa.pem", try key.pkcs8PEM())
        let modulus = try OpenSSLCLI.succeed(["rsa", "-in", file, "-noout", "-modulus"]).stdout
        XCTAssertEqual(modulus.trimmingCharacters(in: .whitespacesAndNewlines), "Modulus=" + n.hex.uppercased())
    }

    /// The thumbprint equals SHA-256 (computed by the openssl CLI) of canonical JSON built by Foundation.
    func testThumbprintOfGeneratedKeysIndependently() throws {
        for type in [KeyType.ec256, .ec384, .rsa2048] {
            let key = try PrivateKey.generate(type)
            let jwk = try key.publicJWK()
            let json = try JSONSerialization.data(withJSONObject: jwk, options: [.sortedKeys, .withoutEscapingSlashes])
            let hex = try OpenSSLCLI.succeed(["dgst", "-sha256", "-r"], stdin: Array(json)).stdout.prefix(64)
            XCTAssertEqual(Base64URL.decode(try key.jwkThumbprint())?.hex, String(hex), "\(type)")
            XCTAssertEqual(try JWK.canonicalJSON(jwk), String(decoding: json, as: UTF8.self))
        }
    }
}
