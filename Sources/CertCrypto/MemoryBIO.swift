import COpenSSL

/// Helpers for OpenSSL memory BIOs.
enum MemoryBIO {
    /// Runs `body` with a read-only BIO over `bytes`.
    ///
    /// `BIO_new_mem_buf` does not copy, so the BIO lives only inside the closure that owns the bytes.
    static func withReadBIO<R>(_ bytes: [UInt8], _ operation: String, _ body: (OpaquePointer) throws -> R) throws -> R {
        try withNonNullBytes(bytes) { base, count -> R in
            guard count <= Int(Int32.max), let bio = BIO_new_mem_buf(base, Int32(count)) else {
                throw CryptoError.openSSL("\(operation): BIO_new_mem_buf")
            }
            defer { BIO_free(bio) }
            return try body(bio)
        }
    }

    /// Runs `body` with a fresh writable memory BIO and returns what it wrote.
    ///
    /// `secure` selects `BIO_s_secmem`, whose buffer is cleansed when freed (for private-key output).
    static func collect(_ operation: String, secure: Bool = false, _ body: (OpaquePointer) throws -> Void) throws -> [UInt8] {
        guard let bio = BIO_new(secure ? BIO_s_secmem() : BIO_s_mem()) else {
            throw CryptoError.openSSL("\(operation): BIO_new")
        }
        defer { BIO_free(bio) }
        try body(bio)
        return contents(of: bio)
    }

    /// The bytes currently held by a memory BIO (`BIO_get_mem_data`, a macro that does not import).
    static func contents(of bio: OpaquePointer) -> [UInt8] {
        var pointer: UnsafeMutableRawPointer? = nil
        let length = BIO_ctrl(bio, BIO_CTRL_INFO, 0, &pointer)
        guard length > 0, let pointer else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: Int(length)))
    }
}

/// Calls `body` with a pointer to `bytes` that is never nil (OpenSSL rejects NULL even with length 0).
func withNonNullBytes<R>(_ bytes: [UInt8], _ body: (UnsafePointer<UInt8>, Int) throws -> R) rethrows -> R {
    try bytes.withUnsafeBufferPointer { buffer in
        if let base = buffer.baseAddress { return try body(base, buffer.count) }
        var zero: UInt8 = 0
        return try withUnsafePointer(to: &zero) { try body($0, 0) }
    }
}

/// Frees memory that OpenSSL allocated (`OPENSSL_free`, a macro that does not import).
func openSSLFree(_ pointer: UnsafeMutableRawPointer?) {
    CRYPTO_free(pointer, #file, #line)
}

/// Runs an `i2d_*`-style encoder with a NULL output pointer (OpenSSL allocates) and copies the result.
func encodeDER(_ operation: String, _ encoder: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>) -> Int32) throws -> [UInt8] {
    var output: UnsafeMutablePointer<UInt8>? = nil
    let length = encoder(&output)
    guard length > 0, let output else { throw CryptoError.openSSL(operation) }
    defer { openSSLFree(output) }
    return Array(UnsafeBufferPointer(start: output, count: Int(length)))
}
