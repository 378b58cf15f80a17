import CertAgent
import CertCrypto
import Foundation
import TestSupport
import XCTest

/// `certagent run` against a real Pebble: started with nothing but its config, it issues, renews by itself,
/// deploys, reloads its config on SIGHUP, idles without CPU, and stops cleanly on SIGTERM.
final class DaemonTests: XCTestCase {
    /// Starts `certagent run`; libdispatch's own complaints go to its output too (by default they go to syslog, which
    /// systemd's journal shows), so a test can see there are none.
    private func startDaemon(_ testbed: Testbed, config: String, log: String) throws -> BackgroundProcess {
        var environment = ProcessInfo.processInfo.environment
        environment["LIBDISPATCH_LOG"] = "stderr"
        return try BackgroundProcess([ProjectPaths.certagentBinary, "run", "--config", config], outputPath: testbed.directory + "/" + log,
                                     environment: environment)
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
        let renewedTwice = eventually(timeout: 180) {
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
        // The first issuance runs after start-up; its job ends with the line saying when the certificate is looked at next.
        XCTAssertTrue(eventually(timeout: 90) { daemon.output.contains("next: one renews at ") }, daemon.output)
        // At start it said what it would do first, in words (not only in systemd's STATUS), and the time in one format.
        XCTAssertTrue(daemon.output.contains("NOTICE next: one gets its first certificate now"), daemon.output)
        XCTAssertTrue(daemon.output.contains("NOTICE [one] issuing the first certificate"), daemon.output)
        XCTAssertFalse(daemon.output.contains("+0000"), daemon.output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: storage + "/certificates/one/current/cert.pem"), daemon.output)

        // Idle: the certificate is good for years; one timer is armed far ahead and nothing of CertAgent's runs. Counted:
        // CPU time, and wake-ups of its threads. libdispatch itself wakes its manager thread once a second on Linux (its
        // worker-pool monitor), so up to two wake-ups a second are allowed; any polling of CertAgent's would show above it.
        let ticksBefore = try XCTUnwrap(daemon.cpuTicks)
        let switchesBefore = daemon.threadSwitches
        usleep(10_000_000)
        let ticksAfter = try XCTUnwrap(daemon.cpuTicks)
        let switchesAfter = daemon.threadSwitches
        XCTAssertLessThanOrEqual(ticksAfter - ticksBefore, 1, "CPU ticks used while idle for 10 s:\n\(daemon.output)")
        let wakeUps = BackgroundProcess.wakeUps(from: switchesBefore, to: switchesAfter)
        XCTAssertLessThanOrEqual(wakeUps, 20, "thread wake-ups while idle for 10 s: \(switchesBefore) → \(switchesAfter)")
        XCTAssertTrue(Set(switchesAfter.keys).isSubset(of: switchesBefore.keys), "no thread started while idle: \(switchesBefore.keys) → \(switchesAfter.keys)")
        // Every Dispatch source got its handler before it was activated (else: "dispatch source activated with no
        // event handler set", as seen under a real systemd).
        XCTAssertFalse(daemon.output.contains("libdispatch client"), daemon.output)

        // SIGHUP with a second certificate added: issued without a restart.
        let two: [String: Any] = ["name": "two", "domains": ["two.test"], "webroot": second]
        let updated = try JSONSerialization.data(withJSONObject: [
            "email": "admin@example.com", "acceptTermsOfService": true, "directory": testbed.directoryURL,
            "caFile": testbed.caFile, "storage": storage, "certificates": [one, two],
        ])
        try updated.write(to: URL(fileURLWithPath: config))
        daemon.send(SIGHUP)
        XCTAssertTrue(eventually(timeout: 90) { daemon.output.contains("next: two renews at ") }, daemon.output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: storage + "/certificates/two/current/cert.pem"), daemon.output)

        // SIGHUP with a broken config: every problem logged, the running config kept, the daemon alive.
        try Data(#"{"certificates": [{"domains": ["bad domain"], "webroot": "relative"}]}"#.utf8).write(to: URL(fileURLWithPath: config))
        daemon.send(SIGHUP)
        XCTAssertTrue(eventually(timeout: 60) { daemon.output.contains("keeping the running one") }, daemon.output)
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
        XCTAssertTrue(eventually(timeout: 60) { !filesBelow(challenges).isEmpty }, daemon.output)
        let stopping = Date()
        daemon.send(SIGTERM)
        XCTAssertEqual(daemon.waitForExit(timeout: 10), 0, daemon.output)
        XCTAssertLessThan(Date().timeIntervalSince(stopping), 5, "stops within a few seconds")
        XCTAssertEqual(filesBelow(webroot), [], "the challenge files and the directories it made are gone")
        XCTAssertFalse(FileManager.default.fileExists(atPath: storage + "/certificates/slow/current"))

        daemon = try startDaemon(testbed, config: config, log: "second.log")
        XCTAssertTrue(eventually(timeout: 120) { FileManager.default.fileExists(atPath: storage + "/certificates/slow/current/cert.pem") }, daemon.output)
        daemon.send(SIGTERM)
        XCTAssertEqual(daemon.waitForExit(timeout: 10), 0, daemon.output)
        XCTAssertEqual(filesBelow(webroot), [])
    }
}

/// The daemon's conversation with systemd (`Type=notify`), with a test socket standing in for systemd's.
final class DaemonSystemdTests: XCTestCase {
    func testReadyComesOnlyOnceTheStartUpWorkIsDone() throws {
        let testbed = try Testbed()
        let webroot = try testbed.webroot(for: "ready.test")
        let storage = testbed.directory + "/store"
        let certificate: [String: Any] = ["name": "ready", "domains": ["ready.test"], "webroot": webroot]
        let issued = try runCommand(ProjectPaths.certagentBinary, ["issue", "--config", try testbed.writeConfig([certificate], storage: storage)])
        XCTAssertEqual(issued.status, 0, issued.output)
        // What a killed run left: a published token listed in the journal, and an order marked in flight.
        let store = try CertificateStore(root: storage, webroots: [webroot])
        let challenges = webroot + "/.well-known/acme-challenge"
        try FileManager.default.createDirectory(atPath: challenges, withIntermediateDirectories: true)
        let leftover = challenges + "/token_left-by-a-killed-run"
        try "x".write(toFile: leftover, atomically: false, encoding: .utf8)
        try (leftover + "\n").write(toFile: store.challengeJournal("ready"), atomically: true, encoding: .utf8)
        var record = RenewalRecordStore(store: store).load("ready").record
        record.inFlightSince = Date()
        try RenewalRecordStore(store: store).save(record, for: "ready")
        // And an install block added since the certificate was issued: deployed at start.
        let installed = testbed.directory + "/installed"
        try FileManager.default.createDirectory(atPath: installed, withIntermediateDirectories: true)
        var withInstall = certificate
        withInstall["install"] = ["directory": installed]
        let config = try testbed.writeConfig([withInstall], storage: storage)

        let receiver = try DatagramReceiver(.path(testbed.directory + "/notify.sock"))
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = testbed.directory + "/notify.sock"
        let daemon = try BackgroundProcess([ProjectPaths.certagentBinary, "run", "--config", config],
                                           outputPath: testbed.directory + "/daemon.log", environment: environment)
        var messages: [String] = []
        let ready = eventually(timeout: 60) {
            while !receiver.isEmpty(), let message = receiver.receive() { messages.append(message) }
            return messages.contains("READY=1")
        }
        // Looked at as soon as READY=1 arrived: every piece of start-up work is already done.
        XCTAssertTrue(ready, "\(messages)\n\(daemon.output)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: installed + "/fullchain.pem"), "deployed at start: \(daemon.output)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: leftover), "the killed run's token is gone: \(daemon.output)")
        XCTAssertNil(RenewalRecordStore(store: store).load("ready").record.inFlightSince, "the abandoned order is forgotten")
        XCTAssertTrue(daemon.output.contains("NOTICE started"), daemon.output)
        let readyAt = try XCTUnwrap(messages.firstIndex(of: "READY=1"))
        XCTAssertTrue(messages[..<readyAt].contains { $0.hasPrefix("STATUS=1 of 1 certificates healthy; next: ready at ") },
                      "the status is known before READY: \(messages)")
        daemon.send(SIGTERM)
        XCTAssertEqual(daemon.waitForExit(timeout: 10), 0, daemon.output)
    }

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
        let sawEverything = eventually(timeout: 90) {
            while !receiver.isEmpty(), let message = receiver.receive() { messages.append(message) }
            return messages.contains("READY=1") && messages.contains("WATCHDOG=1")
                && messages.contains { $0.hasPrefix("STATUS=1 of 1 certificates healthy") }
        }
        XCTAssertTrue(sawEverything, "\(messages)\n\(daemon.output)")
        // The watchdog keeps pinging (every half interval, 0.2 s) while the daemon idles: counted, not timed.
        let pings = messages.filter { $0 == "WATCHDOG=1" }.count
        let keptPinging = eventually(timeout: 30) {
            while !receiver.isEmpty(), let message = receiver.receive() { messages.append(message) }
            return messages.filter { $0 == "WATCHDOG=1" }.count - pings >= 3
        }
        XCTAssertTrue(keptPinging, "\(messages)")
        daemon.send(SIGTERM)
        XCTAssertEqual(daemon.waitForExit(timeout: 10), 0, daemon.output)
        while !receiver.isEmpty(), let message = receiver.receive() { messages.append(message) }
        XCTAssertTrue(messages.contains("STOPPING=1"), "\(messages)")
        // Under journald, each line carries a syslog priority prefix and the certificate's name leads.
        XCTAssertTrue(daemon.output.contains("<5>[notify] issued"), daemon.output)
        XCTAssertTrue(daemon.output.split(separator: "\n").allSatisfy { $0.hasPrefix("<") }, daemon.output)
    }

}
