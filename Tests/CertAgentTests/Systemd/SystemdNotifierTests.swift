@testable import CertAgent
import Foundation
import TestSupport
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

final class SystemdNotifierTests: XCTestCase {
    var temp: TemporaryDirectory!

    override func setUpWithError() throws {
        temp = try TemporaryDirectory()
    }

    private func assertProtocol(socket value: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let receiver = try DatagramReceiver(XCTUnwrap(NotifySocketAddress(value)))
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": value])
        XCTAssertTrue(notifier.isEnabled, file: file, line: line)

        XCTAssertTrue(notifier.ready(), file: file, line: line)
        XCTAssertEqual(receiver.receive(), "READY=1", file: file, line: line)
        XCTAssertTrue(notifier.status("Renewing shop (1 of 3)\nnext: ARI"), file: file, line: line)
        XCTAssertEqual(receiver.receive(), "STATUS=Renewing shop (1 of 3) next: ARI", "one line only", file: file, line: line)
        XCTAssertTrue(notifier.watchdog(), file: file, line: line)
        XCTAssertEqual(receiver.receive(), "WATCHDOG=1", file: file, line: line)
        XCTAssertTrue(notifier.stopping(), file: file, line: line)
        XCTAssertEqual(receiver.receive(), "STOPPING=1", file: file, line: line)
        XCTAssertTrue(notifier.extendTimeout(by: 90), file: file, line: line)
        XCTAssertEqual(receiver.receive(), "EXTEND_TIMEOUT_USEC=90000000", file: file, line: line)

        let before = SystemdNotifier.monotonicMicroseconds()
        XCTAssertTrue(notifier.reloading(), file: file, line: line)
        let after = SystemdNotifier.monotonicMicroseconds()
        let reloading = try XCTUnwrap(receiver.receive(), file: file, line: line)
        let lines = reloading.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 2, reloading, file: file, line: line)
        XCTAssertEqual(lines.first, "RELOADING=1", file: file, line: line)
        let stamp = try XCTUnwrap(lines.last.flatMap { $0.hasPrefix("MONOTONIC_USEC=") ? UInt64($0.dropFirst("MONOTONIC_USEC=".count)) : nil },
                                  reloading, file: file, line: line)
        XCTAssertTrue((before ... after).contains(stamp), "CLOCK_MONOTONIC in µs, taken at the call", file: file, line: line)
        XCTAssertTrue(receiver.isEmpty(), "one datagram per call", file: file, line: line)
    }

    func testDatagramsToAFileSystemSocket() throws {
        try assertProtocol(socket: temp.path("notify"))
    }

    func testDatagramsToAnAbstractSocket() throws {
        try assertProtocol(socket: "@certagent-test-\(UUID().uuidString)")
    }

    func testAbstractNameIsNotAPath() throws {
        // "@name" must go to the abstract namespace: no file appears, and a socket bound to the path "@name" gets nothing.
        let name = "certagent-test-\(UUID().uuidString)"
        let abstract = try DatagramReceiver(.abstract(name))
        XCTAssertTrue(SystemdNotifier(environment: ["NOTIFY_SOCKET": "@" + name]).ready())
        XCTAssertEqual(abstract.receive(), "READY=1")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "@" + name))
    }

    func testReceiverBindsTheAddressesSystemdItselfUses() throws {
        // Independent of our encoding: systemd's own systemd-notify reaches the receiver at both kinds of address.
        for value in [temp.path("systemd-notify"), "@certagent-test-\(UUID().uuidString)"] {
            let receiver = try DatagramReceiver(XCTUnwrap(NotifySocketAddress(value)))
            let result = try Subprocess.run(["systemd-notify", "--no-block", "--status=from systemd-notify"],
                                            environment: ["NOTIFY_SOCKET": value, "PATH": "/usr/bin:/bin"])
            XCTAssertEqual(result.status, 0, result.output)
            XCTAssertEqual(receiver.receive(), "STATUS=from systemd-notify", value)
        }
        // And the kernel lists the abstract name without a trailing NUL (shown as '@').
        let name = "certagent-test-\(UUID().uuidString)"
        let receiver = try DatagramReceiver(.abstract(name))
        // Read to the end of the file: /proc files report size 0, and a one-shot read stops after a page, which a
        // busy machine's socket table outgrows.
        let handle = try XCTUnwrap(FileHandle(forReadingAtPath: "/proc/net/unix"))
        defer { try? handle.close() }
        let table = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        XCTAssertTrue(table.split(separator: "\n").contains { $0.hasSuffix(" @" + name) }, "@\(name) not among \(table.split(separator: "\n").count) sockets")
        withExtendedLifetime(receiver) {}
    }

    func testWithoutNotifySocketEveryCallIsANoOp() {
        for environment in [[:], ["NOTIFY_SOCKET": ""], ["NOTIFY_SOCKET": "relative/notify"], ["NOTIFY_SOCKET": "vsock:2:1234"],
                            ["NOTIFY_SOCKET": "/" + String(repeating: "x", count: 120)]] {
            let notifier = SystemdNotifier(environment: environment.merging(["WATCHDOG_USEC": "1000000"]) { $1 })
            XCTAssertFalse(notifier.isEnabled, "\(environment)")
            XCTAssertNil(notifier.socket)
            XCTAssertNil(notifier.watchdogInterval, "no socket to ping")
            XCTAssertFalse(notifier.ready())
            XCTAssertFalse(notifier.status("x"))
            XCTAssertFalse(notifier.watchdog())
            XCTAssertFalse(notifier.stopping())
            XCTAssertFalse(notifier.reloading())
        }
    }

    func testSendToAMissingSocketFailsQuietly() {
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": temp.path("nobody-listens")])
        XCTAssertTrue(notifier.isEnabled)
        XCTAssertFalse(notifier.ready(), "reports the failure, does not throw or crash")
    }

    func testWatchdogInterval() {
        let socket = ["NOTIFY_SOCKET": "/run/systemd/notify"]
        func interval(_ extra: [String: String], pid: pid_t = 4242) -> TimeInterval? {
            SystemdNotifier(environment: socket.merging(extra) { $1 }, processID: pid).watchdogInterval
        }
        XCTAssertEqual(interval(["WATCHDOG_USEC": "30000000"]), 30)
        XCTAssertEqual(interval(["WATCHDOG_USEC": "1500000", "WATCHDOG_PID": "4242"]), 1.5)
        XCTAssertNil(interval(["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "4243"]), "meant for another process")
        XCTAssertNil(interval(["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "x"]))
        XCTAssertNil(interval(["WATCHDOG_USEC": "0"]))
        XCTAssertNil(interval(["WATCHDOG_USEC": "-5"]))
        XCTAssertNil(interval([:]))
        XCTAssertEqual(SystemdNotifier(environment: socket.merging(["WATCHDOG_USEC": "2000000", "WATCHDOG_PID": String(getpid())]) { $1 }).watchdogInterval, 2,
                       "defaults to this process's id")
    }

    func testSocketAddressParsing() {
        XCTAssertEqual(NotifySocketAddress("/run/systemd/notify"), .path("/run/systemd/notify"))
        XCTAssertEqual(NotifySocketAddress("@/org/freedesktop/systemd1/notify/123"), .abstract("/org/freedesktop/systemd1/notify/123"))
        XCTAssertNil(NotifySocketAddress("@"))
        XCTAssertNil(NotifySocketAddress("notify"))
        XCTAssertEqual(NotifySocketAddress("@abc")?.description, "@abc")
    }
}
