import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Copies one file to its installed place atomically, with an exact owner, group and mode.
///
/// The store's own atomic write (`AtomicFile.stage` and `commit`): a temporary file beside the target, given its owner,
/// group and mode while still empty, written, `fsync`ed and renamed over the target; then the directory is `fsync`ed. A server reading the target sees the old
/// file or the new one, and never a key with looser permissions than configured.
enum InstalledFileWriter {
    /// What `install` did to a target.
    enum Outcome: Equatable {
        case written
        case unchanged
        case permissionsCorrected
    }

    /// Installed files are certificates and keys: anything larger is not one.
    static let maximumSize = 1 << 20

    /// When `target` is a regular file with exactly `bytes`, leaves it in place (correcting owner, group and mode
    /// through the open descriptor if needed) and says what it did; nil when it must be replaced.
    static func keepIfIdentical(_ bytes: [UInt8], target: InstallTarget, owner: uid_t?, group: gid_t?) throws(InstallError) -> Outcome? {
        let descriptor = open(target.path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG, Int(info.st_size) == bytes.count,
              let existing = try? readAll(descriptor, path: target.path), existing == bytes else { return nil }
        let ownerWrong = owner.map { $0 != info.st_uid } ?? false
        let groupWrong = group.map { $0 != info.st_gid } ?? false
        let modeWrong = info.st_mode & 0o7777 != target.mode
        guard ownerWrong || groupWrong || modeWrong else { return .unchanged }
        if ownerWrong || groupWrong {
            guard fchown(descriptor, owner ?? uid_t.max, group ?? gid_t.max) == 0 else { throw fileError("set the owner and group of", target.path) }
        }
        // Set after fchown, which may clear set-id bits.
        guard fchmod(descriptor, target.mode) == 0 else { throw fileError("set the mode of", target.path) }
        return .permissionsCorrected
    }

    /// Stages `bytes` beside `target` with its owner, group and mode (`AtomicFile.stage`); returns the temporary path
    /// for `commit` (or for removal when a sibling file could not be staged).
    static func stage(_ target: InstallTarget, with bytes: [UInt8], owner: uid_t?, group: gid_t?) throws(InstallError) -> String {
        do {
            return try AtomicFile.stage(bytes, for: target.path, mode: target.mode, owner: owner, group: group)
        } catch {
            throw installError(error)
        }
    }

    /// Renames a staged temporary file over its target and makes that durable (`AtomicFile.commit`).
    static func commit(_ temporary: String, to target: InstallTarget) throws(InstallError) {
        do {
            try AtomicFile.commit(temporary, to: target.path)
        } catch {
            throw installError(error)
        }
    }

    private static func installError(_ error: any Error) -> InstallError {
        guard let error = error as? FileSystemError else { return .file(operation: "write", path: "", reason: "\(error)") }
        return .file(operation: error.operation, path: error.path, reason: error.reason)
    }

    /// Reads a whole file with POSIX calls (at most `maximumSize` bytes).
    static func read(_ path: String) throws(InstallError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw fileError("read", path) }
        defer { close(descriptor) }
        return try readAll(descriptor, path: path)
    }

    private static func readAll(_ descriptor: Int32, path: String) throws(InstallError) -> [UInt8] {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw fileError("read", path) }
        do {
            return try DescriptorReader.readAll(descriptor, size: Int(info.st_size), limit: maximumSize)
        } catch {
            switch error {
            case .tooLarge: throw InstallError.file(operation: "read", path: path, reason: "larger than \(maximumSize) bytes: not a certificate or key file")
            case .read(let code): throw fileError("read", path, errno: code)
            }
        }
    }

    /// An `InstallError.file` with the current `errno`'s text.
    static func fileError(_ operation: String, _ path: String, errno code: Int32 = errno) -> InstallError {
        .file(operation: operation, path: path, reason: String(cString: strerror(code)))
    }
}
