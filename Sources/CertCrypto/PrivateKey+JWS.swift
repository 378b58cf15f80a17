import COpenSSL

extension PrivateKey {
    /// Signs a JWS signing input (`ASCII(BASE64URL(header) || '.' || BASE64URL(payload))`,
    /// RFC 7515 §5.1) with this key's `jwsAlgorithm`.
    ///
    /// ES256/ES384 (RFC 7518 §3.4): ECDSA with SHA-256/SHA-384; the DER `ECDSA-Sig-Value` from
    /// OpenSSL is converted to the fixed-size `R || S` octet string (64 or 96 bytes), each integer
    /// left-padded with `BN_bn2binpad`. RS256 (RFC 7518 §3.3): RSASSA-PKCS1-v1_5 with SHA-256.
    public func signJWS(_ signingInput: [UInt8]) throws -> [UInt8] {
        OpenSSLErrorQueue.clear()
        let digest = type == .ec384 ? EVP_sha384() : EVP_sha256()
        let signature = try digestSign(signingInput, digest: digest)
        guard let size = type.coordinateSize else { return signature }
        return try PrivateKey.rawECDSASignature(fromDER: signature, coordinateSize: size)
    }

    /// `EVP_DigestSign` over `message`; returns the signature bytes actually written (for ECDSA
    /// the first call reports the maximum DER size, the real DER is usually shorter).
    func digestSign(_ message: [UInt8], digest: OpaquePointer?) throws -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { throw CryptoError.openSSL("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        try check(EVP_DigestSignInit(context, nil, digest, nil, pkey), "EVP_DigestSignInit(\(jwsAlgorithm))")
        return try withNonNullBytes(message) { base, count in
            var length = 0
            try check(EVP_DigestSign(context, nil, &length, base, count), "EVP_DigestSign(size)")
            var signature = [UInt8](repeating: 0, count: length)
            try signature.withUnsafeMutableBufferPointer { out in
                try check(EVP_DigestSign(context, out.baseAddress, &length, base, count), "EVP_DigestSign(\(jwsAlgorithm))")
            }
            return Array(signature.prefix(length))
        }
    }

    /// DER `ECDSA-Sig-Value` → `R || S`, each `coordinateSize` bytes (RFC 7518 §3.4).
    static func rawECDSASignature(fromDER der: [UInt8], coordinateSize: Int) throws -> [UInt8] {
        let parsed = try der.withUnsafeBufferPointer { buffer -> OpaquePointer in
            var cursor = buffer.baseAddress
            guard let signature = d2i_ECDSA_SIG(nil, &cursor, buffer.count) else {
                throw CryptoError.openSSL("d2i_ECDSA_SIG")
            }
            return signature
        }
        defer { ECDSA_SIG_free(parsed) }
        var r: OpaquePointer? = nil
        var s: OpaquePointer? = nil
        ECDSA_SIG_get0(parsed, &r, &s)  // lends r and s
        guard let r, let s else {
            throw CryptoError(operation: "ECDSA_SIG_get0", detail: "signature without r or s")
        }
        var raw = [UInt8](repeating: 0, count: 2 * coordinateSize)
        let ok = raw.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let base = buffer.baseAddress else { return false }
            return BN_bn2binpad(r, base, Int32(coordinateSize)) == Int32(coordinateSize)
                && BN_bn2binpad(s, base + coordinateSize, Int32(coordinateSize)) == Int32(coordinateSize)
        }
        guard ok else { throw CryptoError.openSSL("BN_bn2binpad(ECDSA r/s)") }
        return raw
    }
}
