import CertCrypto
import FoundationEssentials

/// A file whose contents the master key protects: what a rotation re-encrypts.
public enum ProtectedFile: Sendable, Equatable, CustomStringConvertible {
    /// The sealed secrets file.
    case secrets(path: String)
    /// An account key, encrypted PKCS#8 PEM under `MasterKey.accountKeyPassphrase`.
    case accountKey(path: String)

    /// The file's path.
    public var path: String {
        switch self {
        case .secrets(let path), .accountKey(let path): return path
        }
    }

    /// Where a rotation stages the re-encrypted file.
    public var stagingPath: String { path + ".next" }

    public var description: String {
        switch self {
        case .secrets(let path): return "secrets file \(path)"
        case .accountKey(let path): return "account key \(path)"
        }
    }

    /// True when the file at `path` exists and opens completely with `key` (a plain, unencrypted account key does not
    /// count as opening: it still has to be encrypted).
    func opens(_ path: String, with key: MasterKey) -> Bool {
        switch self {
        case .secrets:
            guard let subkey = try? key.secretsKey() else { return false }
            return ((try? SecretsFile.read(path: path, key: subkey)) ?? nil) != nil
        case .accountKey:
            guard let pem = try? AccountKeyFile.readPEM(path), AccountKeyFile.isEncrypted(pem) else { return false }
            return (try? AccountKeyFile.decrypt(pem, path: path, masterKey: key)) != nil
        }
    }

    /// The file's contents re-encrypted from `old` to `new` (fresh nonces and salts). Throws if `old` does not open it.
    func reencrypted(from old: MasterKey, to new: MasterKey) throws -> [UInt8] {
        switch self {
        case .secrets(let path):
            let oldKey = try old.secretsKey()
            guard let (_, sealed) = try SecretsFile.read(path: path, key: oldKey) else {
                throw FileSystemError("read", path: path, reason: "no such file")
            }
            var values: [String: [UInt8]] = [:]
            defer { for name in values.keys { SecureMemory.cleanse(&values[name]!) } }
            for (name, box) in sealed { values[name] = try SecretsFileFormat.open(box, name: name, key: oldKey, path: path) }
            return try SecretsFileFormat.seal(values: values, key: try new.secretsKey())
        case .accountKey(let path):
            let key = try AccountKeyFile.decrypt(try AccountKeyFile.readPEM(path), path: path, masterKey: old)
            return Array(try AccountKeyFile.encryptedPEM(key, masterKey: new).utf8)
        }
    }
}
