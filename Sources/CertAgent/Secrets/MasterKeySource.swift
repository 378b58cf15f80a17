import CertCrypto
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Where the master key came from.
public enum MasterKeyOrigin: Sendable, Equatable, CustomStringConvertible {
    /// `$CREDENTIALS_DIRECTORY/certagent-master-key` (systemd `LoadCredential=` / `LoadCredentialEncrypted=`): read-only.
    case systemdCredential(path: String)
    /// A key file CertAgent owns (and may create and rotate).
    case keyFile(path: String)

    public var description: String {
        switch self {
        case .systemdCredential(let path): return "systemd credential \(path)"
        case .keyFile(let path): return "key file \(path)"
        }
    }
}

/// The result of loading: the current key and, after an interrupted rotation, the key it was rotating to.
public struct LoadedMasterKey: Sendable {
    /// The key in `master.key` (or the systemd credential).
    public let key: MasterKey
    /// The key in `master.key.next` when a rotation was interrupted: call `MasterKeyRotation.recover` before using
    /// any secret.
    public let pendingKey: MasterKey?
    /// Where `key` came from.
    public let origin: MasterKeyOrigin
    /// True when the key file did not exist and was created by this load.
    public let created: Bool
}

/// Loads the master key: from a systemd credential when one is passed to the service, else from a key file.
///
/// Credential: when `$CREDENTIALS_DIRECTORY` is set and `$CREDENTIALS_DIRECTORY/certagent-master-key` exists, e.g.
/// `LoadCredential=certagent-master-key:/etc/certagent/master.key` or
/// `LoadCredentialEncrypted=certagent-master-key:/etc/certagent/master.key.cred`. Its encodings are described at
/// `MasterKeyEncoding` (32 raw bytes, or 64 hex digits, or base64 of 32 bytes, each with an optional newline).
///
/// Key file: exactly 32 raw bytes, a regular file owned by the running user with no group or other permission
/// bits (0600 or 0400). Anything else is refused with a message that names the file and the fix. When it is missing
/// and `createIfMissing` is set, a new random key is written (0600, atomically, never replacing a key another process
/// wrote at the same moment); a missing parent directory is created 0700.
public struct MasterKeySource: Sendable {
    /// The credential name looked up in `$CREDENTIALS_DIRECTORY`.
    public static let credentialName = "certagent-master-key"

    /// The key file (the integrator's default: `<config dir>/master.key`).
    public let keyFile: String
    /// Create `keyFile` with a random key when it does not exist.
    public let createIfMissing: Bool
    /// The environment to look for `CREDENTIALS_DIRECTORY` in.
    public let environment: [String: String]

    public init(keyFile: String, createIfMissing: Bool,
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.keyFile = keyFile
        self.createIfMissing = createIfMissing
        self.environment = environment
    }

    /// Where a rotation stages the next key: `<keyFile>.next`.
    public var pendingKeyFile: String { keyFile + ".next" }

    /// The systemd credential path if the service was given one.
    public var credentialPath: String? {
        guard let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty else { return nil }
        let path = directory + "/" + Self.credentialName
        return access(path, F_OK) == 0 ? path : nil
    }

    /// Loads the current key (and a pending one, see `LoadedMasterKey.pendingKey`).
    public func load() throws -> LoadedMasterKey {
        if let credential = credentialPath {
            return LoadedMasterKey(key: try Self.readCredential(credential), pendingKey: try readPending(),
                                   origin: .systemdCredential(path: credential), created: false)
        }
        if let key = try Self.readKeyFile(keyFile) {
            return LoadedMasterKey(key: key, pendingKey: try readPending(), origin: .keyFile(path: keyFile), created: false)
        }
        if access(pendingKeyFile, F_OK) == 0 { throw MasterKeyError.pendingKeyWithoutKey(path: keyFile, pending: pendingKeyFile) }
        guard createIfMissing else { throw MasterKeyError.keyFileMissing(path: keyFile) }
        let (key, created) = try createKeyFile()
        return LoadedMasterKey(key: key, pendingKey: nil, origin: .keyFile(path: keyFile), created: created)
    }

    private func readPending() throws -> MasterKey? { try Self.readKeyFile(pendingKeyFile) }

    static func readCredential(_ path: String) throws -> MasterKey {
        let outcome: SecureFileReader.Outcome
        do { outcome = try SecureFileReader.read(path, limit: 4096) } catch let error as FileSystemError {
            throw MasterKeyError.credentialUnreadable(path: path, reason: error.reason)
        }
        guard case .contents(var contents) = outcome else {
            throw MasterKeyError.credentialUnreadable(path: path, reason: "it disappeared")
        }
        defer { contents.cleanse() }
        guard contents.isRegular else { throw MasterKeyError.credentialUnreadable(path: path, reason: "not a regular file") }
        guard var bytes = MasterKeyEncoding.decode(contents.bytes) else {
            throw MasterKeyError.credentialMalformed(path: path, size: contents.bytes.count)
        }
        defer { SecureMemory.cleanse(&bytes) }
        return try MasterKey(bytes: bytes)
    }

    /// Reads and checks a key file; nil when it does not exist.
    static func readKeyFile(_ path: String) throws -> MasterKey? {
        let outcome: SecureFileReader.Outcome
        do { outcome = try SecureFileReader.read(path, limit: 4096) } catch let error as FileSystemError {
            throw MasterKeyError.keyFileUnreadable(path: path, reason: error.reason)
        }
        guard case .contents(var contents) = outcome else { return nil }
        defer { contents.cleanse() }
        guard contents.isRegular else { throw MasterKeyError.keyFileNotRegular(path: path) }
        guard contents.owner == geteuid() else {
            throw MasterKeyError.keyFileWrongOwner(path: path, owner: contents.owner, expected: geteuid())
        }
        guard contents.mode & 0o077 == 0 else { throw MasterKeyError.keyFileInsecureMode(path: path, mode: contents.mode) }
        guard contents.bytes.count == MasterKey.length else {
            throw MasterKeyError.keyFileWrongSize(path: path, size: contents.bytes.count)
        }
        return try MasterKey(bytes: contents.bytes)
    }

    /// Writes a new random key without ever replacing an existing file: written in full beside it, then hard-linked
    /// into place (`link` fails if another process created the file first, whose key is then used).
    private func createKeyFile() throws -> (MasterKey, Bool) {
        let directory = PathText.parent(keyFile)
        if !directory.isEmpty, !PathSafety.isDirectory(directory) { try AtomicFile.makeDirectory(directory, mode: 0o700) }
        let key = try MasterKey.generate()
        let staging = "\(keyFile).new-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        try AtomicFile.write(key.material.bytes, to: staging, mode: 0o600)
        defer { unlink(staging) }
        if link(staging, keyFile) != 0 {
            let code = errno
            guard code == EEXIST, let existing = try Self.readKeyFile(keyFile) else {
                throw MasterKeyError.keyFileUnreadable(path: keyFile, reason: "cannot create it: \(String(cString: strerror(code)))")
            }
            return (existing, false)
        }
        unlink(staging)
        AtomicFile.syncDirectory(directory.isEmpty ? "." : directory)
        return (key, true)
    }
}
