import CertAgent
import CertCrypto
import Foundation
import TestSupport
import XCTest

/// `certagent run` against a real Pebble: started with nothing but its config, it issues, renews by itself,
/// deploys, reloads its config on SIGHUP, idles without CPU, and stops cleanly on SIGTERM.
final class DaemonTests: XCTestCase {
    private func startDaemon(_ testbed: Testbed, config: String, log: String) throws -> BackgroundProcess {
        try BackgroundProcess([ProjectPaths.certagentBinary, "run", "--config", config], outputPath: testbed.directory + "/" + log)
    }

    private func serial(_ path: String) -> String? {
        (try? Certificate(pem: String(contentsOfFile: path, encoding: .utf8)))?.serialHex
    }

    func testRenewsTwiceByItselfDeployingAndReloadingEachTimeDespiteNonceRejection() throws {
        // 30-second certificates: the lifetime rule renews at about half their life, so time itself drives renewals.
        let testbed = try Testbed(pebbleEnvironment: ["PEBBLE_WFE_NONCEREJECT": "50"], options: ["--validity", "30"])
        let webroot = try testbed.webroot(for: "live.test")
        let installed = testbed.directory + "/installed"
        try FileManager.default.createDirectory(atPath: installed, withIntermediateDirectories: true)
        let reloads = testbed.directory + "/reloads.log"
        let storage = testbed.directory + "/store"
        let config = try testbed.writeConfig([[
            "name": "live", "domains": ["live.test", "www.live.test"], "webroot": webroot,
            "install": ["directory": installed, "reload": ["/bin/sh", "-c", "echo \"$CERTAGENT_NAME $CERTAGENT_FULLCHAIN\" >> \(reloads)"]],
        ]], storage: storage, extra: ["minimumRenewalIntervalSeconds": 1])

        let daemon = try startDaemon(testbed, config: config, log: "daemon.log")
        let renewedTwice = eventually(timeout: 75) {
            ((try? String(contentsOfFile: reloads, encoding: .utf8)) ?? "").split(separator: "\n").count >= 3
        }
        XCTAssertTrue(renewedTwice, "issued once and renewed twice, each deployed and reloaded:\n\(daemon.output)")
        daemon.send(SIGTERM)
        XCTAssertEqual(daemon.waitForExit(timeout: 10), 0, daemon.output)

        let lines = try String(contentsOfFile: reloads, encoding: .utf8).split(separator: "\n")
        XCTAssertTrue(lines.allSatisfy { $0 == "live \(installed)/fullchain.pem" }, "\(lines)")
        XCTAssertGreaterThanOrEqual(try testbed.ordersCreated(), 3)
        // The deployed copy is the current certificate, with the modes asked for, and it verifies.
        XCTAssertEqual(serial(installed + "/cert.pem"), serial(storage + "/certificates/live/current/cert.pem"))
        XCTAssertEqual(fileMode(installed + "/privkey.pem"), 0o600)
        XCTAssertEqual(fileMode(installed + "/fullchain.pem"), 0o644)
        let verify = try runCommand("/usr/bin/openssl", ["verify", "-CAfile", try testbed.rootFile(), "-untrusted", installed + "/chain.pem", installed + "/cert.pem"])
        XCTAssertEqual(verify.status, 0, verify.output)
        XCTAssertNotEqual(serial(storage + "/certificates/live/previous/cert.pem"), serial(storage + "/certificates/live/current/cert.pem"))
        XCTAssertEqual(filesBelow(webroot), [], "no challenge file left")
        XCTAssertTrue(daemon.output.contains("renewing"), daemon.output)
        XCTAssertTrue(daemon.output.contains("stopped"), daemon.output)
    }

    func testIdleDaemonUsesNoCPUAndSIGHUPAddsCertificatesOrKeepsTheOldConfig() throws {
        let testbed = try Testbed()
        let first = try testbed.webroot(for: "one.test")
        let second = try testbed.webroot(for: "two.test")
        let storage = testbed.directory + "/store"
        let one: [String: Any] = ["name": "one", "domains": ["one.test"], "webroot": first]
        let config = try testbed.writeConfig([one], storage: storage)
        let daemon = try startDaemon(testbed, config: config, log: "daemon.log")
        XCTAssertTrue(eventually(timeout: 20) { FileManager.default.fileExists(atPath: storage + "/certificates/one/current/cert.pem") }, daemon.output)

        // Idle: the certificate is good for years; one timer is armed far ahead and nothing runs.
        usleep(1_000_000)
        let before = try XCTUnwrap(daemon.cpuTicks)
        usleep(10_000_000)
        let after = try XCTUnwrap(daemon.cpuTicks)
        XCTAssertLessThanOrEqual(after - before, 1, "CPU ticks used while idle for 10 s")

        // SIGHUP with a second certificate added: issued without a restart.
        let two: [String: Any] = ["name": "two", "domains": ["two.test"], "webroot": second]
        let updated = try JSONSerialization.data(withJSONObject: [
            "email": "admin@example.com", "acceptTermsOfService": true, "directory": testbed.directoryURL,
            "caFile": testbed.caFile, "storage": storage, "certificates": [one, two],
        ])
        try updated.write(to: URL(fileURLWithPath: config))
        daemon.send(SIGHUP)
        XCTAssertTrue(eventually(timeout: 20) { FileManager.default.fileExists(atPath: storage + "/certificates/two/current/cert.pem") }, daemon.output)

        // SIGHUP with a broken config: every problem logged, the running config kept, the daemon alive.
        try Data(#"{"certificates": [{"domains": ["bad domain"], "webroot": "relative"}]}"#.utf8).write(to: URL(fileURLWithPath: config))
        daemon.send(SIGHUP)
        XCTAssertTrue(eventually(timeout: 10) { daemon.output.contains("keeping the running one") }, daemon.output)
        XCTAssertTrue(daemon.output.contains("certificates[0].domains[0]"), daemon.output)
        XCTAssertTrue(daemon.output.contains("certificates[0].webroot"), daemon.output)
        XCTAssertNil(daemon.waitForExit(timeout: 0.5), "still running")
        daemon.send(SIGTERM)
        XCTAssertEqual(daemon.waitForExit(timeout: 10), 0, daemon.output)
    }

    func testSIGTERMMidOrderLeavesNoChallengeFileAndARestartFinishesTheJob() throws {
        // Pebble's validation delay (0–5 s) keeps the order pending while the challenge file is published.
        let testbed = try Testbed(options: ["--va-sleep"])
        let webroot = try testbed.webroot(for: "slow.test")
        let storage = testbed.directory + "/store"
        let config = try testbed.writeConfig([["name": "slow", "domains": ["slow.test", "www.slow.test"], "webroot": webroot]], storage: storage)
        let challenges = webroot + "/.well-known/acme-challenge"

        var daemon = try startDaemon(testbed, config: config, log: "first.log")
        XCTAssertTrue(eventually(timeout: 20) { !filesBelow(challenges).isEmpty }, daemon.output)
        let stopping = Date()
        daemon.send(SIGTERM)
        XCTAssertEqual(daemon.waitForExit(timeout: 10), 0, daemon.output)
        XCTAssertLessThan(Date().timeIntervalSince(stopping), 5, "stops within a few seconds")
        XCTAssertEqual(filesBelow(webroot), [], "the challenge files and the directories it made are gone")
        XCTAssertFalse(FileManager.default.fileExists(atPath: storage + "/certificates/slow/current"))

        daemon = try startDaemon(testbed, config: config, log: "second.log")
        XCTAssertTrue(eventually(timeout: 60) { FileManager.default.fileExists(atPath: storage + "/certificates/slow/current/cert.pem") }, daemon.output)
        daemon.send(SIGTERM)
        XCTAssertEqual(daemon.waitForExit(timeout: 10), 0, daemon.output)
        XCTAssertEqual(filesBelow(webroot), [])
    }
}

/// The daemon's conversation with systemd (`Type=notify`), with a test socket standing in for systemd's.
final class DaemonSystemdTests: XCTestCase {
    func testReadyStatusWatchdogAndStoppingReachTheNotifySocket() throws {
        let testbed = try Testbed()
        let webroot = try testbed.webroot(for: "notify.test")
        let storage = testbed.directory + "/store"
        let config = try testbed.writeConfig([["name": "notify", "domains": ["notify.test"], "webroot": webroot]], storage: storage)
        let socketPath = testbed.directory + "/notify.sock"
        let receiver = try DatagramReceiver(.path(socketPath))
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = socketPath
        environment["WATCHDOG_USEC"] = "400000"
        environment["JOURNAL_STREAM"] = "8:1234"
        let daemon = try BackgroundProcess([ProjectPaths.certagentBinary, "run", "--config", config],
                                           outputPath: testbed.directory + "/daemon.log", environment: environment)
        var messages: [String] = []
        let sawEverything = eventually(timeout: 20) {
            while !receiver.isEmpty(), let message = receiver.receive() { messages.append(message) }
            return messages.contains("READY=1") && messages.contains("WATCHDOG=1")
                && messages.contains { $0.hasPrefix("STATUS=1 of 1 certificates healthy") }
        }
        XCTAssertTrue(sawEverything, "\(messages)\n\(daemon.output)")
        // The watchdog keeps pinging every half interval (0.2 s) while the daemon idles.
        let pings = messages.filter { $0 == "WATCHDOG=1" }.count
        usleep(1_000_000)
        while !receiver.isEmpty(), let message = receiver.receive() { messages.append(message) }
        XCTAssertGreaterThanOrEqual(messages.filter { $0 == "WATCHDOG=1" }.count - pings, 3, "\(messages)")
        daemon.send(SIGTERM)
        XCTAssertEqual(daemon.waitForExit(timeout: 10), 0, daemon.output)
        while !receiver.isEmpty(), let message = receiver.receive() { messages.append(message) }
        XCTAssertTrue(messages.contains("STOPPING=1"), "\(messages)")
        // Under journald, each line carries a syslog priority prefix and the certificate's name leads.
        XCTAssertTrue(daemon.output.contains("<5>[notify] issued"), daemon.output)
        XCTAssertTrue(daemon.output.split(separator: "\n").allSatisfy { $0.hasPrefix("<") }, daemon.output)
    }
}
