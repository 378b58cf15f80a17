import CertCrypto
#if canImport(Glibc)
import Glibc
#endif

/// The one loop that reads an open regular file to its end with POSIX calls, behind the config, store and secret
/// readers (each opens the file its own way: links followed or refused, one component at a time, …).
enum DescriptorReader {
    enum Failure: Error {
        /// Larger than the limit: its size as `fstat` gave it, or nil when it grew past the limit while read.
        case tooLarge(Int?)
        /// `read` failed with this errno.
        case read(Int32)
    }

    /// All bytes of the regular file open at `descriptor`, whose `fstat` size is `size`, refusing more than `limit`.
    /// The buffer is sized once from `size`; whatever it held is wiped before a failure is thrown and its unused tail
    /// before it is returned, so a secret read this way leaves no stray copy behind.
    static func readAll(_ descriptor: Int32, size: Int, limit: Int) throws(Failure) -> [UInt8] {
        guard size <= limit else { throw .tooLarge(size) }
        var bytes = [UInt8](repeating: 0, count: size + 1)
        var total = 0
        while true {
            if total == bytes.count {
                guard bytes.count <= limit else {
                    SecureMemory.cleanse(&bytes)
                    throw .tooLarge(nil)
                }
                bytes += [UInt8](repeating: 0, count: 4096)
            }
            let count = bytes.withUnsafeMutableBytes { raw in Glibc.read(descriptor, raw.baseAddress! + total, raw.count - total) }
            if count < 0 {
                let code = errno
                if code == EINTR { continue }
                SecureMemory.cleanse(&bytes)
                throw .read(code)
            }
            if count == 0 { break }
            total += count
        }
        guard total <= limit else {
            SecureMemory.cleanse(&bytes)
            throw .tooLarge(nil)
        }
        bytes.withUnsafeMutableBytes { raw in
            for index in total ..< raw.count { raw[index] = 0 }
        }
        bytes.removeLast(bytes.count - total)
        return bytes
    }
}
