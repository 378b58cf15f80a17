#if canImport(Glibc)
import Glibc
#endif

/// Finds programs the way a shell would, but only ever yielding absolute paths.
enum ExecutableSearch {
    /// The PATH used when the daemon's environment has none.
    static let defaultSearchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// `name` itself when it is an absolute path to an executable file; else the first executable `dir/name`
    /// for an absolute `dir` in `searchPath` (relative PATH entries are ignored). Names containing '/' are not searched.
    static func resolve(_ name: String, searchPath: String) -> String? {
        if name.hasPrefix("/") { return isExecutableFile(name) ? name : nil }
        guard !name.isEmpty, !name.contains("/") else { return nil }
        for directory in searchPath.split(separator: ":") where directory.hasPrefix("/") {
            let candidate = directory.hasSuffix("/") ? "\(directory)\(name)" : "\(directory)/\(name)"
            if isExecutableFile(candidate) { return candidate }
        }
        return nil
    }

    /// True for a regular file (after links) that this process may execute.
    static func isExecutableFile(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return false }
        return access(path, X_OK) == 0
    }
}
