/// Why the sealed secrets file could not be opened or changed. Every case names the file; none carries a secret value.
public enum SecretsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Reading or writing the file failed.
    case fileSystem(path: String, reason: String)
    /// Not the JSON document CertAgent writes (damaged, truncated, edited by hand, or another file).
    case malformed(path: String, detail: String)
    /// A format version this build does not read.
    case unsupportedVersion(path: String, version: Int)
    /// The key check failed: the master key is not the one the file was sealed with (or the check was damaged).
    case wrongMasterKey(path: String)
    /// The key check passed but this secret's sealed value did not authenticate: tampered or damaged.
    case tampered(path: String, name: String)
    /// The name does not match `[A-Za-z0-9._-]{1,64}`.
    case invalidName(String)
    /// No secret of that name.
    case notFound(path: String, name: String)

    public var description: String {
        switch self {
        case .fileSystem(let path, let reason):
            return "secrets file \(path): \(reason)"
        case .malformed(let path, let detail):
            return "secrets file \(path) is damaged or not a CertAgent secrets file: \(detail)"
        case .unsupportedVersion(let path, let version):
            return "secrets file \(path) has format version \(version), which this CertAgent cannot read (written by a newer one?)"
        case .wrongMasterKey(let path):
            return "secrets file \(path) cannot be opened with this master key: its key check failed "
                + "(the master key is not the one it was sealed with, or the file is damaged)"
        case .tampered(let path, let name):
            return "secrets file \(path): the secret \(SecretName.quoted(name)) failed authentication "
                + "(the file was modified or damaged; restore it from a backup)"
        case .invalidName(let name):
            return "invalid secret name \(SecretName.quoted(name)): use 1 to 64 characters from A-Z a-z 0-9 . _ -"
        case .notFound(let path, let name):
            return "secrets file \(path) has no secret \(SecretName.quoted(name))"
        }
    }
}
