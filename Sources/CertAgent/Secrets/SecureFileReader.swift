import CertCrypto
#if canImport(Glibc)
import Glibc
#endif

/// A file read in one go with POSIX calls, with the `fstat` facts of the descriptor it was read from (so the checks
/// and the read are about the same file, even if the path is replaced meanwhile).
struct SecureFileContents {
    var bytes: [UInt8]
    let mode: mode_t
    let owner: uid_t
    let isRegular: Bool

    /// Wipes the bytes read.
    mutating func cleanse() { SecureMemory.cleanse(&bytes) }
}

enum SecureFileReader {
    /// Outcome of `read`: the file's bytes, or that it does not exist.
    enum Outcome {
        case missing
        case contents(SecureFileContents)
    }

    /// Reads `path` (at most `limit` bytes, more is an error). Missing files are `.missing`, other failures throw
    /// `FileSystemError`. Does not read anything but regular files. Without `followingLinks` (the store's files) a
    /// symbolic link at `path` is refused, naming its target, and never read through.
    static func read(_ path: String, limit: Int = 1 << 20, followingLinks: Bool = true) throws -> Outcome {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (followingLinks ? 0 : O_NOFOLLOW))
        if descriptor < 0 {
            if errno == ENOENT { return .missing }
            if errno == ELOOP, !followingLinks {
                throw FileSystemError("read", path: path, reason: StoreFileError.symbolicLink(path: path, target: StoreFileReader.linkTarget(path)).description)
            }
            throw FileSystemError("open", path: path)
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw FileSystemError("inspect", path: path) }
        let isRegular = info.st_mode & S_IFMT == S_IFREG
        var contents = SecureFileContents(bytes: [], mode: info.st_mode & 0o7777, owner: info.st_uid, isRegular: isRegular)
        guard isRegular else { return .contents(contents) }
        do {
            contents.bytes = try DescriptorReader.readAll(descriptor, size: Int(info.st_size), limit: limit)
        } catch {
            switch error {
            case .tooLarge: throw FileSystemError("read", path: path, reason: "file is larger than \(limit) bytes")
            case .read(let code): throw FileSystemError("read", path: path, errno: code)
            }
        }
        return .contents(contents)
    }
}
