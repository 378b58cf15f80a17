import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Path facts the config and the store rely on.
public enum PathSafety {
    /// `path` with symbolic links and `.`/`..` resolved, as far as it exists; missing trailing parts are appended as written.
    /// An absolute path is resolved with `realpath(3)`: whole when it exists, else its existing part after `.`/`..` are
    /// taken away as written (as a URL's standardized form does); a relative one through `URL`, against the working
    /// directory.
    public static func canonical(_ path: String) -> String {
        guard path.hasPrefix("/") else { return canonicalThroughURL(path) }
        // A path that exists is resolved as the kernel walks it (a `..` after a link leaves the link's target).
        if exists(path), let resolved = realPath(path) { return resolved }
        var existing = lexicallyStandardized(path)
        var missing: [Substring] = []
        while existing != "/", !exists(existing) {
            let slash = existing.utf8.lastIndex(of: UInt8(ascii: "/"))!
            missing.insert(existing[existing.index(after: slash)...], at: 0)
            existing = slash == existing.startIndex ? "/" : String(existing[..<slash])
        }
        var resolved = realPath(existing) ?? existing
        for part in missing { resolved += (resolved.hasSuffix("/") ? "" : "/") + part }
        return lexicallyStandardized(resolved)
    }

    /// An absolute path with repeated slashes, `.` and `..` (never above `/`) taken away as written, no trailing slash.
    static func lexicallyStandardized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": _ = parts.popLast()
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// True when something exists at `path`, following links (as `FileManager.fileExists`).
    private static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// `realpath(3)`: nil when it fails (a directory on the way that may not be searched).
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The first way of `canonical`, kept for relative paths (resolved against the working directory by `URL`).
    static func canonicalThroughURL(_ path: String) -> String {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        var existing = url
        var missing: [String] = []
        while !FileManager.default.fileExists(atPath: existing.path), existing.path != "/" {
            missing.insert(existing.lastPathComponent, at: 0)
            existing.deleteLastPathComponent()
        }
        var resolved = existing.resolvingSymlinksInPath()
        for part in missing { resolved.appendPathComponent(part) }
        return resolved.standardizedFileURL.path
    }

    /// True when `path` is `directory` itself or anywhere below it, after resolving links.
    public static func isInside(_ path: String, directory: String) -> Bool {
        isCanonical(canonical(path), inside: canonical(directory))
    }

    /// `isInside` for two paths already made `canonical`.
    public static func isCanonical(_ child: String, inside parent: String) -> Bool {
        if parent == "/" { return true }
        return child == parent || child.hasPrefix(parent + "/")
    }

    /// True when `path` names an existing directory.
    public static func isDirectory(_ path: String) -> Bool {
        var isDirectory = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory
    }
}
