import CertAgent
import Foundation
import Synchronization
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

final class SecretInputTests: XCTestCase {
    /// `SecretInput.readAll` over a file holding `bytes` (standard input redirected from a file).
    private func readAll(_ bytes: [UInt8]) throws -> [UInt8] {
        let directory = try TemporaryDirectory()
        let descriptor = open(try directory.write("input", bytes: bytes), O_RDONLY | O_CLOEXEC)
        XCTAssertGreaterThanOrEqual(descriptor, 0)
        defer { close(descriptor) }
        return try SecretInput.readAll(descriptor: descriptor)
    }

    func testPipedInputIsReadToTheEnd() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]) }
        _ = Array("piped-value\n".utf8).withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
        close(fds[1])
        XCTAssertEqual(try SecretInput.readAll(descriptor: fds[0]), Array("piped-value".utf8))
    }

    func testStandardInputLosesExactlyOneTrailingNewline() throws {
        XCTAssertEqual(try readAll(Array("s3cret\n".utf8)), Array("s3cret".utf8))
        XCTAssertEqual(try readAll(Array("s3cret\r\n".utf8)), Array("s3cret".utf8))
        XCTAssertEqual(try readAll(Array("two\n\n".utf8)), Array("two\n".utf8))
        XCTAssertEqual(try readAll(Array("no newline".utf8)), Array("no newline".utf8))
        XCTAssertEqual(try readAll([0, 255, 10, 0]), [0, 255, 10, 0], "binary values pass unchanged")
    }

    func testEmptyAndOversizedValuesAreRefused() {
        XCTAssertThrowsError(try readAll([])) { XCTAssertEqual($0 as? SecretInputError, .empty) }
        XCTAssertThrowsError(try readAll(Array("\n".utf8))) { XCTAssertEqual($0 as? SecretInputError, .empty) }
        XCTAssertThrowsError(try readAll([UInt8](repeating: 65, count: SecretInput.limit + 1))) {
            XCTAssertEqual($0 as? SecretInputError, .tooLong(limit: SecretInput.limit))
        }
    }

    /// A pseudo-terminal pair: (controller, terminal).
    private func openTerminal() throws -> (Int32, Int32) {
        let controller = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard controller >= 0 else { throw NSError(domain: "pty", code: Int(errno), userInfo: [NSLocalizedDescriptionKey: "cannot open /dev/ptmx"]) }
        var unlock: Int32 = 0
        var number: UInt32 = 0
        // TIOCSPTLCK and TIOCGPTN (do not import).
        XCTAssertEqual(ioctl(controller, UInt(0x4004_5431), &unlock), 0)
        XCTAssertEqual(ioctl(controller, UInt(0x8004_5430), &number), 0)
        let terminal = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY | O_CLOEXEC)
        XCTAssertGreaterThanOrEqual(terminal, 0)
        return (controller, terminal)
    }

    /// Reads from the controller side until `marker` has been seen; returns everything read.
    private func readUntil(_ controller: Int32, _ marker: String, seen: inout String) {
        let deadline = Date().addingTimeInterval(60)
        while !seen.contains(marker), Date() < deadline {
            var pollDescriptor = pollfd(fd: controller, events: Int16(POLLIN), revents: 0)
            guard poll(&pollDescriptor, 1, 100) > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 512)
            let got = read(controller, &buffer, buffer.count)
            if got > 0 { seen += String(decoding: buffer[0 ..< got], as: UTF8.self) }
        }
    }

    private func type(_ controller: Int32, _ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { write(controller, $0.baseAddress, $0.count) }
    }

    private func echoIsOn(_ terminal: Int32) -> Bool {
        var settings = termios()
        XCTAssertEqual(tcgetattr(terminal, &settings), 0)
        return settings.c_lflag & tcflag_t(ECHO) != 0
    }

    /// Runs the prompt on the terminal side while typing `first` and `second` on the controller side, each only once
    /// its prompt is shown (as a person would); returns the result and everything the terminal displayed.
    private func prompt(first: String, second: String) throws -> (Result<[UInt8], any Error>, String) {
        let (controller, terminal) = try openTerminal()
        defer { close(controller); close(terminal) }
        XCTAssertTrue(echoIsOn(terminal), "a fresh terminal echoes")
        let outcome = Mutex<Result<[UInt8], any Error>?>(nil)
        let finished = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let result = Result { try SecretInput.prompt(name: "api-token", terminal: terminal) }
            outcome.withLock { $0 = result }
            finished.signal()
        }
        var shown = ""
        readUntil(controller, "(not shown): ", seen: &shown)
        type(controller, first + "\n")
        readUntil(controller, "Again, to confirm: ", seen: &shown)
        type(controller, second + "\n")
        XCTAssertEqual(finished.wait(timeout: .now() + 60), .success)
        readUntil(controller, "\n", seen: &shown)
        XCTAssertTrue(echoIsOn(terminal), "echo is back on after the prompt")
        return (outcome.withLock { $0! }, shown)
    }

    func testTerminalPromptDoesNotEchoAndAsksTwice() throws {
        let (result, shown) = try prompt(first: "typed-s3cret-value", second: "typed-s3cret-value")
        XCTAssertEqual(try result.get(), Array("typed-s3cret-value".utf8))
        XCTAssertTrue(shown.contains("Value for secret api-token (not shown): "), shown)
        XCTAssertFalse(shown.contains("typed-s3cret"), "the value was echoed: \(shown)")
    }

    func testTerminalPromptRefusesTwoDifferentEntries() throws {
        let (result, shown) = try prompt(first: "first-value", second: "other-value")
        XCTAssertThrowsError(try result.get()) { XCTAssertEqual($0 as? SecretInputError, .mismatch) }
        XCTAssertFalse(shown.contains("first-value") || shown.contains("other-value"), shown)
    }
}
