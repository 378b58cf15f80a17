/// How a child process ended.
public enum ProcessTermination: Sendable, Equatable, CustomStringConvertible {
    /// It called exit with this status.
    case exited(Int32)
    /// A signal ended it.
    case signaled(Int32)

    /// Decodes a `waitpid` status (the W* macros do not import into Swift).
    init(waitStatus status: Int32) {
        self = status & 0x7f == 0 ? .exited((status >> 8) & 0xff) : .signaled(status & 0x7f)
    }

    public var description: String {
        switch self {
        case .exited(let code): "exited with status \(code)"
        case .signaled(let signal): "was killed by signal \(signal) (\(Self.signalName(signal)))"
        }
    }

    static func signalName(_ signal: Int32) -> String {
        switch signal {
        case 1: "SIGHUP"
        case 2: "SIGINT"
        case 6: "SIGABRT"
        case 9: "SIGKILL"
        case 11: "SIGSEGV"
        case 13: "SIGPIPE"
        case 15: "SIGTERM"
        default: "signal \(signal)"
        }
    }
}

/// Why installing a certificate's files or running its reload command failed.
///
/// File failures leave every earlier file installed and the failing target untouched (writes are atomic).
/// Reload failures (`isReloadFailure`) leave all files installed: the certificate is good, only the reload needs a retry
/// (`CertificateInstaller.reload`).
public enum InstallError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A file-system step failed: e.g. operation "set the owner of", the path, and the system's reason.
    case file(operation: String, path: String, reason: String)
    /// The reload command could not be started at all.
    case reloadNotStarted(command: String, reason: String)
    /// The reload command ended with a non-zero status or by a signal; `outputTail` is the end of its stdout+stderr.
    case reloadFailed(command: String, termination: ProcessTermination, outputTail: String)
    /// The reload command outlived its timeout and was stopped (SIGTERM to its process group, SIGKILL after a grace period).
    case reloadTimedOut(command: String, timeoutSeconds: Double, termination: ProcessTermination, outputTail: String)
    /// The agent was stopping, so the reload command was stopped before it finished (the next start deploys again).
    case reloadInterrupted(command: String, termination: ProcessTermination)

    /// True when every file is in place and only the reload command failed.
    public var isReloadFailure: Bool {
        if case .file = self { return false }
        return true
    }

    public var description: String {
        switch self {
        case .file(let operation, let path, let reason):
            return "cannot \(operation) \(path): \(reason)"
        case .reloadNotStarted(let command, let reason):
            return "cannot start the reload command `\(command)`: \(reason)"
        case .reloadFailed(let command, let termination, let output):
            return "the reload command `\(command)` \(termination)" + Self.outputSuffix(output)
        case .reloadTimedOut(let command, let seconds, let termination, let output):
            let limit = seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
            return "the reload command `\(command)` ran longer than its timeout of \(limit) s and was stopped (it \(termination))" + Self.outputSuffix(output)
        case .reloadInterrupted(let command, let termination):
            return "the reload command `\(command)` was stopped because CertAgent was stopping (it \(termination)): the next start deploys again"
        }
    }

    private static func outputSuffix(_ output: String) -> String {
        let trimmed = output.trimmingSuffix { $0 == "\n" || $0 == " " || $0 == "\r" }
        return trimmed.isEmpty ? " (no output)" : "; its output ended with:\n\(trimmed)"
    }
}

extension String {
    fileprivate func trimmingSuffix(while predicate: (Character) -> Bool) -> String {
        var result = self[...]
        while let last = result.last, predicate(last) { result = result.dropLast() }
        return String(result)
    }
}
