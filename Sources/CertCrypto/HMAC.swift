import COpenSSL

/// Keyed-hash message authentication (RFC 2104) through OpenSSL's `EVP_MAC` "HMAC".
public enum HMAC {
    /// HMAC-SHA256 of `data` under `key`: 32 bytes.
    ///
    /// This is JWS `HS256` (RFC 7518 §3.2), used for ACME external account binding (RFC 8555 §7.3.4).
    public static func sha256(key: [UInt8], data: [UInt8]) throws -> [UInt8] {
        guard let mac = EVP_MAC_fetch(nil, "HMAC", nil) else { throw CryptoError.openSSL("EVP_MAC_fetch(HMAC)") }
        defer { EVP_MAC_free(mac) }
        guard let context = EVP_MAC_CTX_new(mac) else { throw CryptoError.openSSL("EVP_MAC_CTX_new") }
        defer { EVP_MAC_CTX_free(context) }

        let params = ParamList()
        params.utf8("digest", "SHA256")
        try withNonNullBytes(key) { keyBase, keyCount in
            try params.withParams { list in
                try check(EVP_MAC_init(context, keyBase, keyCount, list), "EVP_MAC_init(HMAC-SHA256)")
            }
        }
        try withNonNullBytes(data) { base, count in
            try check(EVP_MAC_update(context, base, count), "EVP_MAC_update")
        }
        var output = [UInt8](repeating: 0, count: 32)
        var length = 0
        try output.withUnsafeMutableBufferPointer { out in
            try check(EVP_MAC_final(context, out.baseAddress, &length, out.count), "EVP_MAC_final")
        }
        guard length == 32 else {
            throw CryptoError(operation: "EVP_MAC_final", detail: "unexpected HMAC length \(length)")
        }
        return output
    }
}
