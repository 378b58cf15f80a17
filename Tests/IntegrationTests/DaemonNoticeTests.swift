import CertAgent
import CertCrypto
import Foundation
import TestSupport
import XCTest

/// The daemon notices what the commands did (issue 8 item 3): commands that change a certificate signal the daemon
/// whose PID its store records, and the daemon re-plans at once; a lost `current` link is linked again, never re-ordered;
/// a PID file that names anything but a certagent daemon is never signalled. Through the binary, against Pebble.
final class DaemonNoticeTests: XCTestCase {
    private func certagent(_ arguments: [String]) throws -> Subprocess.Result {
        try runCommand(ProjectPaths.certagentBinary, arguments)
    }

    private func serial(_ path: String) -> String? {
        (try? Certificate(pem: String(contentsOfFile: path, encoding: .utf8)))?.serialHex
    }

    private func startDaemon(_ testbed: Testbed, config: String) throws -> BackgroundProcess {
        try BackgroundProcess([ProjectPaths.certagentBinary, "run", "--config", config], outputPath: testbed.directory + "/daemon.log")
    }

    /// The renewal record of `name` as the daemon saved it.
    private func record(_ name: String, storage: String) throws -> RenewalRecord {
        RenewalRecordStore(store: try CertificateStore(root: storage, webroots: [], create: false)).load(name).record
    }

    func testRevokeRenewForceAndRollbackDuringRunAreNoticedAtOnce() throws {
        // Two-hour certificates: the daemon's own plan for each is about an hour ahead, well inside the test's reach.
        let testbed = try Testbed(options: ["--validity", "7200"])
        let storage = testbed.directory + "/store"
        let config = try testbed.writeConfig([["name": "shop", "domains": ["shop.test"], "webroot": try testbed.webroot(for: "shop.test")]],
                                             storage: storage)
        let current = storage + "/certificates/shop/current/cert.pem"
        let issued = try certagent(["issue", "--config", config])
        XCTAssertEqual(issued.status, 0, issued.output)
        XCTAssertTrue(issued.stdout.contains("no certagent daemon is running on this store: it looks at shop when it starts"), issued.stdout)
        let first = try XCTUnwrap(serial(current))

        let daemon = try startDaemon(testbed, config: config)
        XCTAssertTrue(eventually(timeout: 60) { daemon.output.contains("NOTICE started") }, daemon.output)
        XCTAssertEqual(try String(contentsOfFile: storage + "/daemon.pid", encoding: .utf8).split(separator: " ").first.map(String.init), "\(daemon.pid)")

        // Revoked while the daemon sleeps until the renewal time it planned: it renews within seconds, not an hour later.
        let revoked = try certagent(["revoke", "--yes", "--config", config, "shop"])
        XCTAssertEqual(revoked.status, 0, revoked.output)
        XCTAssertTrue(revoked.stdout.contains("the running daemon (pid \(daemon.pid)) will look at shop now"), revoked.stdout)
        XCTAssertEqual(try testbed.pebbleStatus(ofSerial: first), "Revoked")
        XCTAssertTrue(eventually(timeout: 90) { serial(current).map { $0 != first } ?? false }, "renewed by the daemon:\n\(daemon.output)")
        XCTAssertTrue(daemon.output.contains("a command changed certificates: looking at them again"), daemon.output)
        XCTAssertTrue(daemon.output.contains("[shop] renewing"), daemon.output)
        let renewedByDaemon = try XCTUnwrap(serial(current))
        XCTAssertTrue(eventually(timeout: 30) { daemon.output.contains("next: shop ") }, daemon.output)

        // renew --force: the daemon plans the new certificate, from its own lifetime, at once.
        var offset = daemon.output.count
        let forced = try certagent(["renew", "--force", "--config", config, "shop"])
        XCTAssertEqual(forced.status, 0, forced.output)
        XCTAssertTrue(forced.stdout.contains("the running daemon (pid \(daemon.pid)) will look at shop now"), forced.stdout)
        let second = try XCTUnwrap(serial(current))
        XCTAssertNotEqual(second, renewedByDaemon)
        XCTAssertTrue(eventually(timeout: 30) {
            guard let record = try? record("shop", storage: storage), record.chosenForSerial == second, let time = record.chosenRenewalTime else { return false }
            return String(daemon.output.dropFirst(offset)).contains("next: shop renews at \(CertificateStatus.format(time))")
        }, "the daemon planned the forced renewal's certificate: \(String(daemon.output.dropFirst(offset)))")

        // rollback: the daemon plans the restored certificate at once.
        offset = daemon.output.count
        let rolledBack = try certagent(["rollback", "--config", config, "shop"])
        XCTAssertEqual(rolledBack.status, 0, rolledBack.output)
        XCTAssertTrue(rolledBack.stdout.contains("the running daemon (pid \(daemon.pid)) will look at shop now"), rolledBack.stdout)
        XCTAssertFalse(rolledBack.stdout.contains("reload it"), rolledBack.stdout)
        XCTAssertEqual(serial(current), renewedByDaemon)
        XCTAssertTrue(eventually(timeout: 30) {
            guard let record = try? record("shop", storage: storage), record.chosenForSerial == renewedByDaemon,
                  let time = record.chosenRenewalTime else { return false }
            return String(daemon.output.dropFirst(offset)).contains("next: shop renews at \(CertificateStatus.format(time))")
        }, "the daemon planned the restored certificate: \(String(daemon.output.dropFirst(offset)))")
        XCTAssertEqual(serial(current), renewedByDaemon, "not renewed away")

        daemon.send(SIGTERM)
        XCTAssertEqual(daemon.waitForExit(timeout: 10), 0, daemon.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: storage + "/daemon.pid"), "removed when the daemon stops")
        let after = try certagent(["renew", "--force", "--config", config, "shop"])
        XCTAssertEqual(after.status, 0, after.output)
        XCTAssertTrue(after.stdout.contains("no certagent daemon is running on this store: it looks at shop when it starts"), after.stdout)
    }

    func testRequestsDuringARenewalInFlightStartNoSecondIssuance() throws {
        // Pebble's validation delay (0–5 s) keeps the daemon's order pending while the requests arrive.
        let testbed = try Testbed(options: ["--va-sleep"])
        let storage = testbed.directory + "/store"
        let webroot = try testbed.webroot(for: "busy.test")
        let config = try testbed.writeConfig([["name": "busy", "domains": ["busy.test"], "webroot": webroot]], storage: storage)
        XCTAssertEqual(try certagent(["issue", "--config", config]).status, 0)
        let first = try XCTUnwrap(serial(storage + "/certificates/busy/current/cert.pem"))
        let daemon = try startDaemon(testbed, config: config)
        XCTAssertTrue(eventually(timeout: 60) { daemon.output.contains("NOTICE started") }, daemon.output)

        XCTAssertEqual(try certagent(["revoke", "--yes", "--config", config, "busy"]).status, 0)
        XCTAssertTrue(eventually(timeout: 60) { !filesBelow(webroot + "/.well-known/acme-challenge").isEmpty }, daemon.output)
        for _ in 0..<20 {
            daemon.send(SIGUSR1)
            usleep(10_000)
        }
        XCTAssertTrue(eventually(timeout: 90) {
            serial(storage + "/certificates/busy/current/cert.pem").map { $0 != first } ?? false
        }, daemon.output)
        // Every request is handled (merged: at most one pass per signal), and the one issuance in flight stays the only one.
        XCTAssertTrue(eventually(timeout: 30) { daemon.output.components(separatedBy: "next: busy ").count - 1 >= 2 }, daemon.output)
        let passes = daemon.output.components(separatedBy: "looking at them again").count - 1
        XCTAssertTrue((2...21).contains(passes), "\(passes) passes:\n\(daemon.output)")
        XCTAssertEqual(daemon.output.components(separatedBy: "[busy] renewing").count - 1, 1, daemon.output)
        XCTAssertEqual(try testbed.ordersCreated(), 2, "the first issuance and one renewal:\n\(daemon.output)")
        daemon.send(SIGTERM)
        XCTAssertEqual(daemon.waitForExit(timeout: 10), 0, daemon.output)
    }

    func testInitAddingAndDeleteDuringRunMakeTheDaemonReloadItsConfig() throws {
        let testbed = try Testbed()
        let storage = testbed.directory + "/store"
        let config = try testbed.writeConfig([["name": "first", "domains": ["first.test"], "webroot": try testbed.webroot(for: "first.test")]],
                                             storage: storage)
        let daemon = try startDaemon(testbed, config: config)
        XCTAssertTrue(eventually(timeout: 90) { daemon.output.contains("next: first ") }, daemon.output)

        let added = try certagent(["init", "--config", config, "--domain", "second.test", "--webroot", try testbed.webroot(for: "second.test"), "--no-reload"])
        XCTAssertEqual(added.status, 0, added.output)
        XCTAssertTrue(added.stdout.contains("the running daemon (pid \(daemon.pid)) re-reads the config now and looks after second.test"), added.stdout)
        XCTAssertTrue(eventually(timeout: 30) { daemon.output.contains("config reloaded certificates=2") }, daemon.output)

        let deleted = try certagent(["delete", "--yes", "--config", config, "second.test"])
        XCTAssertEqual(deleted.status, 0, deleted.output)
        XCTAssertTrue(deleted.stdout.contains("the running daemon (pid \(daemon.pid)) re-reads the config now and stops renewing second.test"), deleted.stdout)
        XCTAssertTrue(eventually(timeout: 30) { daemon.output.contains("config reloaded certificates=1") }, daemon.output)
        daemon.send(SIGTERM)
        XCTAssertEqual(daemon.waitForExit(timeout: 10), 0, daemon.output)
        XCTAssertFalse(daemon.output.contains("[second.test] renewing"), "the daemon left it to init: \(daemon.output)")
    }

    func testAMissingCurrentLinkIsLinkedAgainWithoutAnOrder() throws {
        let testbed = try Testbed()
        let storage = testbed.directory + "/store"
        let config = try testbed.writeConfig([["name": "blog", "domains": ["blog.test"], "webroot": try testbed.webroot(for: "blog.test")]],
                                             storage: storage)
        let link = storage + "/certificates/blog/current"
        let issued = try certagent(["issue", "--config", config])
        XCTAssertEqual(issued.status, 0, issued.output)
        let original = try XCTUnwrap(serial(link + "/cert.pem"))
        let target = try FileManager.default.destinationOfSymbolicLink(atPath: link)
        XCTAssertEqual(try testbed.ordersCreated(), 1)

        // check and status say what will happen, and change nothing.
        XCTAssertEqual(unlink(link), 0)
        let status = try certagent(["status", "--config", config])
        XCTAssertTrue(status.stdout.contains("its current link is missing, but the stored version \((target as NSString).lastPathComponent) (certificate \(original)"),
                      status.output)
        XCTAssertFalse(status.stdout.contains("renew now"), "planned as the version on disk: \(status.stdout)")
        let check = try certagent(["check", "--config", config])
        XCTAssertTrue(check.stdout.contains("its current link is missing"), check.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: link))

        // A command links it again instead of ordering.
        let again = try certagent(["issue", "--config", config])
        XCTAssertEqual(again.status, 0, again.output)
        XCTAssertTrue(again.stderr.contains("the current link was missing: linked it again"), again.output)
        XCTAssertTrue(again.stdout.contains("✓ blog: already has a certificate"), again.output)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), target)

        // The daemon, at start and when asked while it runs.
        XCTAssertEqual(unlink(link), 0)
        let daemon = try startDaemon(testbed, config: config)
        XCTAssertTrue(eventually(timeout: 60) { daemon.output.contains("NOTICE started") }, daemon.output)
        XCTAssertTrue(daemon.output.contains("[blog] the current link was missing: linked it again to the stored version"), daemon.output)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), target)
        XCTAssertEqual(unlink(link), 0)
        daemon.send(SIGUSR1)
        XCTAssertTrue(eventually(timeout: 30) { (try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == target }, daemon.output)
        XCTAssertEqual(serial(link + "/cert.pem"), original)
        daemon.send(SIGTERM)
        XCTAssertEqual(daemon.waitForExit(timeout: 10), 0, daemon.output)
        XCTAssertEqual(try testbed.ordersCreated(), 1, "no order for a certificate on disk:\n\(daemon.output)")
    }

    func testAPIDFileNamingAnotherProcessIsNeverSignalled() throws {
        let testbed = try Testbed()
        let storage = testbed.directory + "/store"
        let config = try testbed.writeConfig([["name": "stale", "domains": ["stale.test"], "webroot": try testbed.webroot(for: "stale.test")]],
                                             storage: storage)
        XCTAssertEqual(try certagent(["issue", "--config", config]).status, 0)
        // A PID file naming a `sleep` this test started, with its true start time: only its name tells it apart.
        let sleeper = try BackgroundProcess(["sleep", "600"], outputPath: testbed.directory + "/sleep.log")
        XCTAssertTrue(eventually(timeout: 10) { (try? String(contentsOfFile: "/proc/\(sleeper.pid)/comm", encoding: .utf8)) == "sleep\n" })
        let stat = try String(contentsOfFile: "/proc/\(sleeper.pid)/stat", encoding: .utf8)
        let startTime = try XCTUnwrap(stat[stat.index(after: try XCTUnwrap(stat.lastIndex(of: ")")))...].split(separator: " ").dropFirst(19).first)
        try "\(sleeper.pid) \(startTime)\n".write(toFile: storage + "/daemon.pid", atomically: true, encoding: .utf8)

        let renewed = try certagent(["renew", "--force", "--config", config, "stale"])
        XCTAssertEqual(renewed.status, 0, renewed.output)
        XCTAssertTrue(renewed.stdout.contains("no certagent daemon is running on this store (pid \(sleeper.pid) in its PID file is not certagent (sleep))"),
                      renewed.stdout)
        XCTAssertNil(sleeper.waitForExit(timeout: 1), "the sleep was not signalled")

        // A PID file of a daemon that has ended: its PID is not looked up as anyone else's.
        try "\(sleeper.pid) 1\n".write(toFile: storage + "/daemon.pid", atomically: true, encoding: .utf8)
        let revoked = try certagent(["revoke", "--yes", "--config", config, "stale"])
        XCTAssertEqual(revoked.status, 0, revoked.output)
        XCTAssertTrue(revoked.stdout.contains("no certagent daemon is running on this store (pid \(sleeper.pid) in its PID file is another process now"),
                      revoked.stdout)
        XCTAssertNil(sleeper.waitForExit(timeout: 1), "the sleep was not signalled")
        sleeper.send(SIGTERM)
        XCTAssertNotNil(sleeper.waitForExit(timeout: 10))
    }
}
