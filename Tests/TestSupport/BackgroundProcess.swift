import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process left running (a daemon under test): started with posix_spawn, output to files, ended by its PID.
public final class BackgroundProcess {
    public let pid: pid_t
    public let outputPath: String
    private var exitStatus: Int32?

    /// Starts `command` (first element looked up on PATH) with stdout and stderr appended to `outputPath`.
    public init(_ command: [String], outputPath: String, environment: [String: String]? = nil) throws {
        self.outputPath = outputPath
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = (["/usr/bin/env"] + command).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { envp?.forEach { free($0) } }
        var child: pid_t = 0
        let result = argv.withUnsafeBufferPointer { arguments -> Int32 in
            guard let base = arguments.baseAddress else { return EINVAL }
            guard let envp else { return posix_spawn(&child, "/usr/bin/env", &actions, nil, base, environ) }
            return envp.withUnsafeBufferPointer { posix_spawn(&child, "/usr/bin/env", &actions, nil, base, $0.baseAddress) }
        }
        guard result == 0 else { throw Subprocess.SpawnError(description: "posix_spawn failed: \(result)") }
        pid = child
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            _ = waitForExit(timeout: 5)
        }
    }

    /// Everything the process wrote so far.
    public var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    public func send(_ signal: Int32) { kill(pid, signal) }

    /// Waits up to `timeout` seconds; returns the exit status (128+signal when killed), or nil if still running.
    public func waitForExit(timeout: TimeInterval) -> Int32? {
        if let exitStatus { return exitStatus }
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                exitStatus = code
                return code
            }
            usleep(20_000)
        } while Date() < deadline
        return nil
    }

    /// CPU time used so far (user + system), in clock ticks, from /proc.
    public var cpuTicks: Int? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return user + system
    }
}

extension BackgroundProcess {
    /// Context switches so far of each of the process's threads (voluntary and involuntary, from /proc), by thread ID.
    /// Every wake-up of a sleeping thread is one: comparing two readings counts how often the process woke up.
    public var threadSwitches: [Int32: Int] {
        let tasks = "/proc/\(pid)/task"
        var switches: [Int32: Int] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? [] {
            guard let thread = Int32(entry), let status = try? String(contentsOfFile: "\(tasks)/\(entry)/status", encoding: .utf8) else { continue }
            switches[thread] = status.split(separator: "\n").reduce(0) { total, line in
                guard line.hasPrefix("voluntary_ctxt_switches:") || line.hasPrefix("nonvoluntary_ctxt_switches:"),
                      let count = line.split(separator: ":").last.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) else { return total }
                return total + count
            }
        }
        return switches
    }

    /// Wake-ups between two `threadSwitches` readings, counted over the threads alive at both (a thread that ended
    /// meanwhile took its count with it; one that started is reported separately by the caller if it matters).
    public static func wakeUps(from before: [Int32: Int], to after: [Int32: Int]) -> Int {
        after.reduce(0) { total, entry in total + (before[entry.key].map { entry.value - $0 } ?? 0) }
    }
}

/// Polls `condition` every 50 ms until it holds or `timeout` passes; returns whether it held.
public func eventually(timeout: TimeInterval, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(50_000)
    }
    return condition()
}
