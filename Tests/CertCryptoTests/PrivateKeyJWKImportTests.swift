import ByteEncoding
import CertCrypto
import Foundation
import TestSupport
import XCTest

/// `PrivateKey(jwk:)` against keys written by an independent implementation (Python's `cryptography`, which certbot
/// uses for its `private_key.json`): the same key comes out as from its PEM, and broken JWKs are refused by member.
final class PrivateKeyJWKImportTests: XCTestCase {
    /// A key made by Python's `cryptography`: its private JWK (RFC 7518 §6) and its PKCS#8 PEM.
    func pythonKey(_ kind: String) throws -> (jwk: [String: String], pem: String) {
        let script = """
            import base64, json, sys
            from cryptography.hazmat.primitives.asymmetric import ec, rsa
            from cryptography.hazmat.primitives import serialization
            def b64(n, size=None):
                raw = n.to_bytes(size or (n.bit_length() + 7) // 8, "big")
                return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
            kind = sys.argv[1]
            if kind == "rsa":
                key = rsa.generate_private_key(65537, 2048)
                p = key.private_numbers()
                jwk = {"kty": "RSA", "n": b64(p.public_numbers.n), "e": b64(p.public_numbers.e), "d": b64(p.d), "p": b64(p.p),
                       "q": b64(p.q), "dp": b64(p.dmp1), "dq": b64(p.dmq1), "qi": b64(p.iqmp)}
            else:
                curve, size = (ec.SECP256R1(), 32) if kind == "p256" else (ec.SECP384R1(), 48)
                key = ec.generate_private_key(curve)
                p = key.private_numbers()
                jwk = {"kty": "EC", "crv": "P-256" if size == 32 else "P-384", "x": b64(p.public_numbers.x, size),
                       "y": b64(p.public_numbers.y, size), "d": b64(p.private_value, size)}
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
            print(json.dumps({"jwk": jwk, "pem": pem}))
            """
        let result = try Subprocess.run(["python3", "-c", script, kind])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        return (try XCTUnwrap(object["jwk"] as? [String: String]), try XCTUnwrap(object["pem"] as? String))
    }

    func testRSAAndECKeysReadAsTheSameKeyAsTheirPEM() throws {
        for (kind, type) in [("rsa", KeyType.rsa2048), ("p256", .ec256), ("p384", .ec384)] {
            let (jwk, pem) = try pythonKey(kind)
            let fromJWK = try PrivateKey(jwk: jwk)
            let fromPEM = try PrivateKey(pem: pem)
            XCTAssertEqual(fromJWK.type, type)
            XCTAssertEqual(try fromJWK.jwkThumbprint(), try fromPEM.jwkThumbprint(), kind)
            XCTAssertEqual(try fromJWK.pkcs8PEM(), try fromPEM.pkcs8PEM(), "\(kind): the private key itself is the same")
        }
    }

    func testBrokenJWKsAreRefusedNamingTheMember() throws {
        let (rsa, _) = try pythonKey("rsa")
        let (ec, _) = try pythonKey("p256")
        var otherEC = try pythonKey("p256").jwk
        otherEC["d"] = ec["d"]
        var swappedPrime = rsa
        swappedPrime["p"] = try pythonKey("rsa").jwk["p"]
        let cases: [([String: String], String)] = [
            (rsa.filter { $0.key != "qi" }, "it has no \"qi\" member"),
            (rsa.merging(["d": "not base64!"]) { $1 }, "its \"d\" member is not base64url"),
            (swappedPrime, "not"),
            (ec.merging(["crv": "P-521"]) { $1 }, "its curve \"crv\" is \"P-521\""),
            (ec.merging(["kty": "OKP"]) { $1 }, "its key type \"kty\" is \"OKP\""),
            (otherEC, "its numbers are not a consistent key pair"),
        ]
        for (jwk, expected) in cases {
            XCTAssertThrowsError(try PrivateKey(jwk: jwk), expected) { error in
                XCTAssertTrue("\(error)".hasPrefix("the JWK is not a usable private key: "), "\(error)")
                XCTAssertTrue("\(error)".contains(expected), "\(error) should contain \(expected)")
            }
        }
    }
}
