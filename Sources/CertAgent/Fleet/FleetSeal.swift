import CertCrypto
import FoundationEssentials

/// Seals what fleet mode writes to etcd that must not be readable there: certificate versions (their private key) and
/// account keys. AES-256-GCM (`SecretBox`) under a subkey of the master key — HKDF-SHA256(master key, no salt,
/// info "certagent fleet v1") — with the etcd key as associated data, so a sealed value opens only under the key it
/// was written to, and only on a node with the same master key.
public struct FleetSeal: Sendable {
    static let info = "certagent fleet v1"
    private let key: KeyBytes

    public init(masterKey: MasterKey) throws {
        var derived = try KeyDerivation.hkdfSHA256(key: masterKey.material.bytes, salt: [], info: Array(Self.info.utf8), length: SecretBox.keyLength)
        defer { SecureMemory.cleanse(&derived) }
        key = KeyBytes(derived)
    }

    /// `plaintext` sealed for the etcd key `etcdKey`.
    public func seal(_ plaintext: [UInt8], for etcdKey: String) throws -> [UInt8] {
        try SecretBox.seal(plaintext, key: key.bytes, associatedData: Array(etcdKey.utf8))
    }

    /// The plaintext of `sealed` read from `etcdKey`; throws `FleetSealError` when it does not open (another master
    /// key, a value moved from another key, tampering).
    public func open(_ sealed: [UInt8], from etcdKey: String) throws -> [UInt8] {
        do { return try SecretBox.open(sealed, key: key.bytes, associatedData: Array(etcdKey.utf8)) } catch {
            throw FleetSealError(key: etcdKey)
        }
    }

    /// `value` as sealed JSON for `etcdKey`.
    func sealJSON(_ value: some Encodable, for etcdKey: String) throws -> [UInt8] {
        var plain = try StoreJSON.encode(value, compact: true)
        defer { SecureMemory.cleanse(&plain) }
        return try seal(plain, for: etcdKey)
    }

    /// The sealed JSON value at `etcdKey`.
    func openJSON<T: Decodable>(_ type: T.Type, _ sealed: [UInt8], from etcdKey: String) throws -> T {
        var plain = try open(sealed, from: etcdKey)
        defer { SecureMemory.cleanse(&plain) }
        return try StoreJSON.decode(type, from: plain)
    }
}

/// A sealed value in etcd that this node cannot open.
public struct FleetSealError: Error, Sendable, CustomStringConvertible {
    public let key: String
    public var description: String {
        "the sealed value at \(key) does not open with this node's master key: every node of a fleet needs the same master key (or the value was altered)"
    }
}
