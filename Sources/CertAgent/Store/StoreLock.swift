import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Why the store lock could not be taken.
public enum StoreLockError: Error, Sendable, CustomStringConvertible {
    /// Another process holds the lock in a conflicting mode (and waiting was not asked for).
    case busy(path: String, wanted: StoreLock.Mode)
    /// The lock file could not be opened or locked.
    case fileSystem(path: String, reason: String)

    public var description: String {
        switch self {
        case .busy(let path, .exclusive):
            return "another certagent process (the daemon, or an issue/renew/secret command) is using the store (\(path) is locked): "
                + "stop the daemon first (e.g. systemctl stop certagent), then try again"
        case .busy(let path, .shared):
            return "the store is locked for a master key rotation (\(path)): wait for it to finish, then try again"
        case .fileSystem(let path, let reason):
            return "cannot lock the store with \(path): \(reason)"
        }
    }
}

/// An advisory `flock(2)` on `<store>/.lock`, held until the value is released or goes away (or the process exits).
///
/// Protocol: every process that reads or writes the store for a while (the daemon for its whole life; `issue`,
/// `renew`, `revoke`, `secret set`/`remove`) holds it *shared*; a master-key rotation holds it *exclusive*, so it
/// never runs while anything else has the store open and nothing starts while it runs. The lock file is empty,
/// mode 0600, created on first use and never removed (removing it would let two processes lock different files).
public final class StoreLock: Sendable {
    public typealias Mode = FileLock.Mode

    /// The lock file's name in the store.
    public static let fileName = ".lock"

    /// The lock file.
    public var path: String { lock.path }
    public var mode: Mode { lock.mode }
    private let lock: FileLock

    /// Takes the lock on `<storeRoot>/.lock` (the store directory must exist). With `wait` false a conflicting holder
    /// makes it throw `StoreLockError.busy` at once; with `wait` true it blocks until the lock is free.
    public init(storeRoot: String, mode: Mode, wait: Bool = false) throws {
        let path = StoreKeys(root: storeRoot).storeLock
        do {
            lock = try FileLock(path: path, mode: mode, wait: wait)
        } catch .busy {
            throw StoreLockError.busy(path: path, wanted: mode)
        } catch .system(let reason) {
            throw StoreLockError.fileSystem(path: path, reason: reason)
        }
    }

    /// Takes the lock only when the lock file already exists (nil otherwise), so a command that must write nothing
    /// (`certagent check`) never creates it. No lock file means no process has used the store with this version yet.
    public static func ifPresent(storeRoot: String, mode: Mode) throws -> StoreLock? {
        var info = stat()
        guard lstat(StoreKeys(root: storeRoot).storeLock, &info) == 0 else { return nil }
        return try StoreLock(storeRoot: storeRoot, mode: mode)
    }
}
