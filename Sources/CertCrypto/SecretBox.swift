import COpenSSL

/// Authenticated encryption for the sealed secrets file: AES-256-GCM (NIST SP 800-38D) via EVP.
///
/// Layout: `version (1) || nonce (12) || ciphertext || tag (16)`. The GCM additional
/// authenticated data is `version || associatedData`, so the version byte and the caller's
/// associated data (which binds the secret's name) are both authenticated.
public enum SecretBox {
    /// The format version written by `seal` and accepted by `open`.
    public static let formatVersion: UInt8 = 1
    /// AES-256 key size in bytes.
    public static let keyLength = 32
    static let nonceLength = 12
    static let tagLength = 16
    static var overhead: Int { 1 + nonceLength + tagLength }

    /// Encrypts and authenticates `plaintext` under a fresh random 96-bit nonce.
    ///
    /// Output: version byte || 12-byte random nonce || ciphertext || 16-byte tag.
    /// `associatedData` is authenticated but not stored (binds the secret's name).
    public static func seal(_ plaintext: [UInt8], key: [UInt8], associatedData: [UInt8]) throws -> [UInt8] {
        try seal(plaintext, key: key, associatedData: associatedData, nonce: SecureRandom.bytes(nonceLength))
    }

    /// `seal` with a caller-chosen nonce: for known-answer tests only (a repeated nonce breaks GCM).
    static func seal(_ plaintext: [UInt8], key: [UInt8], associatedData: [UInt8], nonce: [UInt8]) throws -> [UInt8] {
        guard key.count == keyLength else { throw SecretBoxError.invalidKeyLength(key.count) }
        guard nonce.count == nonceLength else {
            throw CryptoError(operation: "SecretBox.seal", detail: "nonce must be \(nonceLength) bytes")
        }
        let context = try CipherContext()
        try context.initialize(encrypt: true, key: key, nonce: nonce)
        try context.authenticate([formatVersion] + associatedData)
        let ciphertext = try context.update(plaintext)
        try context.finish()
        let tag = try context.tag()
        return [formatVersion] + nonce + ciphertext + tag
    }

    /// Verifies and decrypts the output of `seal`.
    ///
    /// Throws `SecretBoxError.truncated`, `.unsupportedVersion(_)`, `.authenticationFailed`
    /// (wrong key, tampered byte, wrong associated data) or `.invalidKeyLength(_)`.
    public static func open(_ sealed: [UInt8], key: [UInt8], associatedData: [UInt8]) throws -> [UInt8] {
        guard key.count == keyLength else { throw SecretBoxError.invalidKeyLength(key.count) }
        guard let version = sealed.first else { throw SecretBoxError.truncated }
        guard version == formatVersion else { throw SecretBoxError.unsupportedVersion(version) }
        guard sealed.count >= overhead else { throw SecretBoxError.truncated }

        let nonce = Array(sealed[1 ..< 1 + nonceLength])
        let ciphertext = Array(sealed[1 + nonceLength ..< sealed.count - tagLength])
        let tag = Array(sealed[(sealed.count - tagLength)...])

        let context = try CipherContext()
        try context.initialize(encrypt: false, key: key, nonce: nonce)
        try context.authenticate([version] + associatedData)
        var plaintext = try context.update(ciphertext)
        try context.setExpectedTag(tag)
        guard context.finishDecryption() else {
            SecureMemory.cleanse(&plaintext)
            OpenSSLErrorQueue.clear()
            throw SecretBoxError.authenticationFailed
        }
        return plaintext
    }
}

/// An `EVP_CIPHER_CTX` for AES-256-GCM, freed (and thereby cleansed) in `deinit`.
private final class CipherContext {
    private let context: OpaquePointer

    init() throws {
        guard let context = EVP_CIPHER_CTX_new() else { throw CryptoError.openSSL("EVP_CIPHER_CTX_new") }
        self.context = context
    }

    deinit { EVP_CIPHER_CTX_free(context) }

    func initialize(encrypt: Bool, key: [UInt8], nonce: [UInt8]) throws {
        let name = encrypt ? "EVP_EncryptInit_ex" : "EVP_DecryptInit_ex"
        // The default GCM IV length is 12 bytes, which is what SecretBox uses.
        try check(EVP_CipherInit_ex(context, EVP_aes_256_gcm(), nil, nil, nil, encrypt ? 1 : 0), "\(name)(AES-256-GCM)")
        try key.withUnsafeBufferPointer { keyBuffer in
            try nonce.withUnsafeBufferPointer { nonceBuffer in
                try check(EVP_CipherInit_ex(context, nil, nil, keyBuffer.baseAddress, nonceBuffer.baseAddress, -1),
                          "\(name)(key, nonce)")
            }
        }
    }

    func authenticate(_ additional: [UInt8]) throws {
        var written: Int32 = 0
        try withNonNullBytes(additional) { base, count in
            try check(EVP_CipherUpdate(context, nil, &written, base, Int32(count)), "EVP_CipherUpdate(AAD)")
        }
    }

    func update(_ input: [UInt8]) throws -> [UInt8] {
        if input.isEmpty { return [] }
        var output = [UInt8](repeating: 0, count: input.count)
        var written: Int32 = 0
        try output.withUnsafeMutableBufferPointer { out in
            try input.withUnsafeBufferPointer { inBuffer in
                try check(EVP_CipherUpdate(context, out.baseAddress, &written, inBuffer.baseAddress, Int32(inBuffer.count)),
                          "EVP_CipherUpdate")
            }
        }
        return Array(output.prefix(Int(written)))
    }

    func finish() throws {
        var scratch = [UInt8](repeating: 0, count: 32)
        var written: Int32 = 0
        try scratch.withUnsafeMutableBufferPointer { out in
            try check(EVP_CipherFinal_ex(context, out.baseAddress, &written), "EVP_EncryptFinal_ex")
        }
    }

    /// Returns false when the tag does not verify.
    func finishDecryption() -> Bool {
        var scratch = [UInt8](repeating: 0, count: 32)
        var written: Int32 = 0
        return scratch.withUnsafeMutableBufferPointer { out in
            EVP_CipherFinal_ex(context, out.baseAddress, &written) > 0
        }
    }

    func tag() throws -> [UInt8] {
        var tag = [UInt8](repeating: 0, count: SecretBox.tagLength)
        try tag.withUnsafeMutableBytes { raw in
            try check(EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, Int32(raw.count), raw.baseAddress),
                      "EVP_CTRL_GCM_GET_TAG")
        }
        return tag
    }

    func setExpectedTag(_ tag: [UInt8]) throws {
        var copy = tag
        try copy.withUnsafeMutableBytes { raw in
            try check(EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, Int32(raw.count), raw.baseAddress),
                      "EVP_CTRL_GCM_SET_TAG")
        }
    }
}
