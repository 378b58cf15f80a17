import Foundation
import TestSupport
import XCTest

/// "A stop is a stop": against a CA that never answers, Ctrl-C and SIGTERM end `issue`, `renew` and the daemon within
/// a few seconds (it used to take 57–117 s), say the work was interrupted, exit non-zero from a command, and leave no
/// challenge file; and without a signal, one pass waits on the silent CA once, not once per request.
final class StopTests: XCTestCase {
    /// The `*.test` names these tests order exist nowhere: the binaries skip the pre-flight check (as under a `Testbed`),
    /// whether or not a test that ran earlier set it.
    override func setUp() {
        super.setUp()
        setenv(Testbed.skipPreflightVariable, "1", 1)
    }

    private struct Stopped {
        var status: Int32?
        var seconds: TimeInterval
        var output: String
    }

    /// Starts `certagent ARGUMENTS`, waits until `ca` holds one more connection (or request) than before, sends
    /// `signal`, and waits for the process to end.
    private func interrupt(_ arguments: [String], ca: UnresponsiveCA, signal: Int32, marker: String = "ACCEPTED",
                           log: String) throws -> Stopped {
        let before = ca.log.components(separatedBy: marker).count
        let process = try BackgroundProcess([ProjectPaths.certagentBinary] + arguments, outputPath: log)
        let holding = eventually(timeout: 60) { ca.log.components(separatedBy: marker).count > before }
        XCTAssertTrue(holding, "the CA holds a request of `certagent \(arguments.joined(separator: " "))`: \(process.output)")
        usleep(300_000)   // the request is sent and waiting
        XCTAssertNil(process.waitForExit(timeout: 0), "still waiting on the CA when signalled: \(process.output)")
        let sent = Date()
        process.send(signal)
        let status = process.waitForExit(timeout: 30)
        return Stopped(status: status, seconds: Date().timeIntervalSince(sent), output: process.output)
    }

    func testIssueAndForcedRenewStopWithinSecondsOnCtrlCAndSIGTERMWhateverTheSilentCADoes() throws {
        for mode in [UnresponsiveCA.Mode.silentAfterHandshake, .silent] {
            let ca = try UnresponsiveCA(mode)
            let scratch = try TemporaryDirectory()
            let webroots = scratch.path("sites")
            let config = try ca.writeConfig(certificates: [(name: "site", domain: "site.test"), (name: "other", domain: "other.test")],
                                            webroots: webroots, storage: scratch.path("store"))
            for command in [["issue"], ["renew", "--force"]] {
                for (signal, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
                    let what = "\(mode) \(command.joined(separator: " ")) \(name)"
                    let stopped = try interrupt(command + ["--config", config], ca: ca, signal: signal,
                                                log: scratch.path("\(command[0])-\(name).log"))
                    XCTAssertEqual(stopped.status, 128 + signal, "\(what): exit status says it was interrupted\n\(stopped.output)")
                    XCTAssertLessThan(stopped.seconds, 5, "\(what): stopped within seconds\n\(stopped.output)")
                    XCTAssertTrue(stopped.output.contains("✗ interrupted by \(name)"), "\(what)\n\(stopped.output)")
                    // The signal came while connecting to the CA, before any certificate's own work.
                    XCTAssertTrue(stopped.output.contains("site, other not started"), "\(what)\n\(stopped.output)")
                    XCTAssertFalse(stopped.output.contains("not due"), "\(what): an interrupted decision is not 'not due'\n\(stopped.output)")
                    XCTAssertFalse(stopped.output.contains("✓"), "\(what)\n\(stopped.output)")
                    XCTAssertEqual(filesBelow(webroots).sorted(), ["other", "site"], "\(what): nothing in the webroots")
                }
            }
        }
    }

    func testInitStopsWithinSecondsOnSIGTERMAndLeavesNoConfigBehind() throws {
        let ca = try UnresponsiveCA(.silentAfterHandshake)
        let scratch = try TemporaryDirectory()
        let webroot = try scratch.make("site")
        let config = scratch.path("etc/config.json")
        let stopped = try interrupt(["init", "--config", config, "--domain", "site.test", "--webroot", webroot, "--directory", ca.directoryURL,
                                     "--ca-file", ca.caFile, "--storage", scratch.path("store"), "--email", "admin@example.com",
                                     "--accept-terms-of-service"], ca: ca, signal: SIGTERM, log: scratch.path("init.log"))
        XCTAssertEqual(stopped.status, 128 + SIGTERM, stopped.output)
        XCTAssertLessThan(stopped.seconds, 5, stopped.output)
        XCTAssertTrue(stopped.output.contains("✗ interrupted by SIGTERM: site.test not started"), stopped.output)
        XCTAssertFalse(stopped.output.contains("Next:"), "no 'how to enable the daemon' after an interruption\n\(stopped.output)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: config), "an init that got no certificate leaves no config: running it again just works")
        XCTAssertTrue(stopped.output.contains("Nothing was kept (\(config) was removed)."), stopped.output)
        XCTAssertEqual(filesBelow(webroot), [])
    }

    func testDaemonStopIsNotHeldUpByAReloadWaitingOnTheCA() throws {
        let ca = try UnresponsiveCA(.silentAfterHandshake)
        let scratch = try TemporaryDirectory()
        let config = try ca.writeConfig(certificates: [(name: "site", domain: "site.test")], webroots: scratch.path("sites"),
                                        storage: scratch.path("store"))
        let daemon = try BackgroundProcess([ProjectPaths.certagentBinary, "run", "--config", config], outputPath: scratch.path("daemon.log"))
        XCTAssertTrue(ca.waitUntilHolding(), daemon.output)
        daemon.send(SIGHUP)
        // The reload connects again (a new session) and waits on the silent CA too.
        XCTAssertTrue(eventually(timeout: 20) { ca.log.components(separatedBy: "ACCEPTED").count - 1 >= 2 }, ca.log + daemon.output)
        usleep(300_000)
        let sent = Date()
        daemon.send(SIGTERM)
        XCTAssertEqual(daemon.waitForExit(timeout: 30), 0, daemon.output)
        XCTAssertLessThan(Date().timeIntervalSince(sent), 5, daemon.output)
        XCTAssertTrue(daemon.output.contains("stopped"), daemon.output)
        XCTAssertEqual(filesBelow(scratch.path("sites/site")), [])
    }

    func testIssueAndRenewInterruptedMidOrderRemoveTheChallengeFileTheyPublished() throws {
        let ca = try UnresponsiveCA(.hangsAtChallenge(domain: "hang.test"))
        let scratch = try TemporaryDirectory()
        let webroots = scratch.path("sites")
        let config = try ca.writeConfig(certificates: [(name: "hang", domain: "hang.test")], webroots: webroots, storage: scratch.path("store"))
        let challenges = webroots + "/hang/.well-known/acme-challenge"
        for (command, signal, name) in [(["issue"], SIGINT, "SIGINT"), (["renew", "--force"], SIGTERM, "SIGTERM")] {
            let before = ca.log.components(separatedBy: "HANG /chal/1").count
            let process = try BackgroundProcess([ProjectPaths.certagentBinary] + command + ["--config", config],
                                                outputPath: scratch.path("\(command[0]).log"))
            XCTAssertTrue(eventually(timeout: 60) { ca.log.components(separatedBy: "HANG /chal/1").count > before }, process.output)
            XCTAssertEqual(filesBelow(challenges).count, 1, "the challenge file is published while the CA holds the challenge POST")
            let sent = Date()
            process.send(signal)
            XCTAssertEqual(process.waitForExit(timeout: 30), 128 + signal, process.output)
            XCTAssertLessThan(Date().timeIntervalSince(sent), 5, process.output)
            XCTAssertTrue(process.output.contains("✗ interrupted by \(name)"), process.output)
            XCTAssertTrue(process.output.contains("hang not finished (nothing replaced, no challenge file left)"), process.output)
            XCTAssertFalse(process.output.contains("ERROR"), "a stop is not an error\n\(process.output)")
            XCTAssertEqual(filesBelow(webroots + "/hang"), [], "\(command[0]): the challenge file and the directories made for it are gone")
            XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path("store/certificates/hang/current")))
        }
    }

    func testDaemonStopsWithinSecondsWhileARequestHangsAndMidOrderLeavesNoChallengeFile() throws {
        // A request that never gets an answer (here the daemon's first contact with the CA).
        let silent = try UnresponsiveCA(.silentAfterHandshake)
        let scratch = try TemporaryDirectory()
        var config = try silent.writeConfig(certificates: [(name: "site", domain: "site.test")], webroots: scratch.path("sites"),
                                            storage: scratch.path("store"))
        var stopped = try interrupt(["run", "--config", config], ca: silent, signal: SIGTERM, log: scratch.path("silent.log"))
        XCTAssertEqual(stopped.status, 0, stopped.output)
        XCTAssertLessThan(stopped.seconds, 5, stopped.output)
        XCTAssertTrue(stopped.output.contains("stopped"), stopped.output)
        XCTAssertFalse(stopped.output.contains("exiting without waiting"), "no last resort needed\n\(stopped.output)")

        // Mid-order: the challenge file is published and the CA never answers the challenge POST.
        let hanging = try UnresponsiveCA(.hangsAtChallenge(domain: "hang.test"))
        let webroots = scratch.path("hang-sites")
        config = try hanging.writeConfig(certificates: [(name: "hang", domain: "hang.test")], webroots: webroots, storage: scratch.path("hang-store"))
        let before = Date()
        stopped = try interrupt(["run", "--config", config], ca: hanging, signal: SIGTERM, marker: "HANG /chal/1", log: scratch.path("hang.log"))
        XCTAssertLessThan(Date().timeIntervalSince(before), 60)
        XCTAssertEqual(stopped.status, 0, stopped.output)
        XCTAssertLessThan(stopped.seconds, 5, stopped.output)
        XCTAssertTrue(stopped.output.contains("renewal interrupted by shutdown"), stopped.output)
        XCTAssertTrue(stopped.output.contains("stopped"), stopped.output)
        XCTAssertFalse(stopped.output.contains("exiting without waiting"), stopped.output)
        XCTAssertEqual(filesBelow(webroots + "/hang"), [], "no challenge file left")
    }

    func testRenewAgainstACAThatNeverAnswersEndsInBoundedTimeAndWaitsOnItOnce() throws {
        let ca = try UnresponsiveCA(.silentAfterHandshake)
        let scratch = try TemporaryDirectory()
        let names = ["one", "two", "three"]
        let config = try ca.writeConfig(certificates: names.map { (name: $0, domain: "\($0).test") }, webroots: scratch.path("sites"),
                                        storage: scratch.path("store"))
        let started = Date()
        let result = try runCommand(ProjectPaths.certagentBinary, ["renew", "--force", "--config", config])
        let seconds = Date().timeIntervalSince(started)
        XCTAssertEqual(result.status, 1, result.output)
        // One request waits out the 30 s of silence; every later one fails at once. It used to be 60 s per request,
        // three or more requests in a pass.
        XCTAssertGreaterThanOrEqual(seconds, 29, result.output)
        XCTAssertLessThan(seconds, 50, result.output)
        XCTAssertTrue(result.stderr.contains("timed out"), result.stderr)
        for name in names {
            XCTAssertTrue(result.stderr.contains("✗ \(name): CA unreachable, tried "), "\(name)\n\(result.stderr)")
        }
        XCTAssertFalse(result.output.contains("interrupted"), result.output)
        XCTAssertEqual(ca.log.components(separatedBy: "ACCEPTED").count - 1, 1, "one connection, waited on once\n\(ca.log)")
    }

    func testSIGTERMDuringASlowReloadStopsTheReloadAndTheDaemonWithinSeconds() throws {
        let testbed = try Testbed()
        let marker = testbed.directory + "/reload-started"
        // A reload that ignores SIGTERM and would take an hour: the stop must not wait for it.
        let config = try testbed.writeConfig([[
            "name": "slow", "domains": ["slow.test"], "webroot": try testbed.webroot(for: "slow.test"),
            "install": ["reload": ["/bin/sh", "-c", "trap '' TERM; echo started > \(marker); sleep 3600"]],
        ]], storage: testbed.directory + "/store")
        let daemon = try BackgroundProcess([ProjectPaths.certagentBinary, "run", "--config", config], outputPath: testbed.directory + "/daemon.log")
        XCTAssertTrue(eventually(timeout: 90) { FileManager.default.fileExists(atPath: marker) }, "the reload started after the first issuance:\n\(daemon.output)")
        let sent = Date()
        daemon.send(SIGTERM)
        XCTAssertEqual(daemon.waitForExit(timeout: 30), 0, daemon.output)
        XCTAssertLessThan(Date().timeIntervalSince(sent), 8, "the reload was stopped (SIGKILL after 2 s), not waited for:\n\(daemon.output)")
        XCTAssertTrue(daemon.output.contains("deployment cut short by the stop; the next start deploys again"), daemon.output)
        XCTAssertFalse(daemon.output.contains("exiting without waiting"), "no last resort:\n\(daemon.output)")
        XCTAssertFalse(daemon.output.contains("ERROR"), "a stop is not an error:\n\(daemon.output)")
        XCTAssertTrue(daemon.output.contains("stopped"), daemon.output)
    }
}
