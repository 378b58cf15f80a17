import CertCrypto
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Offline checks of the files a config names, so `certagent check` finds a wrong `caFile` or `masterKeyFile` before
/// `issue` creates anything or reaches the network.
enum ReferencedFiles {
    /// The largest CA bundle read (Debian's full system bundle is about 200 kB).
    static let maximumCABundleSize = 16 << 20

    /// Why `path` cannot serve as `caFile` (a readable regular file holding at least one PEM certificate, every one of
    /// which parses), or nil.
    static func caFileProblem(_ path: String) -> String? {
        let file: RegularFileReader.File
        do {
            file = try RegularFileReader.read(path, limit: maximumCABundleSize)
        } catch {
            switch error {
            case .open(let code): return openProblem(code)
            case .notRegular(let mode): return "is \(FileErrorWords.kind(of: mode)), not a PEM file of CA certificates"
            case .tooLarge: return "is larger than 16 MiB: not a PEM file of CA certificates"
            case .read(let code): return "cannot be read: \(FileErrorWords.reason(code))"
            }
        }
        if file.bytes.isEmpty { return "is empty: it must hold the PEM certificate(s) of the CA(s) to trust" }
        do {
            _ = try Certificate.parseBundle(pem: String(decoding: file.bytes, as: UTF8.self))
        } catch {
            return error.description + ": give a PEM file of the CA certificate(s) that sign the ACME server's TLS certificate"
        }
        return nil
    }

    /// Why `path` cannot be the master key file: an existing one must be a regular file; a missing one needs a directory
    /// that exists or can be made, with no file in the way (`issue`, `run` and `secret set` create it there).
    static func masterKeyFileProblem(_ path: String) -> String? {
        if path.hasSuffix("/") { return "must name a file, not a directory" }
        var info = stat()
        if stat(path, &info) == 0 {
            return info.st_mode & S_IFMT == S_IFREG ? nil : "is \(FileErrorWords.kind(of: info.st_mode)), not a key file"
        }
        // ENOTDIR: a part of the path is a file; the walk up below names it.
        guard errno == ENOENT || errno == ENOTDIR else { return "cannot be inspected: \(FileErrorWords.reason(errno))" }
        if lstat(path, &info) == 0 { return "is a symbolic link that leads to nothing that exists" }
        // Missing: the nearest existing ancestor must be a directory (the rest is created, mode 0700).
        var directory = PathText.parent(path)
        while !directory.isEmpty {
            if stat(directory, &info) == 0 {
                // Whether it is writable is not asked: under systemd's ProtectSystem= the directory is read-only while
                // the key comes from a credential, and a command that needs the file reports a failed write itself.
                guard info.st_mode & S_IFMT == S_IFDIR else {
                    return "cannot be created: \(directory) is \(FileErrorWords.kind(of: info.st_mode)), not a directory"
                }
                return nil
            }
            guard errno == ENOENT || errno == ENOTDIR else { return "cannot be created: \(directory): \(FileErrorWords.reason(errno))" }
            if directory == "/" { break }
            directory = PathText.parent(directory)
        }
        return nil
    }

    private static func openProblem(_ code: Int32) -> String {
        switch code {
        case ENOENT: "does not exist"
        case ELOOP: "is a loop of symbolic links"
        case EACCES, EPERM: "cannot be read: permission denied"
        case ENXIO: "is a socket or device, not a PEM file of CA certificates"
        default: "cannot be opened: \(FileErrorWords.reason(code))"
        }
    }
}
