import CertAgent
import Foundation
import TestSupport
import XCTest

/// Every Dispatch source of `certagent run` (the wake timer, the watchdog timer, the signal sources) gets its handler
/// before it is activated: libdispatch, told to log to stderr (by default it logs to syslog, which systemd's journal
/// shows), never says "dispatch source activated with no event handler set" — through start, a job, SIGHUP, SIGUSR1,
/// watchdog pings and SIGTERM. No CA is needed: the configured one is a closed loopback port, so the job fails fast.
final class DaemonDispatchSourceTests: XCTestCase {
    func testNoDispatchSourceIsActivatedWithoutItsHandler() throws {
        let temp = try TemporaryDirectory()
        let webroot = try temp.make("public_html")
        let config = try temp.write("config.json", """
            {"email": "admin@example.com", "acceptTermsOfService": true, "directory": "https://127.0.0.1:1/dir",
             "storage": "\(temp.path)/store",
             "certificates": [{"name": "site", "domains": ["site.test"], "webroot": "\(webroot)"}]}
            """)
        let socketPath = temp.path("notify.sock")
        let receiver = try DatagramReceiver(.path(socketPath))
        var environment = ProcessInfo.processInfo.environment
        environment["LIBDISPATCH_LOG"] = "stderr"
        environment["NOTIFY_SOCKET"] = socketPath
        environment["WATCHDOG_USEC"] = "400000"
        environment["CERTAGENT_SKIP_PREFLIGHT"] = "1"
        let daemon = try BackgroundProcess([ProjectPaths.certagentBinary, "run", "--config", config],
                                           outputPath: temp.path("daemon.log"), environment: environment)
        var messages: [String] = []
        func received(_ wanted: @escaping ([String]) -> Bool) -> Bool {
            eventually(timeout: 60) {
                while !receiver.isEmpty(), let message = receiver.receive() { messages.append(message) }
                return wanted(messages)
            }
        }
        XCTAssertTrue(received { $0.contains("READY=1") && $0.contains("WATCHDOG=1") }, "\(messages)\n\(daemon.output)")
        // The first job (no certificate yet) ran and failed against the closed port: the scheduler's timer was used.
        XCTAssertTrue(eventually(timeout: 60) { daemon.output.contains("next: site ") }, daemon.output)
        daemon.send(SIGHUP)
        XCTAssertTrue(eventually(timeout: 60) { daemon.output.contains("config reloaded") }, daemon.output)
        daemon.send(SIGUSR1)
        XCTAssertTrue(eventually(timeout: 60) { daemon.output.contains("a command changed certificates") }, daemon.output)
        let pings = messages.filter { $0 == "WATCHDOG=1" }.count
        XCTAssertTrue(received { $0.filter { $0 == "WATCHDOG=1" }.count > pings }, "\(messages)")
        daemon.send(SIGTERM)
        XCTAssertEqual(daemon.waitForExit(timeout: 30), 0, daemon.output)
        XCTAssertFalse(daemon.output.contains("dispatch source activated"), daemon.output)
        XCTAssertFalse(daemon.output.contains("libdispatch client"), daemon.output)
    }
}
