import CertCrypto
import Foundation
import TestSupport
import XCTest

/// `reuseKey` and `renew --force --new-key` against a real Pebble, the keys compared with `openssl`.
final class KeyReuseIntegrationTests: XCTestCase {
    private func certagent(_ arguments: [String]) throws -> Subprocess.Result {
        try runCommand(ProjectPaths.certagentBinary, arguments)
    }

    /// The public key (SubjectPublicKeyInfo PEM) of the private key file, as `openssl pkey -pubout` writes it.
    private func publicKey(ofKeyAt path: String) throws -> String {
        let result = try runCommand("openssl", ["pkey", "-in", path, "-pubout"])
        XCTAssertEqual(result.status, 0, result.output)
        return result.stdout
    }

    /// The public key the certificate file carries (`openssl x509 -pubkey`).
    private func publicKey(ofCertificateAt path: String) throws -> String {
        let result = try runCommand("openssl", ["x509", "-in", path, "-noout", "-pubkey"])
        XCTAssertEqual(result.status, 0, result.output)
        return result.stdout
    }

    private func serial(ofCertificateAt path: String) throws -> String {
        try Certificate(pem: String(contentsOfFile: path, encoding: .utf8)).serialHex
    }

    func testReuseKeyKeepsTheKeyAcrossRenewalsNewKeyRotatesItAndTheDefaultIsANewKeyEachTime() throws {
        let testbed = try Testbed()
        let store = testbed.directory + "/store"
        let config = try testbed.writeConfig([
            ["name": "pinned.test", "domains": ["pinned.test"], "webroot": try testbed.webroot(for: "pinned.test"), "reuseKey": true],
            ["name": "plain.test", "domains": ["plain.test"], "webroot": try testbed.webroot(for: "plain.test")],
        ], storage: store)
        let pinned = store + "/certificates/pinned.test/current/"
        let plain = store + "/certificates/plain.test/current/"
        let check = try certagent(["check", "--config", config])
        XCTAssertTrue(check.stdout.contains("pinned.test: pinned.test [ec256, key reused]"), check.output)
        XCTAssertTrue(check.stdout.contains("plain.test: plain.test [ec256]"), check.output)

        let issued = try certagent(["issue", "--config", config])
        XCTAssertEqual(issued.status, 0, issued.output)
        var pinnedKeys = [try publicKey(ofKeyAt: pinned + "privkey.pem")]
        var pinnedSerials = [try serial(ofCertificateAt: pinned + "cert.pem")]
        var plainKeys = [try publicKey(ofKeyAt: plain + "privkey.pem")]

        // Two renewals: the pinned certificate keeps its key (new certificates, new serials); the other gets new keys.
        for _ in 0..<2 {
            let renewed = try certagent(["renew", "--force", "--config", config])
            XCTAssertEqual(renewed.status, 0, renewed.output)
            XCTAssertTrue(renewed.stdout.contains("private key   \(pinned)privkey.pem (the same key as before: reuseKey)"), renewed.stdout)
            XCTAssertTrue(renewed.stdout.contains("private key   \(plain)privkey.pem\n"), renewed.stdout)
            pinnedKeys.append(try publicKey(ofKeyAt: pinned + "privkey.pem"))
            pinnedSerials.append(try serial(ofCertificateAt: pinned + "cert.pem"))
            plainKeys.append(try publicKey(ofKeyAt: plain + "privkey.pem"))
            XCTAssertEqual(try publicKey(ofCertificateAt: pinned + "cert.pem"), pinnedKeys.last, "the certificate carries that key")
        }
        XCTAssertEqual(Set(pinnedKeys).count, 1, "one key across three certificates")
        let facts = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: pinned + "issuance.json"))) as? [String: Any]
        XCTAssertEqual(facts?["keyReused"] as? Bool, true, "the version records that its key was kept")
        XCTAssertEqual(Set(pinnedSerials).count, 3, "three certificates")
        XCTAssertEqual(Set(plainKeys).count, 3, "a new key each time by default")
        XCTAssertTrue(pinnedKeys[0].hasPrefix("-----BEGIN PUBLIC KEY-----"), pinnedKeys[0])

        // --new-key needs --force; with it the key is rotated deliberately, and kept from then on.
        let unforced = try certagent(["renew", "--new-key", "--config", config, "pinned.test"])
        XCTAssertEqual(unforced.status, 2, unforced.output)
        XCTAssertTrue(unforced.stderr.contains("--new-key needs --force"), unforced.stderr)
        let rotated = try certagent(["renew", "--force", "--new-key", "--verbose", "--config", config, "pinned.test"])
        XCTAssertEqual(rotated.status, 0, rotated.output)
        XCTAssertTrue(rotated.stderr.contains("making a new private key: a new key was asked for (--new-key)"), rotated.stderr)
        XCTAssertFalse(rotated.stdout.contains("the same key as before"), rotated.stdout)
        let rotatedKey = try publicKey(ofKeyAt: pinned + "privkey.pem")
        XCTAssertNotEqual(rotatedKey, pinnedKeys[0])
        XCTAssertEqual(try publicKey(ofCertificateAt: pinned + "cert.pem"), rotatedKey)
        let after = try certagent(["renew", "--force", "--config", config, "pinned.test"])
        XCTAssertEqual(after.status, 0, after.output)
        XCTAssertEqual(try publicKey(ofKeyAt: pinned + "privkey.pem"), rotatedKey)

        // A changed keyType cannot keep the key: a new one of the new type, and the log says why.
        let changed = try testbed.writeConfig([
            ["name": "pinned.test", "domains": ["pinned.test"], "webroot": try testbed.webroot(for: "pinned.test"), "reuseKey": true, "keyType": "rsa2048"],
        ], storage: store)
        let retyped = try certagent(["renew", "--force", "--verbose", "--config", changed, "pinned.test"])
        XCTAssertEqual(retyped.status, 0, retyped.output)
        XCTAssertTrue(retyped.stderr.contains("NOTICE [pinned.test] making a new private key: keyType changed from ec256 to rsa2048"), retyped.stderr)
        XCTAssertTrue(try publicKey(ofKeyAt: pinned + "privkey.pem") != rotatedKey)
        XCTAssertEqual(try PrivateKey(pem: String(contentsOfFile: pinned + "privkey.pem", encoding: .utf8)).type, .rsa2048)
    }
}
