import COpenSSL

/// Message digests via OpenSSL's EVP interface.
public enum Digest {
    /// SHA-256 (FIPS 180-4) of `data`: 32 bytes.
    ///
    /// Used for JWK thumbprints (RFC 7638 §3) and ACME key authorizations (RFC 8555 §8.1).
    /// SHA-256 is always available in OpenSSL 3's default provider, so a failure here means the
    /// library is unusable and stops the process.
    public static func sha256(_ data: [UInt8]) -> [UInt8] {
        do {
            return try compute(data, EVP_sha256(), "SHA-256")
        } catch {
            preconditionFailure("\(error)")
        }
    }

    /// SHA-384 (FIPS 180-4) of `data`: 48 bytes.
    public static func sha384(_ data: [UInt8]) -> [UInt8] {
        do {
            return try compute(data, EVP_sha384(), "SHA-384")
        } catch {
            preconditionFailure("\(error)")
        }
    }

    private static func compute(_ data: [UInt8], _ md: OpaquePointer?, _ name: String) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = withNonNullBytes(data) { base, count in
            output.withUnsafeMutableBufferPointer { out in
                EVP_Digest(base, count, out.baseAddress, &length, md, nil)
            }
        }
        try check(ok, "EVP_Digest(\(name))")
        return Array(output.prefix(Int(length)))
    }
}
