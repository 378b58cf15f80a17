import COpenSSL

/// Wiping secrets from memory.
public enum SecureMemory {
    /// Overwrites the array's current storage with zeros (`OPENSSL_cleanse`, which the compiler
    /// cannot optimise away). Copies made earlier (Swift arrays are copy-on-write) are not affected.
    public static func cleanse(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { raw in
            if let base = raw.baseAddress { OPENSSL_cleanse(base, raw.count) }
        }
    }
}
