import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Finds web server config files that name a path, so removing a certificate can warn that the server would fail at
/// its next reload or restart (nginx and Apache refuse to start with a missing `ssl_certificate`/`SSLCertificateFile`).
/// A plain text search, bounded: regular files only (symbolic links to files are read — `sites-enabled` is made of
/// them — but never followed into directories), a few levels deep, a limited number of files of limited size.
public enum WebServerReferences {
    /// Where nginx and Apache keep their configs on Debian, Red Hat and their kin.
    public static let defaultDirectories = ["/etc/nginx", "/etc/apache2", "/etc/httpd"]
    static let maximumDepth = 4
    static let maximumFiles = 2000
    static let maximumFileSize = 1 << 20

    /// The files below `directories` whose text contains `needle`, sorted.
    public static func files(mentioning needle: String, in directories: [String] = defaultDirectories) -> [String] {
        let pattern = Array(needle.utf8)
        guard !pattern.isEmpty else { return [] }
        var found: [String] = []
        var visited = 0
        func walk(_ directory: String, depth: Int) {
            guard depth <= maximumDepth else { return }
            for entry in ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted() {
                guard visited < maximumFiles else { return }
                let path = directory + "/" + entry
                var info = stat()
                guard lstat(path, &info) == 0 else { continue }
                switch info.st_mode & S_IFMT {
                case S_IFDIR: walk(path, depth: depth + 1)
                case S_IFREG, S_IFLNK:
                    visited += 1
                    if let bytes = try? RegularFileReader.read(path, limit: maximumFileSize).bytes, contains(bytes, pattern) {
                        found.append(path)
                    }
                default: continue
                }
            }
        }
        for directory in directories { walk(directory, depth: 0) }
        return found.sorted()
    }

    private static func contains(_ bytes: [UInt8], _ pattern: [UInt8]) -> Bool {
        guard bytes.count >= pattern.count else { return false }
        var index = 0
        while index + pattern.count <= bytes.count {
            if bytes[index] == pattern[0], bytes[index ..< index + pattern.count].elementsEqual(pattern) { return true }
            index += 1
        }
        return false
    }
}
