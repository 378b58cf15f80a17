@testable import CertAgent
import CertCrypto
import Foundation
import TestSupport
import XCTest

final class SecretRedactionTests: XCTestCase {
    func testRedactsValuesTheirEncodingsAndPEMBodies() throws {
        let eab = SecretsFixtures.eabKey
        let eabBase64URL = Data(eab).base64EncodedString().replacing("+", with: "-").replacing("/", with: "_").replacing("=", with: "")
        let pem = try PrivateKey.generate(.ec256).pkcs8PEM()
        let pemLines = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.map(String.init)
        let redaction = SecretRedaction(values: [SecretsFixtures.apiToken, SecretsFixtures.mailPassword, eab, Array("ab".utf8)], pems: [pem])

        XCTAssertEqual(redaction.redact("Authorization: Bearer dns-api-token-3f9a8b7c6d5e4f3a2b1c."),
                       "Authorization: Bearer [REDACTED].")
        XCTAssertEqual(redaction.redact("login pässwörd-💡-Ωmega \"quoted\" failed"), "login [REDACTED] failed",
                       "the password without its trailing newline")
        XCTAssertEqual(redaction.redact("eab hmac \(eabBase64URL) and hex \(eab.hex)"), "eab hmac [REDACTED] and hex [REDACTED]")
        XCTAssertEqual(redaction.redact("dump: \(pem)"), "dump: -----BEGIN PRIVATE KEY-----\n[REDACTED]\n-----END PRIVATE KEY-----\n")
        XCTAssertEqual(redaction.redact("line \(pemLines[0]) seen"), "line [REDACTED] seen")
        XCTAssertEqual(redaction.redact("token twice: dns-api-token-3f9a8b7c6d5e4f3a2b1c dns-api-token-3f9a8b7c6d5e4f3a2b1c"),
                       "token twice: [REDACTED] [REDACTED]")
        XCTAssertEqual(redaction.redact("nothing secret here, ab is too short to redact"),
                       "nothing secret here, ab is too short to redact")
        XCTAssertTrue(SecretRedaction(values: []).isEmpty)
    }

    func testBuiltFromTheSecretsFile() throws {
        let temp = try TemporaryDirectory()
        let file = try SecretsFile.open(path: temp.path("secrets.sealed"), masterKey: try SecretsFixtures.key(1))
        try file.set(name: "token", value: SecretsFixtures.apiToken)
        let redaction = try SecretRedaction(secretsFile: file)
        XCTAssertEqual(redaction.redact("x=dns-api-token-3f9a8b7c6d5e4f3a2b1c"), "x=[REDACTED]")
    }
}
