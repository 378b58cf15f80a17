import CertCrypto
import Foundation
import TestSupport
import XCTest

/// The admin's commands through the real binary against a real Pebble: init, status, renew, revoke.
final class AdminCommandTests: XCTestCase {
    func testInitIssuesAtOnceThenStatusRenewAndRevokeBehave() throws {
        let testbed = try Testbed()
        let webroot = try testbed.webroot(for: "first.test")
        let config = testbed.directory + "/etc/config.json"
        // The store beside the webroot, as a non-root user on a shared host would get by default.
        let store = (webroot as NSString).deletingLastPathComponent + "/certagent"
        let initialized = try runCommand(ProjectPaths.certagentBinary, [
            "init", "--config", config, "--domain", "first.test", "--domain", "www.first.test", "--webroot", webroot, "--storage", store,
            "--email", "admin@example.com", "--directory", testbed.directoryURL, "--ca-file", testbed.caFile, "--accept-terms-of-service", "--no-reload",
        ])
        XCTAssertEqual(initialized.status, 0, initialized.output)
        XCTAssertTrue(initialized.stdout.contains("✓ first.test: issued for first.test, www.first.test"), initialized.stdout)
        XCTAssertTrue(initialized.stdout.contains("systemctl enable --now certagent"), initialized.stdout)
        XCTAssertTrue(try String(contentsOfFile: config, encoding: .utf8).contains("\"storage\": \"\(store)\""), "init writes the store out")
        XCTAssertTrue(FileManager.default.fileExists(atPath: store + "/certificates/first.test/current/fullchain.pem"))

        // init on an existing config never replaces it (a name already there is an error), and a bad domain leaves no file.
        let again = try runCommand(ProjectPaths.certagentBinary, ["init", "--config", config, "--domain", "first.test", "--webroot", webroot, "--no-reload"])
        XCTAssertEqual(again.status, 2)
        XCTAssertTrue(again.stderr.contains("the certificate first.test is already in \(config)"), again.stderr)
        let badConfig = testbed.directory + "/etc/bad.json"
        let bad = try runCommand(ProjectPaths.certagentBinary, ["init", "--config", badConfig, "--domain", "bad_name", "--webroot", webroot])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("--domain bad_name: is not a fully qualified name"), "init names its flag: \(bad.stderr)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: badConfig))

        // status --json: healthy, with the next action planned from the certificate's lifetime.
        let status = try runCommand(ProjectPaths.certagentBinary, ["status", "--json", "--config", config])
        XCTAssertEqual(status.status, 0, status.output)
        let reports = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(reports.count, 1)
        XCTAssertEqual(reports[0]["healthy"] as? Bool, true)
        XCTAssertEqual(reports[0]["domains"] as? [String], ["first.test", "www.first.test"])
        XCTAssertEqual(reports[0]["nextAction"] as? String, "renewAt")
        XCTAssertEqual(reports[0]["nextActionReason"] as? String, "lifetimeThreshold")
        XCTAssertNotNil(reports[0]["nextActionAt"] as? String)

        // renew: nothing due; --force replaces it with a new certificate.
        let current = store + "/certificates/first.test/current/cert.pem"
        let serialBefore = try Certificate(pem: String(contentsOfFile: current, encoding: .utf8)).serialHex
        let notDue = try runCommand(ProjectPaths.certagentBinary, ["renew", "--config", config])
        XCTAssertEqual(notDue.status, 0, notDue.output)
        XCTAssertTrue(notDue.stdout.contains("first.test: not due"), notDue.stdout)
        let forced = try runCommand(ProjectPaths.certagentBinary, ["renew", "--force", "--config", config, "first.test"])
        XCTAssertEqual(forced.status, 0, forced.output)
        let serialAfter = try Certificate(pem: String(contentsOfFile: current, encoding: .utf8)).serialHex
        XCTAssertNotEqual(serialBefore, serialAfter)

        // revoke: Pebble records it, status shows it, and the next issue replaces it.
        let revoked = try runCommand(ProjectPaths.certagentBinary, ["revoke", "--yes", "--reason", "superseded", "--config", config, "first.test"])
        XCTAssertEqual(revoked.status, 0, revoked.output)
        XCTAssertTrue(revoked.stdout.contains("revoked (superseded)"), revoked.stdout)
        let afterRevoke = try runCommand(ProjectPaths.certagentBinary, ["status", "--config", config])
        XCTAssertTrue(afterRevoke.stdout.contains("revoked (superseded)"), afterRevoke.stdout)
        XCTAssertTrue(afterRevoke.stdout.contains("next          renews now: the certificate was revoked"), afterRevoke.stdout)
        let reissued = try runCommand(ProjectPaths.certagentBinary, ["issue", "--config", config])
        XCTAssertEqual(reissued.status, 0, reissued.output)
        XCTAssertNotEqual(try Certificate(pem: String(contentsOfFile: current, encoding: .utf8)).serialHex, serialAfter)
        XCTAssertEqual(filesBelow(webroot), [])
    }
}
