import CertCrypto

/// The 32-byte master key every other CertAgent secret is protected by.
///
/// Nothing in this type ever prints the key: `description` shows only `identifier`, a one-way fingerprint.
/// The bytes are wiped from memory when the last reference goes away.
public final class MasterKey: Sendable, CustomStringConvertible {
    /// Size of a master key in bytes.
    public static let length = 32

    /// HMAC message for `accountKeyPassphrase`.
    static let accountKeyPassphraseLabel = "certagent account-key passphrase v1"
    /// HKDF info for the secrets-file subkey.
    static let secretsKeyInfo = "certagent secrets v1"
    /// HMAC message for `identifier`.
    static let identifierLabel = "certagent key id v1"

    let material: KeyBytes

    /// Wraps exactly 32 key bytes (copied; the caller may wipe its array afterwards).
    public init(bytes: [UInt8]) throws {
        guard bytes.count == Self.length else { throw MasterKeyError.wrongLength(bytes.count) }
        material = KeyBytes(bytes)
    }

    /// A new key of 32 bytes from `SecureRandom` (OpenSSL's DRBG).
    public static func generate() throws -> MasterKey {
        var bytes = try SecureRandom.bytes(length)
        defer { SecureMemory.cleanse(&bytes) }
        return try MasterKey(bytes: bytes)
    }

    /// The passphrase of the encrypted account key file(s): the lowercase hex of
    /// HMAC-SHA256(master key, "certagent account-key passphrase v1"), as 64 ASCII bytes.
    ///
    /// Hex (not raw bytes) so that an administrator can recompute it with the standard `openssl` CLI and open the
    /// account key in an emergency, with nothing but the master key file (32 raw bytes):
    /// ```sh
    /// PASS=$(printf '%s' 'certagent account-key passphrase v1' \
    ///   | openssl mac -digest SHA256 -macopt hexkey:$(od -An -tx1 -v master.key | tr -d ' \n') HMAC \
    ///   | tr A-Z a-z)
    /// openssl pkey -in account-key.pem -passin pass:$PASS
    /// ```
    /// (`pass:` puts the passphrase on the command line, visible in `ps`; on a shared machine write it to a
    /// 0600 file and use `-passin file:PATH` instead.)
    public var accountKeyPassphrase: [UInt8] {
        get throws {
            var mac = try HMAC.sha256(key: material.bytes, data: Array(Self.accountKeyPassphraseLabel.utf8))
            defer { SecureMemory.cleanse(&mac) }
            return Self.lowercaseHex(mac)
        }
    }

    /// The AES-256-GCM key of the secrets file: HKDF-SHA256(master key, no salt, info "certagent secrets v1").
    func secretsKey() throws -> KeyBytes {
        var derived = try KeyDerivation.hkdfSHA256(key: material.bytes, salt: [], info: Array(Self.secretsKeyInfo.utf8),
                                                   length: SecretBox.keyLength)
        defer { SecureMemory.cleanse(&derived) }
        return KeyBytes(derived)
    }

    /// A fingerprint that names the key in logs without revealing it: the first 8 bytes of
    /// HMAC-SHA256(master key, "certagent key id v1") in hex (16 characters).
    public var identifier: String {
        let mac = (try? HMAC.sha256(key: material.bytes, data: Array(Self.identifierLabel.utf8))) ?? []
        return String(decoding: Self.lowercaseHex(Array(mac.prefix(8))), as: UTF8.self)
    }

    /// True when both are the same key (constant-time).
    public func isSameKey(as other: MasterKey) -> Bool { material.isEqual(to: other.material) }

    /// `master key <identifier>`: never the key itself.
    public var description: String { "master key \(identifier)" }

    static func lowercaseHex(_ bytes: [UInt8]) -> [UInt8] {
        let digits = Array("0123456789abcdef".utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            output.append(digits[Int(byte >> 4)])
            output.append(digits[Int(byte & 0x0f)])
        }
        return output
    }
}
