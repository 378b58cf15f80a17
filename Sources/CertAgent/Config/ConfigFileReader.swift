#if canImport(Glibc)
import ACME
import Glibc
#endif

/// Reads the config file with POSIX calls, so every failure can be said in words (a missing file, a loop of symbolic
/// links, a directory, a FIFO, a file too large, text that is not UTF-8) instead of a Foundation error code.
enum ConfigFileReader {
    /// The largest config accepted: a real one is a few kilobytes.
    static let maximumSize = 1 << 20

    /// What was read, with the identity of the file it came from (to match the permission check against it).
    typealias Contents = RegularFileReader.File

    /// Reads `path` whole. Throws a message (for a `ConfigProblem` on the whole file) when it cannot.
    static func read(_ path: String) throws(ConfigFileProblem) -> Contents {
        let file: RegularFileReader.File
        do {
            file = try RegularFileReader.read(path, limit: maximumSize)
        } catch {
            switch error {
            case .open(let code): throw ConfigFileProblem(openFailure: code, path: path)
            case .notRegular(let mode):
                throw ConfigFileProblem("the config path is \(FileErrorWords.kind(of: mode)), not a config file: give the path of the JSON file")
            case .tooLarge(let size):
                throw ConfigFileProblem("the config file is \(size.map { "\($0) bytes" } ?? "growing"): more than the 1 MiB a config may be (a config is a few kilobytes)")
            case .read(let code): throw ConfigFileProblem("the config file cannot be read: \(FileErrorWords.reason(code))")
            }
        }
        if file.bytes.allSatisfy({ [0x20, 0x09, 0x0A, 0x0D].contains($0) }) {
            throw ConfigFileProblem(file.bytes.isEmpty ? "the config file is empty: it must hold a JSON object (certagent init writes one)"
                                                       : "the config file holds only blank space: it must hold a JSON object (certagent init writes one)")
        }
        return file
    }
}

/// Reads a regular file whole with POSIX calls, reporting each failure as a case a caller can put in words.
enum RegularFileReader {
    struct File {
        let bytes: [UInt8]
        let device: UInt64
        let inode: UInt64
    }

    enum Failure: Error {
        /// `open` failed with this errno.
        case open(Int32)
        /// Not a regular file: the `st_mode` found.
        case notRegular(mode_t)
        /// Larger than the limit (its size, or nil when it grew while read).
        case tooLarge(Int?)
        /// `read` failed with this errno.
        case read(Int32)
    }

    /// Reads `path` (symbolic links followed) if it is a regular file of at most `limit` bytes. `O_NONBLOCK` keeps a
    /// FIFO in its place from hanging the caller: it is refused as not regular.
    static func read(_ path: String, limit: Int) throws(Failure) -> File {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        if descriptor < 0 { throw .open(errno) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw .read(errno) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .notRegular(info.st_mode) }
        let bytes: [UInt8]
        do { bytes = try DescriptorReader.readAll(descriptor, size: Int(info.st_size), limit: limit) } catch {
            switch error {
            case .tooLarge(let size): throw .tooLarge(size)
            case .read(let code): throw .read(code)
            }
        }
        return File(bytes: bytes, device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }
}

/// Why the config file as a whole cannot be used, in words.
struct ConfigFileProblem: Error {
    let message: String

    init(_ message: String) { self.message = message }

    /// The words for `open` failing with `code` on the config `path`.
    init(openFailure code: Int32, path: String) {
        switch code {
        case ENOENT:
            var info = stat()
            if lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFLNK {
                let target = FileErrorWords.linkTarget(path).map { " to \(JSONValue.string($0).excerpt)" } ?? ""
                message = "the config path is a symbolic link\(target), which leads to nothing that exists"
            } else {
                message = "the config file does not exist (give another with --config or CERTAGENT_CONFIG; certagent init writes one)"
            }
        case ELOOP: message = "the config path is a loop of symbolic links (or passes through more than 40 of them)"
        case EACCES, EPERM: message = "the config file cannot be read: permission denied (run as the user the config belongs to, or as root)"
        case ENOTDIR: message = "the config path cannot be followed: a part of it before the file name is not a directory"
        case ENAMETOOLONG: message = "the config path is too long (over 4095 bytes, or a name in it over 255)"
        case ENXIO: message = "the config path is a socket or device, not a config file"
        default: message = "the config file cannot be opened: \(FileErrorWords.reason(code))"
        }
    }
}
