#if canImport(Glibc)
import Glibc
#endif

/// The file-system steps a master-key rotation takes, one call per durable step, so that tests can stop it after any
/// step (as a crash would) and check that recovery copes.
public protocol RotationFileOperations: Sendable {
    /// Writes `bytes` to `path` atomically with mode 0600 (`AtomicFile.write`).
    func write(_ bytes: [UInt8], to path: String) throws
    /// Renames `source` over `destination` and makes the rename durable.
    func rename(_ source: String, to destination: String) throws
    /// Removes `path` (no error when it is already gone) and makes that durable.
    func remove(_ path: String) throws
}

/// The real file system.
public struct SystemRotationFileOperations: RotationFileOperations {
    public init() {}

    public func write(_ bytes: [UInt8], to path: String) throws { try AtomicFile.write(bytes, to: path, mode: 0o600) }

    public func rename(_ source: String, to destination: String) throws {
        guard Glibc.rename(source, destination) == 0 else { throw FileSystemError("rename \(source) onto", path: destination) }
        AtomicFile.syncDirectory(Self.directory(of: destination))
    }

    public func remove(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else { throw FileSystemError("remove", path: path) }
        AtomicFile.syncDirectory(Self.directory(of: path))
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
