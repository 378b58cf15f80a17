import ByteEncoding
import COpenSSL

extension PrivateKey {
    /// The JWS `alg` for this key (RFC 7518 §3.1): `"ES256"` (P-256), `"ES384"` (P-384), `"RS256"` (any RSA size).
    public var jwsAlgorithm: String {
        switch type {
        case .ec256: return "ES256"
        case .ec384: return "ES384"
        case .rsa2048, .rsa3072, .rsa4096: return "RS256"
        }
    }

    /// The public key as a JWK (RFC 7517 §4) with only the members RFC 7518 §6 defines, all base64url:
    /// EC (§6.2.1): `kty` = `EC`, `crv` = `P-256`/`P-384`, `x`, `y` — each coordinate left-padded
    /// to the full field size (32 or 48 bytes, §6.2.1.2/§6.2.1.3); RSA (§6.3.1): `kty` = `RSA`,
    /// `n`, `e` as unsigned big-endian integers without leading zero bytes.
    public func publicJWK() throws -> [String: String] {
        OpenSSLErrorQueue.clear()
        if let size = type.coordinateSize, let curve = type.curveName {
            return [
                "kty": "EC",
                "crv": curve,
                "x": Base64URL.encode(try bigNumberParameter("qx", paddedTo: size)),
                "y": Base64URL.encode(try bigNumberParameter("qy", paddedTo: size)),
            ]
        }
        return [
            "kty": "RSA",
            "n": Base64URL.encode(try bigNumberParameter("n", paddedTo: nil)),
            "e": Base64URL.encode(try bigNumberParameter("e", paddedTo: nil)),
        ]
    }

    /// The JWK thumbprint of the public key (RFC 7638 §3): base64url of the SHA-256 of the
    /// canonical JSON of the required members (`crv,kty,x,y` or `e,kty,n`), lexicographically
    /// ordered, with no whitespace. Used in ACME key authorizations (RFC 8555 §8.1).
    public func jwkThumbprint() throws -> String {
        try JWK.thumbprint(try publicJWK())
    }

    /// Reads a BIGNUM key parameter (`EVP_PKEY_get_bn_param` returns a new BIGNUM, freed here)
    /// as big-endian bytes, left-padded to `size` when given.
    private func bigNumberParameter(_ name: String, paddedTo size: Int?) throws -> [UInt8] {
        var number: OpaquePointer? = nil
        guard EVP_PKEY_get_bn_param(pkey, name, &number) > 0, let number else {
            throw CryptoError.openSSL("EVP_PKEY_get_bn_param(\(name))")
        }
        defer { BN_free(number) }
        let length = size ?? Int((BN_num_bits(number) + 7) / 8)
        var bytes = [UInt8](repeating: 0, count: length)
        let written = bytes.withUnsafeMutableBufferPointer { buffer in
            BN_bn2binpad(number, buffer.baseAddress, Int32(length))
        }
        guard written == Int32(length) else {
            throw CryptoError.openSSL("BN_bn2binpad(\(name), \(length))")
        }
        return bytes
    }
}
