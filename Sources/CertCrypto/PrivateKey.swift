import COpenSSL

/// An immutable private key (an OpenSSL `EVP_PKEY`), freed when the last reference goes away.
///
/// Only the algorithms in `KeyType` are accepted: ECDSA P-256/P-384 and RSA 2048/3072/4096.
/// The wrapped key is never mutated after creation, and OpenSSL permits concurrent read-only
/// use of an `EVP_PKEY` from several threads, hence `@unchecked Sendable`.
public final class PrivateKey: @unchecked Sendable {
    /// The owned `EVP_PKEY *`.
    let pkey: OpaquePointer

    /// The algorithm and size, detected from the key itself (curve name or RSA modulus bits).
    public let type: KeyType

    /// Takes ownership of `pkey`; frees it and throws if its type is unsupported.
    init(taking pkey: OpaquePointer) throws {
        let detected: KeyType
        do {
            detected = try PrivateKey.detectType(pkey)
        } catch {
            EVP_PKEY_free(pkey)
            throw error
        }
        self.pkey = pkey
        self.type = detected
    }

    deinit { EVP_PKEY_free(pkey) }

    /// Generates a new key with `EVP_PKEY_CTX_new_from_name` + `EVP_PKEY_generate`
    /// (P-256 / P-384 by group name, or RSA with the given modulus size and e = 65537).
    public static func generate(_ type: KeyType) throws -> PrivateKey {
        OpenSSLErrorQueue.clear()
        let algorithm = type.isEC ? "EC" : "RSA"
        guard let context = EVP_PKEY_CTX_new_from_name(nil, algorithm, nil) else {
            throw CryptoError.openSSL("EVP_PKEY_CTX_new_from_name(\(algorithm))")
        }
        defer { EVP_PKEY_CTX_free(context) }
        try check(EVP_PKEY_keygen_init(context), "EVP_PKEY_keygen_init(\(type.rawValue))")
        if let curve = type.curveName {
            try check(EVP_PKEY_CTX_set_group_name(context, curve), "EVP_PKEY_CTX_set_group_name(\(curve))")
        }
        if let bits = type.rsaBits {
            try check(EVP_PKEY_CTX_set_rsa_keygen_bits(context, bits), "EVP_PKEY_CTX_set_rsa_keygen_bits(\(bits))")
        }
        var generated: OpaquePointer? = nil
        guard EVP_PKEY_generate(context, &generated) > 0, let generated else {
            throw CryptoError.openSSL("EVP_PKEY_generate(\(type.rawValue))")
        }
        return try PrivateKey(taking: generated)
    }

    /// Reads a PEM private key: PKCS#8 (`BEGIN PRIVATE KEY`), encrypted PKCS#8
    /// (`BEGIN ENCRYPTED PRIVATE KEY`, RFC 5958 §3) or traditional (`BEGIN EC PRIVATE KEY`,
    /// `BEGIN RSA PRIVATE KEY`, also with `DEK-Info` encryption).
    ///
    /// `passphrase` is used for encrypted keys and may contain any bytes. A missing or wrong
    /// passphrase, malformed PEM or an unsupported algorithm throws `CryptoError`.
    /// OpenSSL never prompts on a terminal.
    public convenience init(pem: String, passphrase: [UInt8]? = nil) throws {
        OpenSSLErrorQueue.clear()
        let key = try MemoryBIO.withReadBIO(Array(pem.utf8), "PrivateKey(pem:)") { bio -> OpaquePointer in
            var source = PassphraseSource(bytes: passphrase)
            let result = withUnsafeMutablePointer(to: &source) { sourcePointer in
                PEM_read_bio_PrivateKey(bio, nil, passphraseCallback, UnsafeMutableRawPointer(sourcePointer))
            }
            guard let result else {
                throw CryptoError.openSSL(passphrase == nil
                    ? "PEM_read_bio_PrivateKey" : "PEM_read_bio_PrivateKey (with passphrase)")
            }
            return result
        }
        try self.init(taking: key)
    }

    /// Detects the `KeyType` of an `EVP_PKEY`, throwing for anything unsupported.
    static func detectType(_ pkey: OpaquePointer) throws -> KeyType {
        if EVP_PKEY_is_a(pkey, "EC") == 1 {
            var name = [CChar](repeating: 0, count: 80)
            var length = 0
            let ok = name.withUnsafeMutableBufferPointer { buffer in
                EVP_PKEY_get_utf8_string_param(pkey, "group", buffer.baseAddress, buffer.count, &length)
            }
            try check(ok, "EVP_PKEY_get_utf8_string_param(group)")
            let curve = String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            switch curve {
            case "prime256v1", "P-256", "secp256r1": return .ec256
            case "secp384r1", "P-384": return .ec384
            default:
                throw CryptoError(operation: "PrivateKey type detection", detail: "unsupported EC curve \(curve)",
                              summary: "the private key type is not supported: EC curve \(curve)")
            }
        }
        if EVP_PKEY_is_a(pkey, "RSA") == 1 {
            let bits = EVP_PKEY_get_bits(pkey)
            switch bits {
            case 2048: return .rsa2048
            case 3072: return .rsa3072
            case 4096: return .rsa4096
            default:
                throw CryptoError(operation: "PrivateKey type detection", detail: "unsupported RSA modulus size \(bits)",
                              summary: "the private key type is not supported: RSA modulus size \(bits)")
            }
        }
        let name = EVP_PKEY_get0_type_name(pkey).map { String(cString: $0) } ?? "unknown"
        throw CryptoError(operation: "PrivateKey type detection", detail: "unsupported key algorithm \(name)",
                              summary: "the private key type is not supported: key algorithm \(name)")
    }
}

/// The passphrase handed to `passphraseCallback` through OpenSSL's `u` argument.
private struct PassphraseSource {
    var bytes: [UInt8]?
}

/// `pem_password_cb`: copies the passphrase (any bytes, no NUL terminator needed) into OpenSSL's
/// buffer. Without a passphrase it returns -1, so OpenSSL fails instead of prompting on a terminal.
private let passphraseCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?) -> Int32 = {
    buffer, size, _, user in
    guard let buffer, let user else { return -1 }
    let source = user.assumingMemoryBound(to: PassphraseSource.self)
    guard let bytes = source.pointee.bytes, bytes.count <= Int(size) else { return -1 }
    bytes.withUnsafeBytes { raw in
        if let base = raw.baseAddress { UnsafeMutableRawPointer(buffer).copyMemory(from: base, byteCount: raw.count) }
    }
    return Int32(bytes.count)
}
