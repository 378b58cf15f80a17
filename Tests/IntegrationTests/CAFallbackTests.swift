import Foundation
import TestSupport
import XCTest

extension Testbed {
    /// Stops this test bed's Pebble only (a CA that is down); nginx and dnsmasq keep serving.
    func stopPebble() throws {
        let result = try runCommand(ProjectPaths.root + "/scripts/testbed", ["stop-pebble", directory])
        XCTAssertEqual(result.status, 0, result.stderr)
    }

    /// Starts this test bed's Pebble again, on the same port with the same settings (a CA back after an outage).
    func startPebble() throws {
        let result = try runCommand(ProjectPaths.root + "/scripts/testbed", ["start-pebble", directory])
        XCTAssertEqual(result.status, 0, result.stderr)
    }

    /// Has this test bed's nginx serve `other`'s sites: both Pebbles then validate through the same webroots.
    func serveSites(of other: Testbed) throws {
        try FileManager.default.removeItem(atPath: sites)
        try FileManager.default.createSymbolicLink(atPath: sites, withDestinationPath: other.sites)
    }
}

/// A second CA when the first fails, against two real Pebbles (each with its own HTTPS trust file and issuing root)
/// validating through the same webroots: the first stopped → the certificate comes from the second; the first back →
/// the next renewal comes from it again.
final class CAFallbackTests: XCTestCase {
    func testASecondPebbleIssuesWhileTheFirstIsDownAndTheFirstIssuesAgainOnceBack() throws {
        let first = try Testbed()
        let second = try Testbed()
        try second.serveSites(of: first)
        let webroot = try first.webroot(for: "fallback.test")
        let storage = first.directory + "/store"
        let config = try first.writeConfig([["name": "web", "domains": ["fallback.test", "www.fallback.test"], "webroot": webroot]],
                                           storage: storage,
                                           extra: ["directory": [first.directoryURL, ["url": second.directoryURL, "caFile": second.caFile]],
                                                   "fallbackAfterFailures": 1])
        func certagent(_ arguments: [String]) throws -> Subprocess.Result {
            try runCommand(ProjectPaths.certagentBinary, arguments + ["--config", config])
        }
        func issuingCA() throws -> (url: String?, issuer: String?, text: String) {
            let json = try certagent(["status", "--json"])
            XCTAssertEqual(json.status, 0, json.stderr)
            let reports = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
            let text = try certagent(["status"])
            return (reports.first?["caDirectory"] as? String, reports.first?["issuer"] as? String, text.stdout)
        }
        /// openssl's verdict on the current certificate against `testbed`'s Pebble root.
        func verifies(against testbed: Testbed) throws -> Bool {
            let current = storage + "/certificates/web/current"
            let verify = try runCommand("/usr/bin/openssl", ["verify", "-CAfile", try testbed.rootFile(), "-untrusted", current + "/chain.pem",
                                                             current + "/cert.pem"])
            return verify.status == 0
        }

        let check = try certagent(["check"])
        XCTAssertEqual(check.status, 0, check.output)
        XCTAssertTrue(check.stdout.contains("    1. \(first.directoryURL) (primary, caFile \(first.caFile))"), check.stdout)
        XCTAssertTrue(check.stdout.contains("    2. \(second.directoryURL) (fallback, caFile \(second.caFile))"), check.stdout)

        let issued = try certagent(["issue"])
        XCTAssertEqual(issued.status, 0, issued.output)
        let fromFirst = try issuingCA()
        XCTAssertEqual(fromFirst.url, first.directoryURL)
        XCTAssertTrue(try verifies(against: first))

        // The first CA goes down: one failure there (fallbackAfterFailures 1), then the second CA issues.
        try first.stopPebble()
        let failed = try certagent(["renew", "--force", "web"])
        XCTAssertNotEqual(failed.status, 0, failed.output)
        let told = try certagent(["status"])
        XCTAssertTrue(told.stdout.contains("    next CA       the fallback CA \(second.directoryURL) (\(first.directoryURL) failed 1 time in a row)"),
                      told.stdout)
        let fallback = try certagent(["renew", "--force", "web"])
        XCTAssertEqual(fallback.status, 0, fallback.output)
        let fromSecond = try issuingCA()
        XCTAssertEqual(fromSecond.url, second.directoryURL)
        XCTAssertTrue(fromSecond.text.contains("    CA            \(second.directoryURL)"), fromSecond.text)
        XCTAssertTrue(try verifies(against: second), "the certificate chains to the second Pebble's root")
        XCTAssertNotEqual(fromSecond.issuer, fromFirst.issuer, "another CA's intermediate signed it")
        XCTAssertEqual(try second.ordersCreated(), 1)
        let accounts = try FileManager.default.contentsOfDirectory(atPath: storage + "/accounts")
        XCTAssertEqual(accounts.count, 2, "an account of its own at each CA: \(accounts)")

        // Revoking goes to the CA that issued the certificate: the second, while the first is still down.
        let revoked = try certagent(["revoke", "--yes", "web"])
        XCTAssertEqual(revoked.status, 0, revoked.output)
        XCTAssertTrue(try second.acmeRequests().contains("POST /revoke-cert"), "the second Pebble got the revocation")

        // The first CA is back: the next renewal goes to it again (a new account there: this Pebble forgot the old one).
        try first.startPebble()
        let back = try certagent(["renew", "--force", "web"])
        XCTAssertEqual(back.status, 0, back.output)
        XCTAssertEqual(try issuingCA().url, first.directoryURL)
        XCTAssertTrue(try verifies(against: first))
        XCTAssertEqual(try second.ordersCreated(), 1, "nothing more ordered from the second CA")

        // Revoking with the certificate's own key (no account) also goes to the CA that issued it.
        try first.stopPebble()
        XCTAssertNotEqual(try certagent(["renew", "--force", "web"]).status, 0)
        XCTAssertEqual(try certagent(["renew", "--force", "web"]).status, 0)
        XCTAssertEqual(try issuingCA().url, second.directoryURL)
        let ownKey = try certagent(["revoke", "--yes", "--with-certificate-key", "web"])
        XCTAssertEqual(ownKey.status, 0, ownKey.output)
        XCTAssertEqual(try second.acmeRequests().filter { $0 == "POST /revoke-cert" }.count, 2, "the second Pebble got both revocations")

        // Each CA's account is reachable by `--ca`: its position, or its directory URL.
        for choice in ["2", second.directoryURL] {
            let shown = try certagent(["account", "show", "--json", "--ca", choice])
            XCTAssertEqual(shown.status, 0, shown.output)
            let account = try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any]
            XCTAssertEqual(account?["directory"] as? String, second.directoryURL, shown.stdout)
            XCTAssertEqual(account?["exists"] as? Bool, true, shown.stdout)
        }
        let unknown = try certagent(["account", "show", "--ca", "3"])
        XCTAssertEqual(unknown.status, 2, unknown.output)
        XCTAssertTrue(unknown.stderr.contains("has no such CA (configured: 1. \(first.directoryURL), 2. \(second.directoryURL))"), unknown.stderr)
    }
}
