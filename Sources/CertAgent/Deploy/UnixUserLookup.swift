#if canImport(Glibc)
import Glibc
#endif

/// Resolves user and group names (or numeric ids written as text) to ids, with the reentrant libc calls.
enum UnixUserLookup {
    /// The uid of `text`: a decimal id as is, else a user name from the password database.
    static func userID(_ text: String) -> uid_t? {
        if let id = numericID(text) { return uid_t(id) }
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16384)
        let status = getpwnam_r(text, &entry, &buffer, buffer.count, &result)
        guard status == 0, result != nil else { return nil }
        return entry.pw_uid
    }

    /// The gid of `text`: a decimal id as is, else a group name from the group database.
    static func groupID(_ text: String) -> gid_t? {
        if let id = numericID(text) { return gid_t(id) }
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 65536)
        let status = getgrnam_r(text, &entry, &buffer, buffer.count, &result)
        guard status == 0, result != nil else { return nil }
        return entry.gr_gid
    }

    /// A decimal id below 2^32 - 1 (which means "unchanged" to chown), or nil when `text` is not all digits.
    static func numericID(_ text: String) -> UInt32? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let value = UInt32(text), value != UInt32.max else { return nil }
        return value
    }
}
