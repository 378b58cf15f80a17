#if canImport(Glibc)
import Glibc
#endif

/// Why the master key could not be loaded, created or rotated. Messages name the file and the fix; they never
/// contain key material.
public enum MasterKeyError: Error, Sendable, CustomStringConvertible {
    /// Key bytes handed to `MasterKey(bytes:)` were not 32.
    case wrongLength(Int)
    /// The systemd credential file exists but could not be read.
    case credentialUnreadable(path: String, reason: String)
    /// The systemd credential holds something other than a 32-byte key in one of the accepted encodings.
    case credentialMalformed(path: String, size: Int)
    /// No key file, and creating one was not allowed.
    case keyFileMissing(path: String)
    /// The key file is not a regular file.
    case keyFileNotRegular(path: String)
    /// The key file can be read or written by group or others.
    case keyFileInsecureMode(path: String, mode: mode_t)
    /// The key file belongs to another user.
    case keyFileWrongOwner(path: String, owner: uid_t, expected: uid_t)
    /// The key file is not exactly 32 bytes.
    case keyFileWrongSize(path: String, size: Int)
    /// Reading or creating the key file failed.
    case keyFileUnreadable(path: String, reason: String)
    /// `master.key.next` exists without `master.key`: refusing to guess.
    case pendingKeyWithoutKey(path: String, pending: String)
    /// Rotation with a generated key was asked for while the key comes from a read-only systemd credential.
    case rotationNeedsExplicitKey(credential: String)
    /// A file protected by the master key opens with none of the candidate keys.
    case fileOpensWithNoKey(path: String, detail: String)

    public var description: String {
        switch self {
        case .wrongLength(let count):
            return "a master key must be \(MasterKey.length) bytes, got \(count)"
        case .credentialUnreadable(let path, let reason):
            return "cannot read the systemd credential \(path): \(reason)"
        case .credentialMalformed(let path, let size):
            return "the systemd credential \(path) is not a master key (\(size) bytes): it must hold exactly 32 raw bytes, "
                + "or 64 hex digits, or 32 bytes in base64 (43 or 44 characters), optionally followed by one newline"
        case .keyFileMissing(let path):
            return "the master key file \(path) does not exist (create it with: head -c 32 /dev/urandom > \(path) && chmod 600 \(path))"
        case .keyFileNotRegular(let path):
            return "the master key file \(path) is not a regular file"
        case .keyFileInsecureMode(let path, let mode):
            return "refusing the master key file \(path): its mode \(octal(mode)) lets group or others access it "
                + "(fix: chmod 600 \(path))"
        case .keyFileWrongOwner(let path, let owner, let expected):
            return "refusing the master key file \(path): it is owned by uid \(owner), not by the running user (uid \(expected)) "
                + "(fix: chown \(expected) \(path))"
        case .keyFileWrongSize(let path, let size):
            return "refusing the master key file \(path): it is \(size) bytes, a master key is exactly 32 raw bytes "
                + "(not hex or base64; a new one: head -c 32 /dev/urandom > \(path))"
        case .keyFileUnreadable(let path, let reason):
            return "cannot read the master key file \(path): \(reason)"
        case .pendingKeyWithoutKey(let path, let pending):
            return "\(pending) exists but \(path) does not: an interrupted key rotation cannot be recovered without the "
                + "current key; restore \(path) from a backup"
        case .rotationNeedsExplicitKey(let credential):
            return "cannot rotate the master key in place: it comes from the systemd credential \(credential), which is read-only. "
                + "Generate a new key file (head -c 32 /dev/urandom > NEW && chmod 600 NEW), re-encrypt with it "
                + "(rotation to an explicit new key), then point LoadCredential=certagent-master-key: (or LoadCredentialEncrypted=) "
                + "at NEW and restart"
        case .fileOpensWithNoKey(let path, let detail):
            return "\(path) opens with none of the master keys: \(detail)"
        }
    }
}
