import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// A file of the store that is not what the layout says it is: a symbolic link where CertAgent keeps a file or
/// directory of its own (it may point anywhere, e.g. at a world-readable key), or something that is not a regular file.
public enum StoreFileError: Error, Sendable, Equatable, CustomStringConvertible {
    case symbolicLink(path: String, target: String)
    /// Something else than the layout has there: `found` and `expected` say what (e.g. "a directory", "a regular file").
    case unexpectedKind(path: String, found: String, expected: String)
    case badVersionLink(path: String, target: String)
    case outsideStore(path: String, root: String)

    public var description: String {
        switch self {
        case .symbolicLink(let path, let target):
            return "\(path) is a symbolic link to \(target): CertAgent never follows a link out of its store, so it is not used "
                + "(remove the link; a certificate version holding one is replaced by a new certificate)"
        case .unexpectedKind(let path, let found, let expected):
            return "\(path) is \(found) where CertAgent keeps \(expected): it is not used (remove it)"
        case .badVersionLink(let path, let target):
            return "\(path) points at \(target), which is not a version directory of this certificate: it is not followed "
                + "(a new certificate replaces it)"
        case .outsideStore(let path, let root):
            return "\(path) is not inside the store \(root)"
        }
    }
}

/// Reads the store's files without following any symbolic link: every directory below the store's root and the file
/// itself are opened with `O_NOFOLLOW`, one component at a time (`openat`), so a link swapped in anywhere is refused
/// with a message naming it and its target instead of being read. The root is taken as configured.
enum StoreFileReader {
    /// The bytes of `path`, a file below `root`; nil when it does not exist. At most `limit` bytes.
    static func read(_ path: String, root: String, limit: Int = 1 << 20) throws -> [UInt8]? {
        guard path.hasPrefix(root + "/") else { throw StoreFileError.outsideStore(path: path, root: root) }
        let components = path.dropFirst(root.count + 1).split(separator: "/").map(String.init)
        guard let last = components.last else { throw StoreFileError.outsideStore(path: path, root: root) }
        var directory = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else {
            if errno == ENOENT { return nil }
            throw FileSystemError("open", path: root)
        }
        defer { close(directory) }
        var walked = root
        for component in components.dropLast() {
            walked += "/" + component
            let next = openat(directory, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard next >= 0 else {
                let code = errno
                if code == ENOENT { return nil }
                throw refusal(at: walked, in: directory, name: component, errno: code, expected: "a directory")
            }
            close(directory)
            directory = next
        }
        let descriptor = openat(directory, last, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            if code == ENOENT { return nil }
            throw refusal(at: path, in: directory, name: last, errno: code, expected: "a regular file")
        }
        defer { close(descriptor) }
        return try readAll(descriptor, path: path, limit: limit)
    }

    /// The bytes of `path`, refusing a symbolic link in its last component only (for files whose directory the caller
    /// has already resolved, e.g. a record beside a certificate); nil when it does not exist.
    static func readFile(_ path: String, limit: Int = 1 << 20) throws -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            if code == ENOENT { return nil }
            if code == ELOOP { throw StoreFileError.symbolicLink(path: path, target: linkTarget(path)) }
            throw FileSystemError("open", path: path, errno: code)
        }
        defer { close(descriptor) }
        return try readAll(descriptor, path: path, limit: limit)
    }

    /// What a symbolic link at `path` points at, as written in it.
    static func linkTarget(_ path: String) -> String {
        FileErrorWords.linkTarget(path) ?? "(unreadable)"
    }

    /// Why `name` in `directory` did not open as `expected`: a link (naming its target), another kind of file, or the
    /// system's reason.
    private static func refusal(at path: String, in directory: Int32, name: String, errno code: Int32, expected: String) -> any Error {
        var info = stat()
        if fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 {
            let found = kindName(info.st_mode)
            if info.st_mode & S_IFMT == S_IFLNK { return StoreFileError.symbolicLink(path: path, target: linkTarget(path)) }
            if found != expected { return StoreFileError.unexpectedKind(path: path, found: found, expected: expected) }
        }
        return FileSystemError("open", path: path, errno: code)
    }

    /// "a regular file", "a directory", … for a `st_mode`.
    static func kindName(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFREG: "a regular file"
        case S_IFDIR: "a directory"
        case S_IFLNK: "a symbolic link"
        case S_IFIFO: "a named pipe"
        case S_IFSOCK: "a socket"
        case S_IFCHR, S_IFBLK: "a device"
        default: "an unknown kind of file"
        }
    }

    private static func readAll(_ descriptor: Int32, path: String, limit: Int) throws -> [UInt8] {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw FileSystemError("inspect", path: path) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw StoreFileError.unexpectedKind(path: path, found: kindName(info.st_mode), expected: "a regular file")
        }
        do {
            return try DescriptorReader.readAll(descriptor, size: Int(info.st_size), limit: limit)
        } catch {
            switch error {
            case .tooLarge: throw FileSystemError("read", path: path, reason: "it is larger than \(limit) bytes")
            case .read(let code): throw FileSystemError("read", path: path, errno: code)
            }
        }
    }
}
