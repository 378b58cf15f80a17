import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// What the daemon writes in `<store>/daemon.pid`: its PID and its start time (field 22 of `/proc/<pid>/stat`, clock
/// ticks since boot), so a PID the kernel has since given to another process is told apart from the daemon's.
public struct DaemonPIDRecord: Sendable, Equatable {
    public var pid: Int32
    public var startTime: UInt64

    public init(pid: Int32, startTime: UInt64) {
        self.pid = pid
        self.startTime = startTime
    }

    /// The file's text: `"<pid> <start time>\n"`.
    public var text: String { "\(pid) \(startTime)\n" }

    /// Parses the file's text strictly (two decimal numbers, one space, an optional final newline); nil otherwise.
    public static func parse(_ text: String) -> DaemonPIDRecord? {
        var body = Substring(text)
        if body.hasSuffix("\n") { body = body.dropLast() }
        let parts = body.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 20 && $0.utf8.allSatisfy { (48...57).contains($0) } }),
              let pid = Int32(parts[0]), pid > 0, let start = UInt64(parts[1]) else { return nil }
        return DaemonPIDRecord(pid: pid, startTime: start)
    }
}

/// What `/proc` says about a process, as far as telling a certagent daemon apart needs.
public struct ProcessFacts: Sendable, Equatable {
    /// Its effective user (the owner of `/proc/<pid>`).
    public var uid: uid_t
    /// Field 22 of `/proc/<pid>/stat`.
    public var startTime: UInt64
    /// The base name of its executable (`/proc/<pid>/exe`, without " (deleted)" after an upgrade), when readable.
    public var executableName: String?
    /// Its command line (`/proc/<pid>/cmdline`).
    public var arguments: [String]

    public init(uid: uid_t, startTime: UInt64, executableName: String?, arguments: [String]) {
        self.uid = uid
        self.startTime = startTime
        self.executableName = executableName
        self.arguments = arguments
    }
}

/// Whether a certagent daemon runs on a store, from its PID file.
public enum DaemonLiveness: Sendable, Equatable {
    /// A certagent daemon on this store runs as `pid`: it may be signalled.
    case running(pid: Int32)
    /// No daemon runs; `stale` says why a PID file that was found is not believed (nil: there is no PID file).
    case notRunning(stale: String?)
}

/// The PID file `certagent run` keeps in its store while it runs, and the rules for believing it.
///
/// The daemon writes `<store>/daemon.pid` atomically (0600, in the 0700 store) once its signal handlers are set and
/// removes it when it stops. A command that changed a certificate signals the PID only when every rule holds
/// (`judge`): the record parses; it is not the command's own PID; the process exists; it belongs to the user who owns
/// the PID file (the daemon that wrote it); it started when the record says (so a PID reused after a crash is never
/// signalled); its executable is certagent and it runs `run`. The kernel's own `kill()` permission check and the store's
/// 0700 mode already limit who can ask at all.
public enum DaemonPIDFile {
    /// The file's name in the store's root.
    public static let fileName = StoreLayout.daemonPIDFile

    /// The PID file of the store at `root`.
    public static func path(storeRoot root: String) -> String { StoreKeys(root: root).daemonPID }

    /// Pure: whether the PID file's `record` (nil when unreadable), written by the user `fileOwner`, names a running
    /// certagent daemon, given what `/proc` says about that PID (`process`, nil when it does not exist) and the calling
    /// process's own PID and executable name.
    public static func judge(record: DaemonPIDRecord?, fileOwner: uid_t, process: ProcessFacts?, ownPID: Int32,
                             ownExecutableName: String? = nil) -> DaemonLiveness {
        guard let record else { return .notRunning(stale: "its PID file is not one certagent wrote") }
        let pid = record.pid
        guard pid > 1, pid != ownPID else { return .notRunning(stale: "its PID file names pid \(pid), not a daemon") }
        guard let process else { return .notRunning(stale: "pid \(pid) in its PID file has ended") }
        guard process.uid == fileOwner else {
            return .notRunning(stale: "pid \(pid) in its PID file belongs to another user (uid \(process.uid), not \(fileOwner))")
        }
        guard process.startTime == record.startTime else {
            return .notRunning(stale: "pid \(pid) in its PID file is another process now (it started later)")
        }
        let names = Set(["certagent"] + (ownExecutableName.map { [$0] } ?? []))
        let name = process.executableName ?? process.arguments.first.map { PathText.lastComponent($0) }
        guard let name, names.contains(name) else {
            return .notRunning(stale: "pid \(pid) in its PID file is not certagent (\(name ?? "unknown"))")
        }
        guard process.arguments.dropFirst().contains("run") else {
            return .notRunning(stale: "pid \(pid) in its PID file is a certagent command, not the daemon")
        }
        return .running(pid: pid)
    }

    // MARK: The daemon's side

    /// Writes this process's record (atomically, 0600). Call once the signal handlers are in place.
    public static func write(storeRoot root: String) throws {
        let pid = getpid()
        guard let facts = processFacts(pid) else { throw FileSystemError("read", path: "/proc/self/stat", reason: "no start time") }
        try AtomicFile.write(DaemonPIDRecord(pid: pid, startTime: facts.startTime).text, to: path(storeRoot: root))
    }

    /// Removes the PID file when it is this process's (another daemon's is left alone).
    public static func remove(storeRoot root: String) {
        let file = path(storeRoot: root)
        guard let record = read(file).record, record.pid == getpid() else { return }
        unlink(file)
    }

    // MARK: A command's side

    /// Whether a certagent daemon runs on the store at `root` (see `judge`).
    public static func liveness(storeRoot root: String) -> DaemonLiveness {
        let file = path(storeRoot: root)
        let (record, owner, exists) = read(file)
        guard exists else { return .notRunning(stale: nil) }
        let own = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")).map { PathText.lastComponent($0) }
        return judge(record: record, fileOwner: owner ?? uid_t.max, process: record.flatMap { processFacts($0.pid) },
                     ownPID: getpid(), ownExecutableName: own)
    }

    /// The PID file's record (nil when it cannot be read or parsed), its owner, and whether it exists. A link or anything
    /// but a regular file is not read.
    static func read(_ file: String) -> (record: DaemonPIDRecord?, owner: uid_t?, exists: Bool) {
        var info = stat()
        guard lstat(file, &info) == 0 else { return (nil, nil, false) }
        guard info.st_mode & S_IFMT == S_IFREG, let bytes = try? StoreFileReader.readFile(file, limit: 64) else { return (nil, info.st_uid, true) }
        return (String(validating: bytes, as: UTF8.self).flatMap(DaemonPIDRecord.parse), info.st_uid, true)
    }

    /// What `/proc` says about `pid`; nil when there is no such process.
    static func processFacts(_ pid: Int32) -> ProcessFacts? {
        let directory = "/proc/\(pid)"
        var info = stat()
        guard stat(directory, &info) == 0,
              let stat = try? StoreFileReader.readFile(directory + "/stat", limit: 4096).flatMap({ String(validating: $0, as: UTF8.self) }),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command name, which may hold spaces and parentheses: field 3 is the first here, 22 the 20th.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let start = UInt64(fields[19]) else { return nil }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: directory + "/exe")).map { path in
            let name = PathText.lastComponent(path)
            return name.hasSuffix(" (deleted)") ? String(name.dropLast(" (deleted)".count)) : name
        }
        let cmdline = (try? StoreFileReader.readFile(directory + "/cmdline", limit: 65_536)) ?? nil
        let arguments = (cmdline ?? []).split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
        return ProcessFacts(uid: info.st_uid, startTime: start, executableName: executable, arguments: arguments)
    }
}

/// What telling the running daemon did.
public enum DaemonNotification: Sendable, Equatable {
    /// The daemon `pid` was sent the signal.
    case told(pid: Int32)
    /// None runs (`stale`: why a PID file found was not believed).
    case noDaemon(stale: String?)
    /// It runs but the signal could not be sent (the system's reason).
    case failed(pid: Int32, reason: String)
}

extension DaemonPIDFile {
    /// Tells the daemon running on the store at `root`, if any, to look again: SIGUSR1 (re-inspect every certificate)
    /// or, when the config changed, SIGHUP (reload it). Never signals a process `liveness` does not believe.
    public static func notify(storeRoot root: String, configChanged: Bool) -> DaemonNotification {
        switch liveness(storeRoot: root) {
        case .notRunning(let stale): return .noDaemon(stale: stale)
        case .running(let pid):
            guard kill(pid, configChanged ? SIGHUP : SIGUSR1) == 0 else { return .failed(pid: pid, reason: String(cString: strerror(errno))) }
            return .told(pid: pid)
        }
    }
}
