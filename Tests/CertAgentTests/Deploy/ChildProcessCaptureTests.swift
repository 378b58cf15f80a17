@testable import CertAgent
import Foundation
import XCTest

/// `ChildProcess.capture` keeps a program's standard output whole (it is data: `nginx -T`) and the end of its
/// standard error apart from it (the message).
final class ChildProcessCaptureTests: XCTestCase {
    func testOutputAndErrorAreKeptApart() throws {
        let captured = try ChildProcess.capture(executable: "/bin/sh", arguments: ["sh", "-c", "printf 'data\\nmore\\n'; printf 'oops\\033[2J\\n' >&2; exit 3"],
                                                environment: [:], timeoutSeconds: 30, outputLimit: 1 << 20)
        XCTAssertEqual(captured.termination, .exited(3))
        XCTAssertEqual(String(decoding: captured.output, as: UTF8.self), "data\nmore\n")
        XCTAssertEqual(captured.errorTail, "oops\\x1b[2J", "standard error escaped, not mixed into the output")
        XCTAssertFalse(captured.outputTruncated)
        XCTAssertFalse(captured.timedOut)
    }

    func testOutputBeyondTheLimitIsMarkedTruncated() throws {
        let captured = try ChildProcess.capture(executable: "/bin/sh", arguments: ["sh", "-c", "head -c 200000 /dev/zero"],
                                                environment: [:], timeoutSeconds: 30, outputLimit: 1000)
        XCTAssertEqual(captured.termination, .exited(0))
        XCTAssertEqual(captured.output.count, 1000)
        XCTAssertTrue(captured.outputTruncated)
    }

    func testAProgramPastItsDeadlineIsStopped() throws {
        let started = Date()
        let captured = try ChildProcess.capture(executable: "/bin/sleep", arguments: ["sleep", "60"], environment: [:], timeoutSeconds: 0.5, outputLimit: 100)
        XCTAssertTrue(captured.timedOut)
        XCTAssertEqual(captured.termination, .signaled(SIGTERM))
        XCTAssertLessThan(Date().timeIntervalSince(started), 20, "stopped at its deadline, not after sleeping 60 s")
    }
}
