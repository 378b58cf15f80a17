#if canImport(Glibc)
import Glibc
#endif

/// Another process is renewing the same certificate right now.
public struct CertificateBusy: Error, Sendable, CustomStringConvertible {
    public let name: String
    public let lockFile: String
    /// The process that took the lock to order this certificate, when it noted its PID (`noteIssuanceHolder`).
    public let holderPID: Int32?

    public var description: String {
        "another certagent process (the daemon, or a renew/issue command\(holderPID.map { "; pid \($0)" } ?? "")) is getting "
            + "a certificate for \(name) right now (\(lockFile) is locked): wait for it, or see `certagent status`"
    }
}

extension CertificateStore {
    private func issuanceLockPath(_ name: String) -> String { keys.issuanceLock(name) }

    /// Takes the exclusive per-certificate lock that every issuance holds, so the daemon and a manual `renew` or
    /// `issue` never order, stage and commit the same certificate at once. Fails at once when it is held.
    public func lockForIssuance(_ name: String) throws -> FileLock {
        let directory = certificateDirectory(name)
        try AtomicFile.makeDirectory(directory)
        let path = issuanceLockPath(name)
        do {
            return try FileLock(path: path, mode: .exclusive)
        } catch .busy {
            throw CertificateBusy(name: name, lockFile: path, holderPID: lastIssuanceHolder(name))
        } catch .system(let reason) {
            throw FileSystemError("lock", path: path, reason: reason)
        }
    }

    /// Notes this process's PID in the lock file of `name` (call while holding `lockForIssuance`, before ordering), so
    /// a process that waited for the lock can say who got the certificate. Written in place: replacing the file would
    /// give later lockers a different file to lock. Best effort: the PID is only ever shown to people.
    public func noteIssuanceHolder(_ name: String) {
        let descriptor = open(issuanceLockPath(name), O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        let text = Array("\(getpid())\n".utf8)
        guard ftruncate(descriptor, 0) == 0 else { return }
        _ = text.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
    }

    /// The PID the last process to order `name` noted (`noteIssuanceHolder`), if any.
    public func lastIssuanceHolder(_ name: String) -> Int32? {
        let descriptor = open(issuanceLockPath(name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: 16)
        let count = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0, let text = String(validating: bytes[..<count], as: UTF8.self) else { return nil }
        return Int32(text.prefix { $0 != "\n" }).flatMap { $0 > 0 ? $0 : nil }
    }
}
