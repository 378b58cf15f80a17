import CertAgent
import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A stop that comes while the daemon is still busy: right after READY=1 the daemon is still working on the main
/// thread (the first notifications, the metrics, queuing the site check — all reading certificates with OpenSSL) and
/// the site check's TLS probe starts on its own queue. SIGTERM then must wait for all of it before the process exits:
/// it used to exit under it, and OpenSSL's exit-time cleanup freed what those threads were using (status 139).
final class DaemonStopRaceTests: XCTestCase {
    func testSIGTERMRightAfterReadyExitsCleanlyEveryTime() throws {
        let testbed = try Testbed()
        let storage = testbed.directory + "/store"
        // Several certificates: the work after READY=1 (each certificate read, checked and planned) lasts long enough
        // for a stop to land inside it.
        let names = (1...6).map { "race\($0)" }
        let certificates: [[String: Any]] = try names.map { ["name": $0, "domains": ["\($0).test"], "webroot": try testbed.webroot(for: "\($0).test")] }
        let config = try testbed.writeConfig(certificates, storage: storage)
        let issued = try runCommand(ProjectPaths.certagentBinary, ["issue", "--config", config])
        XCTAssertEqual(issued.status, 0, issued.output)
        let socketPath = testbed.directory + "/notify.sock"
        let receiver = try DatagramReceiver(.path(socketPath))
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = socketPath
        environment["LIBDISPATCH_LOG"] = "stderr"

        // A bound on attempts: each stops at a slightly later point of the work that follows READY=1.
        let attempts = 40
        var clean = 0
        for attempt in 0..<attempts {
            // Never checked since the last stop cut it short: every start queues the site check again.
            for name in names { try? FileManager.default.removeItem(atPath: storage + "/certificates/\(name)/site.json") }
            let daemon = try BackgroundProcess([ProjectPaths.certagentBinary, "run", "--config", config],
                                               outputPath: testbed.directory + "/daemon-\(attempt).log", environment: environment)
            var ready = false
            for _ in 0..<30 where !ready {
                if let message = receiver.receive() { ready = message == "READY=1" } else if daemon.waitForExit(timeout: 0) != nil { break }
            }
            XCTAssertTrue(ready, "attempt \(attempt): READY=1 arrives\n\(daemon.output)")
            usleep(useconds_t(attempt % 8) * 2_000)
            daemon.send(SIGTERM)
            let status = daemon.waitForExit(timeout: 30)
            if status == nil { daemon.send(SIGKILL); _ = daemon.waitForExit(timeout: 10) }
            XCTAssertEqual(status, 0, "attempt \(attempt): a clean stop, not a crash\n\(daemon.output)")
            XCTAssertTrue(daemon.output.contains("NOTICE stopped"), "attempt \(attempt)\n\(daemon.output)")
            if status == 0 { clean += 1 }
            while !receiver.isEmpty() { _ = receiver.receive() }
        }
        XCTAssertEqual(clean, attempts, "every stop was clean")
    }
}
