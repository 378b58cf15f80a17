#if canImport(Glibc)
import Glibc
#endif

/// Why a `FileLock` was not taken.
public enum FileLockFailure: Error, Sendable, Equatable {
    /// Another process holds it in a conflicting mode.
    case busy
    /// The file could not be opened or locked (the system's reason).
    case system(String)
}

/// An advisory `flock(2)` on one file (created 0600 if missing, never removed), held until the value goes away or the
/// process exits — so a crashed holder never leaves a stale lock.
public final class FileLock: Sendable {
    /// Shared (many holders) or exclusive (one holder, nobody else).
    public enum Mode: Sendable, Equatable { case shared, exclusive }

    public let path: String
    public let mode: Mode
    private let descriptor: Int32

    /// Takes the lock; without `wait`, a conflicting holder makes it fail at once with `.busy`.
    public init(path: String, mode: Mode, wait: Bool = false) throws(FileLockFailure) {
        self.path = path
        self.mode = mode
        let descriptor = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .system(String(cString: strerror(errno))) }
        var operation = mode == .exclusive ? LOCK_EX : LOCK_SH
        if !wait { operation |= LOCK_NB }
        while flock(descriptor, operation) != 0 {
            let code = errno
            if code == EINTR { continue }
            close(descriptor)
            if code == EWOULDBLOCK { throw .busy }
            throw .system(String(cString: strerror(code)))
        }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }
}
