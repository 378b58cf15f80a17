import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Runs a program with `posix_spawn` and waits for it with a deadline (Foundation's `Process` is not used: on this
/// platform it has failed to reap children).
///
/// The child gets: stdin from /dev/null; stdout and stderr into one pipe whose last `outputLimit` bytes are kept;
/// working directory `/`; exactly `environment` (nothing inherited); default signal dispositions and an empty
/// signal mask (the daemon ignores SIGTERM and SIGHUP, and ignored signals would otherwise be inherited); no descriptors
/// but 0–2; and its own process group, so a timeout stops the command and anything it started.
enum ChildProcess {
    struct Result: Equatable {
        var termination: ProcessTermination
        /// True when the deadline passed and the process group was signalled.
        var timedOut: Bool
        /// True when `shouldStop` asked for the end (the agent is stopping) and the process group was signalled.
        var stopped = false
        var outputTail: String
    }

    struct SpawnFailure: Error {
        let reason: String
    }

    /// `shouldStop` is asked every 50 ms: once it says yes (the agent is stopping), the process group gets SIGTERM and,
    /// after `min(killGraceSeconds, 2)` s, SIGKILL — so a stop never waits on a slow command.
    static func run(executable: String, arguments: [String], environment: [String: String], timeoutSeconds: Double,
                    killGraceSeconds: Double = 5, outputLimit: Int = 4096,
                    shouldStop: () -> Bool = { false }) throws(SpawnFailure) -> Result {
        guard let (readEnd, writeEnd) = GlibcExtensions.closeOnExecPipe() else {
            throw SpawnFailure(reason: "cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        defer { close(readEnd) }

        let pid: pid_t
        do {
            defer { close(writeEnd) }
            pid = try spawn(executable: executable, arguments: arguments, environment: environment, outputDescriptor: writeEnd)
        }
        _ = fcntl(readEnd, F_SETFL, fcntl(readEnd, F_GETFL) | O_NONBLOCK)

        var output = OutputTail(limit: outputLimit)
        var pipeOpen = true
        let deadline = monotonicSeconds() + timeoutSeconds
        var killDeadline: Double?
        var stopped = false
        var status: Int32 = 0
        while true {
            if pipeOpen {
                var poller = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
                _ = poll(&poller, 1, 50)
                pipeOpen = drain(readEnd, into: &output)
            } else {
                usleep(20_000)
            }
            let waited = waitpid(pid, &status, WNOHANG)
            if waited == pid { break }
            if waited < 0 && errno != EINTR { throw SpawnFailure(reason: "waitpid failed: \(String(cString: strerror(errno)))") }
            let now = monotonicSeconds()
            if !stopped, shouldStop() {
                stopped = true
                if killDeadline == nil { kill(-pid, SIGTERM) }
                killDeadline = min(killDeadline ?? .infinity, now + min(killGraceSeconds, 2))
            } else if killDeadline == nil, now >= deadline {
                kill(-pid, SIGTERM)
                killDeadline = now + killGraceSeconds
            } else if let limit = killDeadline, now >= limit {
                kill(-pid, SIGKILL)
                killDeadline = .infinity
            }
        }
        // The child is gone; take what it wrote, but do not wait for descendants that still hold the pipe.
        if pipeOpen { _ = drain(readEnd, into: &output) }
        return Result(termination: ProcessTermination(waitStatus: status), timedOut: killDeadline != nil && !stopped,
                      stopped: stopped, outputTail: output.text)
    }

    /// Reads everything available without blocking; false once the pipe reached end of file.
    private static func drain(_ descriptor: Int32, into output: inout OutputTail) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                output.append(chunk[..<count])
                continue
            }
            if count == 0 { return false }
            if errno == EINTR { continue }
            return true  // EAGAIN: nothing more for now
        }
    }

    /// Starts `executable` with stdout on `outputDescriptor` and stderr on `errorDescriptor` (the same one when nil).
    static func spawn(executable: String, arguments: [String], environment: [String: String], outputDescriptor: Int32,
                      errorDescriptor: Int32? = nil) throws(SpawnFailure) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outputDescriptor, 1)
        posix_spawn_file_actions_adddup2(&actions, errorDescriptor ?? outputDescriptor, 2)
        GlibcExtensions.addCloseFrom(&actions, lowest: 3)
        GlibcExtensions.addChangeDirectory(&actions, "/")

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))

        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp: [UnsafeMutablePointer<CChar>?] = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        var pid: pid_t = 0
        let result = argv.withUnsafeBufferPointer { argvBuffer in
            envp.withUnsafeBufferPointer { envpBuffer in
                posix_spawn(&pid, executable, &actions, &attributes, argvBuffer.baseAddress!, envpBuffer.baseAddress)
            }
        }
        guard result == 0 else { throw SpawnFailure(reason: "\(executable): \(String(cString: strerror(result)))") }
        return pid
    }

    static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}
