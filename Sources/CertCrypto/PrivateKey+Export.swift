import COpenSSL

extension PrivateKey {
    /// The key as unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, RFC 5958 §2, RFC 7468 §10).
    public func pkcs8PEM() throws -> String {
        OpenSSLErrorQueue.clear()
        var bytes = try MemoryBIO.collect("pkcs8PEM", secure: true) { bio in
            try check(PEM_write_bio_PKCS8PrivateKey(bio, pkey, nil, nil, 0, nil, nil), "PEM_write_bio_PKCS8PrivateKey")
        }
        defer { SecureMemory.cleanse(&bytes) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The key as encrypted PKCS#8 PEM (`-----BEGIN ENCRYPTED PRIVATE KEY-----`, RFC 5958 §3):
    /// PBES2 with AES-256-CBC (`PEM_write_bio_PKCS8PrivateKey`), readable by
    /// `openssl pkey -passin` and by `PrivateKey(pem:passphrase:)`.
    ///
    /// The passphrase must not be empty (an empty one would make OpenSSL prompt on a terminal).
    public func encryptedPKCS8PEM(passphrase: [UInt8]) throws -> String {
        guard !passphrase.isEmpty, passphrase.count <= Int(Int32.max) else {
            throw CryptoError(operation: "encryptedPKCS8PEM", detail: "passphrase must not be empty")
        }
        OpenSSLErrorQueue.clear()
        var bytes = try MemoryBIO.collect("encryptedPKCS8PEM", secure: true) { bio in
            try passphrase.withUnsafeBytes { raw in
                let chars = raw.bindMemory(to: CChar.self)
                try check(PEM_write_bio_PKCS8PrivateKey(bio, pkey, EVP_aes_256_cbc(), chars.baseAddress,
                                                        Int32(chars.count), nil, nil),
                          "PEM_write_bio_PKCS8PrivateKey(AES-256-CBC)")
            }
        }
        defer { SecureMemory.cleanse(&bytes) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The public key as a DER `SubjectPublicKeyInfo` (RFC 5280 §4.1.2.7).
    public func publicKeyDER() throws -> [UInt8] {
        OpenSSLErrorQueue.clear()
        return try encodeDER("i2d_PUBKEY") { output in i2d_PUBKEY(pkey, output) }
    }

    /// The public key as PEM (`-----BEGIN PUBLIC KEY-----`, RFC 7468 §13).
    public func publicKeyPEM() throws -> String {
        PEMEncoding.encode(try publicKeyDER(), label: "PUBLIC KEY")
    }
}
