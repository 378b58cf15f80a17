import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Failure of a file-system step, naming the path and the system's reason.
public struct FileSystemError: Error, Sendable, CustomStringConvertible {
    public let operation: String
    public let path: String
    public let reason: String

    public init(_ operation: String, path: String, errno code: Int32 = errno) {
        self.operation = operation
        self.path = path
        self.reason = String(cString: strerror(code))
    }

    public init(_ operation: String, path: String, reason: String) {
        self.operation = operation
        self.path = path
        self.reason = reason
    }

    public var description: String { "cannot \(operation) \(path): \(reason)" }
}

/// Crash-safe file writes: a temporary file in the same directory, written, `fsync`ed, then renamed over the target,
/// and the directory `fsync`ed — so a reader sees the old file or the new one, never half of one.
public enum AtomicFile {
    /// Writes `bytes` to `path` with exactly `mode` (not subject to the umask), and `owner`/`group` when given.
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600, owner: uid_t? = nil, group: gid_t? = nil) throws {
        try commit(try stage(bytes, for: path, mode: mode, owner: owner, group: group), to: path)
    }

    /// The first half of `write`, for callers that replace several files as a set: writes `bytes` to a new temporary
    /// file beside `path` (`.<name>.tmp-<pid>-XXXXXX`), given its owner, group and mode while still empty, then
    /// `fsync`ed. Temporaries of `path` that a crashed writer left are removed first (`removeAbandonedTemporaries`).
    /// Returns its path for `commit`; the caller removes it if it does not commit.
    public static func stage(_ bytes: [UInt8], for path: String, mode: mode_t = 0o600, owner: uid_t? = nil, group: gid_t? = nil) throws -> String {
        let directory = PathText.parent(path)
        let name = PathText.lastComponent(path)
        removeAbandonedTemporaries(of: path)
        var template = Array("\(directory)/.\(name)\(temporaryInfix)\(getpid())-XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { GlibcExtensions.makeCloseOnExecTemporaryFile($0.baseAddress!) }
        guard descriptor >= 0 else { throw FileSystemError("create a temporary file in", path: directory) }
        let temporary = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var staged = false
        defer { if !staged { unlink(temporary) } }
        do {
            defer { close(descriptor) }
            if owner != nil || group != nil {
                guard fchown(descriptor, owner ?? uid_t.max, group ?? gid_t.max) == 0 else { throw FileSystemError("set the owner and group of", path: temporary) }
            }
            // After fchown, which may clear set-id bits.
            guard fchmod(descriptor, mode) == 0 else { throw FileSystemError("set the mode of", path: temporary) }
            try writeAll(bytes, to: descriptor, path: temporary)
            guard fsync(descriptor) == 0 else { throw FileSystemError("flush", path: temporary) }
        }
        staged = true
        return temporary
    }

    /// The second half of `write`: renames a staged file over `path` and makes that durable (removing it on failure).
    public static func commit(_ temporary: String, to path: String) throws {
        guard rename(temporary, path) == 0 else {
            let error = FileSystemError("rename a temporary file onto", path: path)
            unlink(temporary)
            throw error
        }
        syncDirectory(PathText.parent(path))
    }

    /// Writes text as UTF-8 (see `write(_:to:mode:)`).
    public static func write(_ text: String, to path: String, mode: mode_t = 0o600) throws {
        try write(Array(text.utf8), to: path, mode: mode)
    }

    static func writeAll(_ bytes: [UInt8], to descriptor: Int32, path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw FileSystemError("write", path: path)
            }
            offset += written
        }
    }

    // MARK: Temporaries a crash left

    /// What separates a target's name from the rest of its temporaries' names.
    static let temporaryInfix = ".tmp-"
    /// A temporary whose writer cannot be told is abandoned once it is this old (no write takes a minute)...
    static let unattributedTemporaryAge: TimeInterval = 60
    /// ...and one whose writer's process id is still in use (perhaps by another process now) once it is this old.
    static let attributedTemporaryAge: TimeInterval = 3600

    /// The file name a temporary named `name` was made for (`.<target>.tmp-<pid>-XXXXXX`, or `.<target>.tmp-XXXXXX`
    /// as written before the process id was part of the name); nil when `name` is not such a temporary.
    public static func temporaryTarget(_ name: String) -> String? {
        guard name.hasPrefix("."), let infix = name.ranges(of: temporaryInfix).last,
              infix.lowerBound > name.startIndex else { return nil }
        let target = String(name[name.index(after: name.startIndex) ..< infix.lowerBound])
        guard !target.isEmpty, temporaryWriter(String(name[infix.upperBound...])) != nil else { return nil }
        return target
    }

    /// The writer's process id in a temporary's suffix (0 when the old form names none); nil when it is no suffix of ours.
    private static func temporaryWriter(_ suffix: String) -> pid_t? {
        let isRandom = { (part: Substring) in part.count == 6 && part.unicodeScalars.allSatisfy { $0.isASCII && $0.properties.isAlphabetic || ("0"..."9").contains($0) } }
        let parts = suffix.split(separator: "-", omittingEmptySubsequences: false)
        if parts.count == 1, isRandom(parts[0]) { return 0 }
        guard parts.count == 2, isRandom(parts[1]), let pid = pid_t(parts[0]), pid > 0 else { return nil }
        return pid
    }

    /// True when the temporary at `path` was left by a writer that is gone: its process no longer exists, or (when its
    /// name names none, or the id may be in use by another process now — this one included, after a restart in a PID
    /// namespace) it has not been touched for far longer than any write takes. A temporary of a writer that may still
    /// be running is never taken for abandoned.
    static func isAbandonedTemporary(_ path: String, now: Date = Date()) -> Bool {
        let name = PathText.lastComponent(path)
        guard let infix = name.ranges(of: temporaryInfix).last,
              let writer = temporaryWriter(String(name[infix.upperBound...])) else { return false }
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return false }
        let age = now.timeIntervalSince1970 - TimeInterval(info.st_mtim.tv_sec)
        if writer == 0 { return age > unattributedTemporaryAge }
        if writer != getpid(), kill(writer, 0) != 0, errno == ESRCH { return true }
        return age > attributedTemporaryAge
    }

    /// Removes the temporaries of `path` that a crashed or killed writer left beside it (see `isAbandonedTemporary`);
    /// returns the ones removed.
    @discardableResult
    public static func removeAbandonedTemporaries(of path: String) -> [String] {
        let directory = PathText.parent(path)
        let target = PathText.lastComponent(path)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory)) ?? []
        var removed: [String] = []
        for entry in entries where temporaryTarget(entry) == target {
            let temporary = (directory.isEmpty ? "." : directory) + "/" + entry
            if isAbandonedTemporary(temporary), unlink(temporary) == 0 { removed.append(temporary) }
        }
        return removed
    }

    /// Makes a rename or unlink in `directory` durable.
    public static func syncDirectory(_ directory: String) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }

    /// Creates `path` and any missing parents; directories it creates get `mode`. An existing directory is left as it is.
    public static func makeDirectory(_ path: String, mode: mode_t = 0o700) throws {
        if PathSafety.isDirectory(path) { return }
        let parent = PathText.parent(path)
        if !parent.isEmpty, parent != path { try makeDirectory(parent, mode: mode) }
        if mkdir(path, mode) != 0 && errno != EEXIST { throw FileSystemError("create the directory", path: path) }
        guard chmod(path, mode) == 0 else { throw FileSystemError("set the mode of", path: path) }
    }
}
