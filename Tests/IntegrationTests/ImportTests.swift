import CertCrypto
import Foundation
import TestSupport
import XCTest

/// `certagent import` against the real clients: Debian's certbot and lego get a certificate from Pebble through a
/// webroot nginx serves, CertAgent takes it over (the same bytes, the same key, the same account), and a forced
/// renewal goes out with the imported account — Pebble registers no account for it.
final class ImportTests: XCTestCase {
    private func certagent(_ arguments: [String]) throws -> Subprocess.Result {
        try runCommand(ProjectPaths.certagentBinary, arguments)
    }

    /// How many accounts Pebble has registered so far (it logs "There are now N accounts in memory" for each).
    private func accountsRegistered(_ testbed: Testbed) throws -> Int {
        try String(contentsOfFile: testbed.values["TESTBED_PEBBLE_LOG"]!, encoding: .utf8).components(separatedBy: "accounts in memory").count - 1
    }

    /// The public key (SubjectPublicKeyInfo PEM) of the private key file, as `openssl pkey -pubout` writes it.
    private func publicKey(ofKeyAt path: String) throws -> String {
        let result = try runCommand("openssl", ["pkey", "-in", path, "-pubout"])
        XCTAssertEqual(result.status, 0, result.output)
        return result.stdout
    }

    private func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    func testCertbotCertificateIsTakenOverAndRenewedWithItsAccountAndKey() throws {
        let testbed = try Testbed()
        let webroot = try testbed.webroot(for: "certbot.test")
        let certbot = testbed.directory + "/certbot"
        var environment = ProcessInfo.processInfo.environment
        environment["REQUESTS_CA_BUNDLE"] = testbed.caFile
        let issued = try runCommand("certbot", [
            "certonly", "--non-interactive", "--agree-tos", "--email", "admin@example.com", "--server", testbed.directoryURL,
            "--config-dir", certbot + "/config", "--work-dir", certbot + "/work", "--logs-dir", certbot + "/logs",
            "--webroot", "--webroot-path", webroot, "--domain", "certbot.test", "--domain", "www.certbot.test",
            "--key-type", "ecdsa", "--reuse-key"], environment: environment)
        XCTAssertEqual(issued.status, 0, issued.output)
        let live = certbot + "/config/live/certbot.test/"
        let accounts = try accountsRegistered(testbed)
        XCTAssertEqual(accounts, 1, "certbot registered its account")

        let config = testbed.directory + "/certagent/config.json"
        let store = testbed.directory + "/certagent/store"
        let common = [certbot + "/config", "--config", config, "--storage", store, "--ca-file", testbed.caFile, "--no-reload"]
        let planned = try certagent(["import", "certbot"] + common + ["--dry-run"])
        XCTAssertEqual(planned.status, 0, planned.output)
        XCTAssertTrue(planned.stdout.contains("Would import from certbot (\(certbot)/config) into a new config \(config)"), planned.stdout)
        XCTAssertTrue(planned.stdout.contains("certificate certbot.test: certbot.test, www.certbot.test; ec256 (reuseKey);"), planned.stdout)
        XCTAssertTrue(planned.stdout.contains("Nothing was written (--dry-run)."), planned.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: testbed.directory + "/certagent"), "--dry-run writes nothing")

        let imported = try certagent(["import", "certbot"] + common)
        XCTAssertEqual(imported.status, 0, imported.output)
        XCTAssertTrue(imported.stdout.contains("systemctl disable --now certbot.timer"), imported.stdout)
        let current = store + "/certificates/certbot.test/current/"
        for file in ["cert.pem", "chain.pem", "fullchain.pem"] {
            XCTAssertEqual(try bytes(current + file), try bytes(live + file), "\(file): the imported certificate, byte for byte")
        }
        XCTAssertEqual(try publicKey(ofKeyAt: current + "privkey.pem"), try publicKey(ofKeyAt: live + "privkey.pem"), "the same key")
        let importedSerial = try Certificate(pem: String(contentsOfFile: current + "cert.pem", encoding: .utf8)).serialHex
        let check = try certagent(["check", "--config", config])
        XCTAssertEqual(check.status, 0, check.output)
        XCTAssertTrue(check.stdout.contains("certbot.test: certbot.test, www.certbot.test [ec256, key reused]"), check.output)

        let renewed = try certagent(["renew", "--force", "certbot.test", "--config", config])
        XCTAssertEqual(renewed.status, 0, renewed.output)
        XCTAssertEqual(try accountsRegistered(testbed), accounts, "renewed with certbot's account: Pebble registered none")
        XCTAssertNotEqual(try Certificate(pem: String(contentsOfFile: current + "cert.pem", encoding: .utf8)).serialHex, importedSerial)
        XCTAssertEqual(try publicKey(ofKeyAt: current + "privkey.pem"), try publicKey(ofKeyAt: live + "privkey.pem"),
                       "certbot's reuse_key became reuseKey: the renewal keeps the key")
    }

    func testLegoCertificateIsTakenOverAndRenewedWithItsAccountAndANewKey() throws {
        let testbed = try Testbed()
        let webroot = try testbed.webroot(for: "lego.test")
        let lego = testbed.directory + "/lego"
        var environment = ProcessInfo.processInfo.environment
        environment["LEGO_CA_CERTIFICATES"] = testbed.caFile
        let issued = try runCommand("lego", [
            "--accept-tos", "--email", "admin@example.com", "--server", testbed.directoryURL, "--path", lego,
            "--http", "--http.webroot", webroot, "--domains", "lego.test", "run"], environment: environment)
        XCTAssertEqual(issued.status, 0, issued.output)
        let accounts = try accountsRegistered(testbed)
        XCTAssertEqual(accounts, 1, "lego registered its account")

        let config = testbed.directory + "/certagent/config.json"
        let store = testbed.directory + "/certagent/store"
        let common = [lego, "--config", config, "--storage", store, "--ca-file", testbed.caFile, "--no-reload"]
        let withoutServer = try certagent(["import", "lego"] + common + ["--webroot", webroot])
        XCTAssertEqual(withoutServer.status, 2, withoutServer.output)
        XCTAssertTrue(withoutServer.stderr.contains("lego keeps only the server's host, not its directory URL: pass --server"), withoutServer.stderr)
        let withoutWebroot = try certagent(["import", "lego"] + common + ["--server", testbed.directoryURL])
        XCTAssertEqual(withoutWebroot.status, 1, withoutWebroot.output)
        XCTAssertTrue(withoutWebroot.stdout.contains("lego.test (lego.test): lego does not record how it validated"), withoutWebroot.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: testbed.directory + "/certagent"), "nothing written")

        let imported = try certagent(["import", "lego"] + common + ["--server", testbed.directoryURL, "--webroot", webroot])
        XCTAssertEqual(imported.status, 0, imported.output)
        let current = store + "/certificates/lego.test/current/"
        XCTAssertEqual(try bytes(current + "fullchain.pem"), try bytes(lego + "/certificates/lego.test.crt"), "lego's bundle, byte for byte")
        XCTAssertEqual(try bytes(current + "chain.pem"), try bytes(lego + "/certificates/lego.test.issuer.crt"))
        let legoKey = try publicKey(ofKeyAt: lego + "/certificates/lego.test.key")
        XCTAssertEqual(try publicKey(ofKeyAt: current + "privkey.pem"), legoKey, "the same key")

        let renewed = try certagent(["renew", "--force", "lego.test", "--config", config])
        XCTAssertEqual(renewed.status, 0, renewed.output)
        XCTAssertEqual(try accountsRegistered(testbed), accounts, "renewed with lego's account: Pebble registered none")
        XCTAssertNotEqual(try publicKey(ofKeyAt: current + "privkey.pem"), legoKey, "no reuseKey: a new key, as for every renewal")
    }
}
