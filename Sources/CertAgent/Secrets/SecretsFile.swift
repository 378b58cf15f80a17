import CertCrypto
import FoundationEssentials
import Synchronization

/// Named secrets (an EAB HMAC key, API tokens, mail passwords) sealed with AES-256-GCM under a subkey of the master
/// key, in one file (the integrator's default: `<storage>/secrets.sealed`). The format is described at
/// `SecretsFileFormat`.
///
/// `open` verifies the key check and every sealed value, so a wrong key, a tampered byte or a truncated file is
/// refused at once (`SecretsError`, naming the file). Each `set`/`remove` re-reads and fully verifies the file on
/// disk before writing, so it never replaces a file it could not open, and writes atomically with mode 0600.
/// Decrypted values are held only while `value(named:)` returns them.
///
/// Safe to share between threads; not locked against another process changing the same file at the same moment.
public final class SecretsFile: Sendable {
    /// The file.
    public let path: String
    private let key: KeyBytes
    private let sealed: Mutex<[String: [UInt8]]>

    private init(path: String, key: KeyBytes, sealed: [String: [UInt8]]) {
        self.path = path
        self.key = key
        self.sealed = Mutex(sealed)
    }

    /// Opens (and verifies) the secrets file at `path`. When it does not exist and `createIfMissing` is set, an empty
    /// one is written, so that from then on a different master key is detected; otherwise it is treated as empty
    /// until the first `set`.
    public static func open(path: String, masterKey: MasterKey, createIfMissing: Bool = true) throws -> SecretsFile {
        let key = try masterKey.secretsKey()
        if let (_, sealed) = try read(path: path, key: key) {
            return SecretsFile(path: path, key: key, sealed: sealed)
        }
        if createIfMissing { try write(SecretsFileFormat.seal(values: [:], key: key), to: path) }
        return SecretsFile(path: path, key: key, sealed: [:])
    }

    /// The names of the stored secrets, sorted.
    public func names() -> [String] { sealed.withLock { $0.keys.sorted() } }

    /// The value of secret `name`. Wipe it (`SecureMemory.cleanse`) when done.
    public func value(named name: String) throws -> [UInt8] {
        guard SecretName.isValid(name) else { throw SecretsError.invalidName(name) }
        guard let box = sealed.withLock({ $0[name] }) else { throw SecretsError.notFound(path: path, name: name) }
        return try SecretsFileFormat.open(box, name: name, key: key, path: path)
    }

    /// Stores `value` under `name` (replacing any previous value), sealed with a fresh nonce.
    public func set(name: String, value: [UInt8]) throws {
        guard SecretName.isValid(name) else { throw SecretsError.invalidName(name) }
        try update { current in current[name] = try SecretsFileFormat.seal(value, name: name, key: key) }
    }

    /// Removes secret `name`; false when there was none (the file is then left untouched).
    @discardableResult
    public func remove(name: String) throws -> Bool {
        guard SecretName.isValid(name) else { throw SecretsError.invalidName(name) }
        var removed = false
        try update { current in removed = current.removeValue(forKey: name) != nil }
        return removed
    }

    /// Every value, decrypted (for rotation and for `SecretRedaction`). Wipe them when done.
    func allValues() throws -> [String: [UInt8]] {
        let snapshot = sealed.withLock { $0 }
        var values: [String: [UInt8]] = [:]
        for (name, box) in snapshot { values[name] = try SecretsFileFormat.open(box, name: name, key: key, path: path) }
        return values
    }

    /// Re-reads the file, applies `change` to its sealed values and writes it, all under the lock.
    private func update(_ change: (inout [String: [UInt8]]) throws -> Void) throws {
        try sealed.withLock { state in
            var current = try Self.read(path: path, key: key)?.sealed ?? [:]
            let before = current
            try change(&current)
            if current != before || !FileManager.default.fileExists(atPath: path) {
                try Self.write(SecretsFileFormat.encode(check: try SecretsFileFormat.sealCheck(key: key), sealed: current), to: path)
            }
            state = current
        }
    }

    /// The verified contents of the file, or nil when it does not exist.
    static func read(path: String, key: KeyBytes) throws -> (check: [UInt8], sealed: [String: [UInt8]])? {
        let outcome: SecureFileReader.Outcome
        do { outcome = try SecureFileReader.read(path, limit: 16 << 20, followingLinks: false) } catch let error as FileSystemError {
            throw SecretsError.fileSystem(path: path, reason: error.description)
        }
        guard case .contents(let contents) = outcome else { return nil }
        guard contents.isRegular else { throw SecretsError.fileSystem(path: path, reason: "not a regular file") }
        return try SecretsFileFormat.decode(contents.bytes, path: path, key: key)
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        do { try AtomicFile.write(bytes, to: path, mode: 0o600) } catch {
            throw SecretsError.fileSystem(path: path, reason: "\(error)")
        }
    }
}
