import CertCrypto
import Foundation
import TestSupport
import XCTest

/// `certagent revoke --with-certificate-key NAME` and `--certificate FILE --key FILE` against a real Pebble: signed with
/// the certificate's own key (RFC 8555 §7.6), no account needed; Pebble's management interface confirms each revocation.
final class CertificateKeyRevocationTests: XCTestCase {
    private func certagent(_ arguments: [String]) throws -> Subprocess.Result {
        try runCommand(ProjectPaths.certagentBinary, arguments)
    }

    private func serial(ofCertificateAt path: String) throws -> String {
        try Certificate(pem: String(contentsOfFile: path, encoding: .utf8)).serialHex
    }

    private func entry(_ site: String, _ testbed: Testbed, keyType: String = "ec256") throws -> [String: Any] {
        ["name": site, "domains": [site, "www." + site], "webroot": try testbed.webroot(for: site), "keyType": keyType]
    }

    func testRevokeWithTheCertificateKeyNeedsNoAccountAndTheStoreMarksIt() throws {
        let testbed = try Testbed()
        let store = testbed.directory + "/store"
        // P-384: the revocation is signed ES384.
        let config = try testbed.writeConfig([try entry("lost.test", testbed, keyType: "ec384")], storage: store)
        let issued = try certagent(["issue", "--config", config])
        XCTAssertEqual(issued.status, 0, issued.output)
        let serial = try serial(ofCertificateAt: store + "/certificates/lost.test/current/cert.pem")
        XCTAssertEqual(try testbed.pebbleStatus(ofSerial: serial), "Valid")

        // The account is lost: its key (and the master key that sealed it) are gone.
        try FileManager.default.removeItem(atPath: store + "/accounts")
        let masterKey = (config as NSString).deletingLastPathComponent + "/master.key"
        XCTAssertTrue(FileManager.default.fileExists(atPath: masterKey), "the master key sits beside the config")
        try FileManager.default.moveItem(atPath: masterKey, toPath: masterKey + ".aside")
        let accountRequestsBefore = try testbed.acmeRequests().filter { $0 == "POST /sign-me-up" }.count

        // Without --yes and a terminal: refused, nothing sent.
        let unconfirmed = try certagent(["revoke", "--with-certificate-key", "--config", config, "lost.test"])
        XCTAssertEqual(unconfirmed.status, 2, unconfirmed.output)
        XCTAssertEqual(try testbed.pebbleStatus(ofSerial: serial), "Valid")

        let revoked = try certagent(["revoke", "--with-certificate-key", "--reason", "keyCompromise", "--yes", "--config", config, "lost.test"])
        XCTAssertEqual(revoked.status, 0, revoked.output)
        XCTAssertTrue(revoked.stdout.contains("✓ lost.test: certificate \(serial) revoked (keyCompromise), signed with its own key"), revoked.stdout)
        XCTAssertEqual(try testbed.pebbleStatus(ofSerial: serial), "Revoked")
        let requests = try testbed.acmeRequests()
        XCTAssertEqual(requests.filter { $0 == "POST /sign-me-up" }.count, accountRequestsBefore, "no account was registered or looked up")
        XCTAssertEqual(requests.filter { $0 == "POST /revoke-cert" }.count, 1, "\(requests)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: store + "/accounts"), "no account key was made")
        XCTAssertFalse(FileManager.default.fileExists(atPath: masterKey), "no master key was made")
        try FileManager.default.moveItem(atPath: masterKey + ".aside", toPath: masterKey)   // the secrets need it from here on

        // The store knows: status shows it, the next issue replaces it (with a new key: the old one is compromised).
        let status = try certagent(["status", "--config", config])
        XCTAssertTrue(status.stdout.contains("revoked (keyCompromise)"), status.stdout)
        XCTAssertTrue(status.stdout.contains("renews now: the certificate was revoked"), status.stdout)
        let revokedKey = try PrivateKey(pem: String(contentsOfFile: store + "/certificates/lost.test/current/privkey.pem", encoding: .utf8))
        let reissued = try certagent(["issue", "--config", config])
        XCTAssertEqual(reissued.status, 0, reissued.output)
        let replacement = try Certificate(pem: String(contentsOfFile: store + "/certificates/lost.test/current/cert.pem", encoding: .utf8))
        XCTAssertNotEqual(replacement.serialHex, serial)
        XCTAssertFalse(replacement.matches(revokedKey))
    }

    func testACertificateFromAnotherStoreIsRevokedFromItsFilesAndMisuseIsRefused() throws {
        let testbed = try Testbed()
        // Issued by certagent into another store, then copied out.
        let otherConfig = try testbed.writeConfig([try entry("elsewhere.test", testbed), try entry("second.test", testbed),
                                                   try entry("rsa.test", testbed, keyType: "rsa2048")],
                                                  storage: testbed.directory + "/other-store")
        XCTAssertEqual(try certagent(["issue", "--config", otherConfig]).status, 0)
        let copied = testbed.directory + "/copied"
        try FileManager.default.createDirectory(atPath: copied, withIntermediateDirectories: true)
        for (site, file) in [("elsewhere.test", "fullchain.pem"), ("elsewhere.test", "privkey.pem"), ("second.test", "cert.pem"), ("second.test", "privkey.pem"),
                             ("rsa.test", "cert.pem"), ("rsa.test", "privkey.pem")] {
            try FileManager.default.copyItem(atPath: testbed.directory + "/other-store/certificates/\(site)/current/\(file)", toPath: "\(copied)/\(site)-\(file)")
        }
        let chain = copied + "/elsewhere.test-fullchain.pem"
        let key = copied + "/elsewhere.test-privkey.pem"
        let elsewhere = try serial(ofCertificateAt: chain)
        let second = try serial(ofCertificateAt: copied + "/second.test-cert.pem")
        let store = testbed.directory + "/store"
        let config = try testbed.writeConfig([try entry("mine.test", testbed)], storage: store)

        // Misuse: each a clear message, exit 2, nothing sent.
        func refused(_ arguments: [String], _ message: String, file: StaticString = #filePath, line: UInt = #line) throws {
            let result = try certagent(["revoke", "--yes", "--config", config] + arguments)
            XCTAssertEqual(result.status, 2, result.output, file: file, line: line)
            XCTAssertTrue(result.stderr.contains(message), result.stderr, file: file, line: line)
        }
        try refused(["--certificate", chain, "--key", copied + "/second.test-privkey.pem"],
                    "the private key in \(copied)/second.test-privkey.pem is not the key of the certificate in \(chain) (their public keys differ): nothing was sent to the CA")
        try refused(["--certificate", chain, "--key", key, "mine.test"], "give either a certificate's name (mine.test) or --certificate FILE --key FILE, not both")
        try refused(["--certificate", chain], "--certificate needs --key FILE")
        try refused(["--key", key], "--key needs --certificate FILE")
        try refused([], "name the certificate to revoke (or pass --certificate FILE --key FILE)")
        try refused(["--certificate", copied + "/missing.pem", "--key", key], "cannot read \(copied)/missing.pem: it does not exist")
        try refused(["--certificate", chain, "--key", copied], "cannot read \(copied): it is not a regular file")
        try refused(["--certificate", key, "--key", key], "\(key) holds no PEM certificate")
        try refused(["--certificate", chain, "--key", chain], "\(chain) holds no PEM private key CertAgent can use")
        XCTAssertEqual(try testbed.acmeRequests().filter { $0 == "POST /revoke-cert" }, [])
        XCTAssertEqual(try testbed.pebbleStatus(ofSerial: elsewhere), "Valid")

        // A whole chain file works (its first certificate is revoked); no store is created for it.
        let revoked = try certagent(["revoke", "--yes", "--reason", "cessationOfOperation", "--config", config, "--certificate", chain, "--key", key])
        XCTAssertEqual(revoked.status, 0, revoked.output)
        XCTAssertTrue(revoked.stdout.contains("✓ \(chain): certificate \(elsewhere) revoked (cessationOfOperation), signed with its own key"), revoked.stdout)
        XCTAssertEqual(try testbed.pebbleStatus(ofSerial: elsewhere), "Revoked")
        XCTAssertEqual(try testbed.pebbleStatus(ofSerial: second), "Valid", "only that one")
        XCTAssertFalse(FileManager.default.fileExists(atPath: store), "nothing was written to this config's store")

        // An RSA certificate: signed RS256.
        let rsa = try serial(ofCertificateAt: copied + "/rsa.test-cert.pem")
        let rsaRevoked = try certagent(["revoke", "--yes", "--config", config, "--certificate", copied + "/rsa.test-cert.pem", "--key", copied + "/rsa.test-privkey.pem"])
        XCTAssertEqual(rsaRevoked.status, 0, rsaRevoked.output)
        XCTAssertEqual(try testbed.pebbleStatus(ofSerial: rsa), "Revoked")

        // Revoking it again: the CA's answer, exit 1.
        let again = try certagent(["revoke", "--yes", "--config", config, "--certificate", chain, "--key", key])
        XCTAssertEqual(again.status, 1, again.output)
        XCTAssertTrue(again.stderr.contains("✗ \(chain): "), again.stderr)

        // --with-certificate-key on a store whose key no longer matches its certificate: refused before anything is sent.
        let version = testbed.directory + "/other-store/certificates/second.test/current"
        try FileManager.default.removeItem(atPath: version + "/privkey.pem")
        try FileManager.default.copyItem(atPath: key, toPath: version + "/privkey.pem")
        let mismatch = try certagent(["revoke", "--with-certificate-key", "--yes", "--config", otherConfig, "second.test"])
        XCTAssertEqual(mismatch.status, 2, mismatch.output)
        XCTAssertTrue(mismatch.stderr.contains("✗ second.test: the private key in "), mismatch.stderr)
        XCTAssertTrue(mismatch.stderr.contains("/privkey.pem is not the key of the certificate in "), mismatch.stderr)
        XCTAssertEqual(try testbed.pebbleStatus(ofSerial: second), "Valid")
    }
}
