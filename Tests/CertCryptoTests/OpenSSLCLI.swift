import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Runs a program found on PATH, with stdin/stdout/stderr redirected to temporary files.
///
/// Uses `posix_spawn` directly rather than Foundation's `Process`, which closes every descriptor
/// it finds in /proc/self/fd and so fails with EBADF under valgrind (valgrind's own descriptors).
enum Subprocess {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
        var output: String { stdout + stderr }
    }

    struct SpawnError: Error, CustomStringConvertible {
        let description: String
    }

    static func run(_ command: [String], stdin: [UInt8]? = nil, in directory: URL? = nil) throws -> Result {
        let scratch = try TemporaryDirectory()
        let inPath = try scratch.write("stdin", bytes: stdin ?? [])
        let outPath = scratch.path("stdout")
        let errPath = scratch.path("stderr")

        // GNU env's --chdir sets the working directory of the child.
        var argv = ["/usr/bin/env"]
        if let directory { argv += ["--chdir=\(directory.path)"] }
        argv += command

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, inPath, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)

        let cStrings: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { cStrings.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = cStrings.withUnsafeBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return EINVAL }
            return posix_spawn(&pid, "/usr/bin/env", &actions, nil, base, environ)
        }
        guard spawned == 0 else { throw SpawnError(description: "posix_spawn failed: \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw SpawnError(description: "waitpid failed: errno \(errno)") }
        }
        // WIFEXITED / WEXITSTATUS are macros that do not import.
        let exitCode = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Result(status: exitCode, stdout: try scratch.read("stdout"), stderr: try scratch.read("stderr"))
    }
}

/// Runs the `openssl` command-line tool: an independent implementation to check CertCrypto against.
enum OpenSSLCLI {
    typealias Result = Subprocess.Result

    static func run(_ arguments: [String], stdin: [UInt8]? = nil, in directory: URL? = nil) throws -> Result {
        try Subprocess.run(["openssl"] + arguments, stdin: stdin, in: directory)
    }

    /// Runs and fails the test (throwing) unless the exit status is 0.
    @discardableResult
    static func succeed(_ arguments: [String], stdin: [UInt8]? = nil, in directory: URL? = nil,
                        file: StaticString = #filePath, line: UInt = #line) throws -> Result {
        let result = try run(arguments, stdin: stdin, in: directory)
        guard result.status == 0 else {
            XCTFail("openssl \(arguments.joined(separator: " ")) exited \(result.status): \(result.output)", file: file, line: line)
            throw CLIError(message: result.output)
        }
        return result
    }

    struct CLIError: Error { let message: String }
}

/// A temporary directory removed when the test case ends.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("certcrypto-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        try Data(text.utf8).write(to: url.appendingPathComponent(name))
        return path(name)
    }

    @discardableResult
    func write(_ name: String, bytes: [UInt8]) throws -> String {
        try Data(bytes).write(to: url.appendingPathComponent(name))
        return path(name)
    }

    /// Reads a file with POSIX calls: FoundationEssentials' `Data(contentsOf:)` leaks its read
    /// buffer for some files (valgrind shows 4 KiB blocks lost per call), which would hide real leaks.
    func read(_ name: String) throws -> String {
        String(decoding: try readBytes(name), as: UTF8.self)
    }

    func readBytes(_ name: String) throws -> [UInt8] {
        let descriptor = open(path(name), O_RDONLY)
        guard descriptor >= 0 else { throw Subprocess.SpawnError(description: "open \(name): errno \(errno)") }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw Subprocess.SpawnError(description: "read \(name): errno \(errno)") }
            if count == 0 { break }
            bytes += chunk[..<count]
        }
        return bytes
    }
}

/// Hex helpers for test vectors.
extension Array where Element == UInt8 {
    init(hex: String) {
        let digits = Array(hex.filter { !$0.isWhitespace }.utf8)
        var bytes: [UInt8] = []
        var index = 0
        while index + 1 < digits.count {
            bytes.append(UInt8(String(decoding: digits[index ... index + 1], as: UTF8.self), radix: 16) ?? 0)
            index += 2
        }
        self = bytes
    }

    var hex: String { map { String(format: "%02x", $0) }.joined() }
}
