import CertCrypto
import FoundationEssentials

/// The ACME account key on disk: encrypted PKCS#8 PEM (PBES2, AES-256-CBC) under `MasterKey.accountKeyPassphrase`,
/// mode 0600. See `MasterKey.accountKeyPassphrase` for opening it with the openssl CLI.
public enum AccountKeyFile {
    /// Writes `key` encrypted under `masterKey` to `path`, atomically, mode 0600.
    public static func write(_ key: PrivateKey, to path: String, masterKey: MasterKey) throws {
        try AtomicFile.write(try encryptedPEM(key, masterKey: masterKey), to: path, mode: 0o600)
    }

    /// Reads the key at `path`. An unencrypted PEM (written before keys were encrypted) is accepted and
    /// re-written encrypted on the spot, so a plain-text account key does not outlive the first start.
    public static func read(_ path: String, masterKey: MasterKey) throws -> PrivateKey {
        let pem = try readPEM(path)
        let key = try decrypt(pem, path: path, masterKey: masterKey)
        if !isEncrypted(pem) { try write(key, to: path, masterKey: masterKey) }
        return key
    }

    static func encryptedPEM(_ key: PrivateKey, masterKey: MasterKey) throws -> String {
        var passphrase = try masterKey.accountKeyPassphrase
        defer { SecureMemory.cleanse(&passphrase) }
        return try key.encryptedPKCS8PEM(passphrase: passphrase)
    }

    static func isEncrypted(_ pem: String) -> Bool { pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") }

    /// Opens `pem` with `masterKey`; a plain PEM opens with any key.
    static func decrypt(_ pem: String, path: String, masterKey: MasterKey) throws -> PrivateKey {
        var passphrase = try masterKey.accountKeyPassphrase
        defer { SecureMemory.cleanse(&passphrase) }
        do {
            return try PrivateKey(pem: pem, passphrase: passphrase)
        } catch {
            throw MasterKeyError.fileOpensWithNoKey(path: path, detail: "the account key does not decrypt with \(masterKey)")
        }
    }

    static func readPEM(_ path: String) throws -> String {
        guard case .contents(var contents) = try SecureFileReader.read(path, limit: 1 << 20, followingLinks: false) else {
            throw FileSystemError("read", path: path, reason: "no such file")
        }
        defer { contents.cleanse() }
        return String(decoding: contents.bytes, as: UTF8.self)
    }
}
