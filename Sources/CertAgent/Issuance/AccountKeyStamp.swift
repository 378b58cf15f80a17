#if canImport(Glibc)
import Glibc
#endif

/// The identity of the account key file at one moment (device, inode, change time). A rollover renames a new file
/// into place and a deactivation removes it, so a different stamp means the key a connection signs with is outdated.
public struct AccountKeyStamp: Sendable, Equatable {
    let device: UInt64
    let inode: UInt64
    let changeSeconds: Int
    let changeNanoseconds: Int

    /// The stamp of the file at `path` (not following a link), nil when there is none.
    init?(path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        changeSeconds = Int(info.st_ctim.tv_sec)
        changeNanoseconds = Int(info.st_ctim.tv_nsec)
    }
}

/// The account key file a connection was made with, to tell when it has been replaced since.
public struct AccountKeyCheck: Sendable {
    public let keyFile: String
    public let stamp: AccountKeyStamp?

    /// True when the account key file is no longer the one the connection was made with (rolled over, retired).
    public var isOutdated: Bool { AccountKeyStamp(path: keyFile) != stamp }
}
