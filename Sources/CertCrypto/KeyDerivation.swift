import COpenSSL

/// Key derivation functions through OpenSSL's `EVP_KDF`.
public enum KeyDerivation {
    /// HKDF-SHA256 (RFC 5869, extract-then-expand) via `EVP_KDF` "HKDF": derives purpose-specific
    /// subkeys from the 32-byte master key. An empty `salt` means "no salt" (RFC 5869 §2.2: a
    /// string of HashLen zeros). `length` must be 1...8160 (255 × 32, RFC 5869 §2.3).
    public static func hkdfSHA256(key: [UInt8], salt: [UInt8], info: [UInt8], length: Int) throws -> [UInt8] {
        guard length > 0, length <= 255 * 32 else {
            throw CryptoError(operation: "HKDF-SHA256", detail: "output length \(length) outside 1...8160")
        }
        guard !key.isEmpty else {
            throw CryptoError(operation: "HKDF-SHA256", detail: "empty input key")
        }
        guard let kdf = EVP_KDF_fetch(nil, "HKDF", nil) else { throw CryptoError.openSSL("EVP_KDF_fetch(HKDF)") }
        defer { EVP_KDF_free(kdf) }
        guard let context = EVP_KDF_CTX_new(kdf) else { throw CryptoError.openSSL("EVP_KDF_CTX_new") }
        defer { EVP_KDF_CTX_free(context) }

        let params = ParamList()
        params.utf8("digest", "SHA256")
        params.octets("key", key)
        if !salt.isEmpty { params.octets("salt", salt) }
        params.octets("info", info)

        var output = [UInt8](repeating: 0, count: length)
        try output.withUnsafeMutableBufferPointer { out in
            try params.withParams { list in
                try check(EVP_KDF_derive(context, out.baseAddress, out.count, list), "EVP_KDF_derive(HKDF-SHA256)")
            }
        }
        return output
    }
}
