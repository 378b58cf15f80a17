import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

extension ChildProcess {
    /// What a program printed, kept apart: its standard output whole (up to a bound), the end of its standard error.
    struct Captured {
        var termination: ProcessTermination
        /// True when the deadline passed and the process group was signalled.
        var timedOut: Bool
        /// Standard output as bytes, at most the limit given.
        var output: [UInt8]
        /// True when standard output was longer than the limit (the rest was read and dropped).
        var outputTruncated: Bool
        /// The last bytes of standard error, escaped (`OutputTail.text`).
        var errorTail: String
    }

    /// Runs `executable` as `run` does (stdin from /dev/null, exactly `environment`, its own process group, SIGTERM
    /// then SIGKILL at the deadline), keeping its standard output whole up to `outputLimit` bytes and the last
    /// `errorLimit` bytes of its standard error: for a program whose output is data (`nginx -T`), not a message.
    static func capture(executable: String, arguments: [String], environment: [String: String], timeoutSeconds: Double,
                        outputLimit: Int, errorLimit: Int = 2048, killGraceSeconds: Double = 2) throws(SpawnFailure) -> Captured {
        guard let (outputRead, outputWrite) = GlibcExtensions.closeOnExecPipe() else {
            throw SpawnFailure(reason: "cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        defer { close(outputRead) }
        guard let (errorRead, errorWrite) = GlibcExtensions.closeOnExecPipe() else {
            close(outputWrite)
            throw SpawnFailure(reason: "cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        defer { close(errorRead) }
        let pid: pid_t
        do {
            defer {
                close(outputWrite)
                close(errorWrite)
            }
            pid = try spawn(executable: executable, arguments: arguments, environment: environment,
                            outputDescriptor: outputWrite, errorDescriptor: errorWrite)
        }
        for descriptor in [outputRead, errorRead] { _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK) }

        var output: [UInt8] = []
        var truncated = false
        var errors = OutputTail(limit: errorLimit)
        var outputOpen = true
        var errorOpen = true
        let deadline = monotonicSeconds() + timeoutSeconds
        var killDeadline: Double?
        var status: Int32 = 0
        var exited = false
        while true {
            if outputOpen || errorOpen {
                var pollers = [pollfd(fd: outputOpen ? outputRead : -1, events: Int16(POLLIN), revents: 0),
                               pollfd(fd: errorOpen ? errorRead : -1, events: Int16(POLLIN), revents: 0)]
                _ = poll(&pollers, 2, 50)
                if outputOpen {
                    outputOpen = readAvailable(outputRead) { chunk in
                        let room = max(0, outputLimit - output.count)
                        if chunk.count > room { truncated = true }
                        output += chunk.prefix(room)
                    }
                }
                if errorOpen { errorOpen = readAvailable(errorRead) { errors.append($0) } }
            } else {
                usleep(20_000)
            }
            if !exited {
                let waited = waitpid(pid, &status, WNOHANG)
                if waited == pid { exited = true }
                if waited < 0 && errno != EINTR { throw SpawnFailure(reason: "waitpid failed: \(String(cString: strerror(errno)))") }
            }
            // Done once it has exited and both pipes are read to the end (or it has exited and its output stalls: a
            // descendant that keeps a pipe open does not hold us).
            if exited && (!(outputOpen || errorOpen) || killDeadline != nil) { break }
            let now = monotonicSeconds()
            if killDeadline == nil, now >= deadline {
                kill(-pid, SIGTERM)
                killDeadline = now + killGraceSeconds
            } else if let limit = killDeadline, now >= limit {
                kill(-pid, SIGKILL)
                if exited { break }
                killDeadline = now + killGraceSeconds
            }
        }
        return Captured(termination: ProcessTermination(waitStatus: status), timedOut: killDeadline != nil,
                        output: output, outputTruncated: truncated, errorTail: errors.text)
    }

    /// Reads everything available without blocking, handing each chunk to `take`; false once the pipe reached end of file.
    private static func readAvailable(_ descriptor: Int32, _ take: (ArraySlice<UInt8>) -> Void) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                take(chunk[..<count])
                continue
            }
            if count == 0 { return false }
            if errno == EINTR { continue }
            return true  // EAGAIN: nothing more for now
        }
    }
}
