import COpenSSL

/// Cryptographically secure random bytes from OpenSSL's DRBG (`RAND_bytes`).
public enum SecureRandom {
    /// `count` random bytes; throws if `count` is negative or the DRBG is not seeded.
    public static func bytes(_ count: Int) throws -> [UInt8] {
        guard count >= 0, count <= Int(Int32.max) else {
            throw CryptoError(operation: "RAND_bytes", detail: "invalid byte count \(count)")
        }
        var output = [UInt8](repeating: 0, count: count)
        if count == 0 { return output }
        try output.withUnsafeMutableBufferPointer { buffer in
            try check(RAND_bytes(buffer.baseAddress, Int32(count)), "RAND_bytes")
        }
        return output
    }
}
