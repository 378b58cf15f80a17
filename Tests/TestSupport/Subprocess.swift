import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a program found on PATH, with stdin/stdout/stderr redirected to temporary files.
///
/// Uses `posix_spawn` directly rather than Foundation's `Process`, which closes every descriptor
/// it finds in /proc/self/fd and so fails with EBADF under valgrind (valgrind's own descriptors).
public enum Subprocess {
    public struct Result: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
        public var output: String { stdout + stderr }
    }

    public struct SpawnError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs `command` (the first element is looked up on PATH) and waits for it. `environment` replaces the
    /// inherited environment when given. Background children that keep running do not block the wait.
    public static func run(_ command: [String], stdin: [UInt8]? = nil, in directory: URL? = nil, environment: [String: String]? = nil) throws -> Result {
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
        let environmentStrings: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { environmentStrings?.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = cStrings.withUnsafeBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return EINVAL }
            guard let environmentStrings else { return posix_spawn(&pid, "/usr/bin/env", &actions, nil, base, environ) }
            return environmentStrings.withUnsafeBufferPointer { posix_spawn(&pid, "/usr/bin/env", &actions, nil, base, $0.baseAddress) }
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

