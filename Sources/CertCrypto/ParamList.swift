import COpenSSL

/// An `OSSL_PARAM` array whose key names and values are owned by this object.
///
/// `OSSL_PARAM_construct_*` stores the *pointers* it is given, so a Swift string bridged for the
/// duration of one call would dangle. Every key and value is copied into memory allocated here;
/// value buffers are cleansed (they may hold key material) and freed in `deinit`.
final class ParamList {
    private var allocations: [(pointer: UnsafeMutableRawPointer, size: Int)] = []
    private var params: [OSSL_PARAM] = []

    private func copy(_ bytes: [UInt8], terminate: Bool) -> UnsafeMutableRawPointer {
        let size = bytes.count + (terminate ? 1 : 0)
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: max(size, 1), alignment: 1)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: max(size, 1))
        bytes.withUnsafeBytes { raw in
            if let base = raw.baseAddress { pointer.copyMemory(from: base, byteCount: raw.count) }
        }
        allocations.append((pointer, max(size, 1)))
        return pointer
    }

    private func key(_ name: String) -> UnsafePointer<CChar> {
        UnsafePointer(copy(Array(name.utf8), terminate: true).assumingMemoryBound(to: CChar.self))
    }

    /// Adds a UTF-8 string parameter (for example `digest` = `SHA256`).
    func utf8(_ name: String, _ value: String) {
        let utf8 = Array(value.utf8)
        let buffer = copy(utf8, terminate: true).assumingMemoryBound(to: CChar.self)
        params.append(OSSL_PARAM_construct_utf8_string(key(name), buffer, utf8.count))
    }

    /// Adds an octet-string parameter (for example an HKDF `key`, `salt` or `info`).
    func octets(_ name: String, _ value: [UInt8]) {
        let buffer = copy(value, terminate: false)
        params.append(OSSL_PARAM_construct_octet_string(key(name), buffer, value.count))
    }

    /// Calls `body` with the END-terminated parameter array.
    func withParams<R>(_ body: (UnsafePointer<OSSL_PARAM>) throws -> R) rethrows -> R {
        let terminated = params + [OSSL_PARAM_construct_end()]
        return try terminated.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { preconditionFailure("OSSL_PARAM array always holds END") }
            return try body(base)
        }
    }

    deinit {
        for allocation in allocations {
            OPENSSL_cleanse(allocation.pointer, allocation.size)
            allocation.pointer.deallocate()
        }
    }
}
