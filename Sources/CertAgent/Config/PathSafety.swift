import FoundationEssentials

/// Path facts the config and the store rely on.
public enum PathSafety {
    /// `path` with symbolic links and `.`/`..` resolved, as far as it exists; missing trailing parts are appended as written.
    public static func canonical(_ path: String) -> String {
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
        let child = canonical(path)
        let parent = canonical(directory)
        if parent == "/" { return true }
        return child == parent || child.hasPrefix(parent + "/")
    }

    /// True when `path` names an existing directory.
    public static func isDirectory(_ path: String) -> Bool {
        var isDirectory = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory
    }
}
