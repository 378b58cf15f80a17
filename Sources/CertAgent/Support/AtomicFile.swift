import Foundation
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
    /// file beside `path` (`.<name>.tmp-XXXXXX`), given its owner, group and mode while still empty, then `fsync`ed.
    /// Returns its path for `commit`; the caller removes it if it does not commit.
    public static func stage(_ bytes: [UInt8], for path: String, mode: mode_t = 0o600, owner: uid_t? = nil, group: gid_t? = nil) throws -> String {
        let directory = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        var template = Array("\(directory)/.\(name).tmp-XXXXXX".utf8CString)
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
        syncDirectory((path as NSString).deletingLastPathComponent)
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
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path { try makeDirectory(parent, mode: mode) }
        if mkdir(path, mode) != 0 && errno != EEXIST { throw FileSystemError("create the directory", path: path) }
        guard chmod(path, mode) == 0 else { throw FileSystemError("set the mode of", path: path) }
    }
}
