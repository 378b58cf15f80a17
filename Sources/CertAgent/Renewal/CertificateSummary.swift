import CertCrypto
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// A file's identity as the kernel reports it (`lstat`): device, inode, size and modification time. Writing the file,
/// renaming another over it or replacing it changes at least one of these, so a summary made from the file is known
/// to still describe it while its identity is unchanged.
public struct FileIdentity: Codable, Sendable, Equatable {
    public var device: UInt64
    public var inode: UInt64
    public var size: Int64
    /// The modification time, in nanoseconds since 1970.
    public var modified: Int64

    public init(device: UInt64, inode: UInt64, size: Int64, modified: Int64) {
        self.device = device
        self.inode = inode
        self.size = size
        self.modified = modified
    }

    /// The identity of the file at `path` itself (a symbolic link is not followed); nil when there is none.
    public static func of(_ path: String) -> FileIdentity? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
                            modified: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
    }
}

/// What planning needs to know about the current version of a stored certificate, kept in its renewal record
/// (`RenewalRecord.certificateSummary`) so a start-up, a pass or `status` does not read and check the private key again
/// while the files are those it was made from: the version (the directory the `current` link names), the identities
/// of its `fullchain.pem` and `privkey.pem`, and what was found in them. Any change underneath — another process
/// renewed, an admin replaced a file — changes an identity, and the summary is then ignored and made again.
public struct CertificateSummary: Codable, Sendable, Equatable {
    /// The version directory's name (`versions/<id>`) the `current` link pointed at.
    public var version: String
    public var fullChain: FileIdentity
    public var privateKey: FileIdentity
    /// The leaf's serial number, hex (`Certificate.serialHex`).
    public var serial: String
    public var notBefore: Date
    public var notAfter: Date
    /// The leaf's subjectAltName entries.
    public var names: [String]
    /// The leaf's ARI certificate identifier (RFC 9773 §4.1), when it has one.
    public var ariCertificateID: String?
    /// Whether the leaf's public key matches `privkey.pem`.
    public var keyMatches: Bool
    /// Everything else read from the leaf (issuer, subject, key identifiers), so the leaf is had again without parsing
    /// it (`Certificate(pem:knownFields:)`); absent in summaries of an earlier CertAgent (the leaf is parsed then).
    public var leaf: Certificate.Fields?

    public init(version: String, fullChain: FileIdentity, privateKey: FileIdentity, serial: String, notBefore: Date,
                notAfter: Date, names: [String], ariCertificateID: String?, keyMatches: Bool, leaf: Certificate.Fields? = nil) {
        self.version = version
        self.fullChain = fullChain
        self.privateKey = privateKey
        self.serial = serial
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.names = names
        self.ariCertificateID = ariCertificateID
        self.keyMatches = keyMatches
        self.leaf = leaf
    }

    /// True when this summary was made from exactly these files: same version, and both files unchanged.
    public func describes(version: String, fullChain: FileIdentity?, privateKey: FileIdentity?) -> Bool {
        self.version == version && self.fullChain == fullChain && self.privateKey == privateKey
    }
}
