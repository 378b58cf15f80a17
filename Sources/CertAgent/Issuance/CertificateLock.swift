/// Another process is renewing the same certificate right now.
public struct CertificateBusy: Error, Sendable, CustomStringConvertible {
    public let name: String
    public let lockFile: String

    public var description: String {
        "another certagent process (the daemon, or a renew/issue command) is getting a certificate for \(name) right now "
            + "(\(lockFile) is locked): wait for it, or see `certagent status`"
    }
}

extension CertificateStore {
    /// Takes the exclusive per-certificate lock that every issuance holds, so the daemon and a manual `renew` or
    /// `issue` never order, stage and commit the same certificate at once. Fails at once when it is held.
    public func lockForIssuance(_ name: String) throws -> FileLock {
        let directory = certificateDirectory(name)
        try AtomicFile.makeDirectory(directory)
        let path = directory + "/.issuing.lock"
        do {
            return try FileLock(path: path, mode: .exclusive)
        } catch .busy {
            throw CertificateBusy(name: name, lockFile: path)
        } catch .system(let reason) {
            throw FileSystemError("lock", path: path, reason: reason)
        }
    }
}
