import CertCrypto

/// Owns one copy of secret key bytes and wipes it (`SecureMemory.cleanse`) when the last reference goes away.
///
/// The bytes are copied into a buffer of their own at init, written only there and in `deinit`, hence
/// `@unchecked Sendable`. Arrays handed out by `bytes` share that buffer copy-on-write; a copy a caller keeps
/// alive past `deinit` is not wiped (the wipe then lands on a fresh copy), so callers should not hold them.
final class KeyBytes: @unchecked Sendable {
    private var storage: [UInt8]

    init(_ bytes: [UInt8]) {
        storage = [UInt8](unsafeUninitializedCapacity: bytes.count) { buffer, count in
            for (index, byte) in bytes.enumerated() { buffer[index] = byte }
            count = bytes.count
        }
    }

    deinit { SecureMemory.cleanse(&storage) }

    /// The key bytes (shared storage, see the type's note).
    var bytes: [UInt8] { storage }

    var count: Int { storage.count }

    /// Constant-time comparison with another key of the same length.
    func isEqual(to other: KeyBytes) -> Bool {
        let mine = storage, theirs = other.storage
        guard mine.count == theirs.count else { return false }
        var difference: UInt8 = 0
        for index in mine.indices { difference |= mine[index] ^ theirs[index] }
        return difference == 0
    }
}
