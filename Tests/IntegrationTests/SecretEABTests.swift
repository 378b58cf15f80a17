import Foundation
import TestSupport
import XCTest

/// External account binding against a Pebble that requires it, with the HMAC key kept as a sealed secret.
final class SecretEABTests: XCTestCase {
    func testIssueNeedsEABThenWorksOnceTheHMACKeyIsSetAsASecret() throws {
        let testbed = try Testbed(eab: true)
        let kid = try XCTUnwrap(testbed.eabKeyID), hmacKey = try XCTUnwrap(testbed.eabKey)
        let webroot = try testbed.webroot(for: "eab.test")
        let storage = testbed.directory + "/store"
        let certificates: [[String: Any]] = [["name": "eab", "domains": ["eab.test", "www.eab.test"], "webroot": webroot]]

        // Without "eab" the CA refuses the account.
        let plain = try testbed.writeConfig(certificates, storage: storage)
        let refused = try certagent(["issue", "--config", plain])
        XCTAssertEqual(refused.status, 1, refused.output)
        XCTAssertTrue(refused.stderr.contains("externalAccountRequired"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("externalAccountBinding"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: storage + "/certificates/eab/current"))

        // With "eab" naming a secret not set yet: check names it (exit 2), and issue refuses to start.
        let withEAB = try testbed.writeConfig(certificates, storage: storage, extra: ["eab": ["kid": kid, "hmacKeySecret": "eab-hmac"]])
        let check = try certagent(["check", "--config", withEAB])
        XCTAssertEqual(check.status, 2, check.output)
        XCTAssertTrue(check.stderr.contains("the config uses the secret eab-hmac, which \(storage)/secrets.sealed does not hold"), check.stderr)
        XCTAssertFalse(check.stdout.contains("OK"), check.stdout)
        let early = try certagent(["issue", "--config", withEAB])
        XCTAssertNotEqual(early.status, 0, early.output)
        XCTAssertTrue(early.stderr.contains("eab-hmac"), early.stderr)

        let set = try certagent(["secret", "set", "eab-hmac", "--config", withEAB], input: hmacKey + "\n")
        XCTAssertEqual(set.status, 0, set.output)
        XCTAssertFalse(set.output.contains(hmacKey), "the HMAC key was printed")
        let checkAgain = try certagent(["check", "--config", withEAB])
        XCTAssertEqual(checkAgain.status, 0, checkAgain.output)
        XCTAssertTrue(checkAgain.stdout.contains("\(withEAB): OK"), checkAgain.stdout)

        let issued = try certagent(["issue", "--config", withEAB])
        XCTAssertEqual(issued.status, 0, issued.output)
        XCTAssertTrue(issued.stdout.contains("✓ eab: issued for eab.test, www.eab.test"), issued.stdout)
        XCTAssertFalse(issued.output.contains(hmacKey), "the HMAC key was printed")
        let current = storage + "/certificates/eab/current"
        let verify = try runCommand("/usr/bin/openssl", ["verify", "-CAfile", try testbed.rootFile(), "-untrusted", current + "/chain.pem", current + "/cert.pem"])
        XCTAssertEqual(verify.status, 0, verify.output)
        XCTAssertTrue(verify.stdout.contains(": OK"), verify.stdout)
    }
}
