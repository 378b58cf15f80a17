/// The parent and the last part of a path written as text, with the results `NSString`'s `deletingLastPathComponent`
/// and `lastPathComponent` give, without Foundation's Objective-C bridge: trailing slashes are ignored,
/// `parent("/a")` is `"/"`, `parent("a")` is `""`, `lastComponent("/")` is `"/"`.
public enum PathText {
    /// `path` without its last component: `/etc/certagent/config.json` → `/etc/certagent`.
    public static func parent(_ path: String) -> String {
        let trimmed = withoutTrailingSlashes(path)
        guard trimmed != "/" else { return "/" }
        guard let slash = trimmed.lastIndex(of: "/") else { return "" }
        let parent = withoutTrailingSlashes(String(trimmed[..<slash]))
        return parent.isEmpty ? "/" : parent
    }

    /// The last component of `path`: `/etc/certagent/config.json` → `config.json`.
    public static func lastComponent(_ path: String) -> String {
        let trimmed = withoutTrailingSlashes(path)
        guard trimmed != "/" else { return "/" }
        guard let slash = trimmed.lastIndex(of: "/") else { return trimmed }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    /// `path` with trailing slashes removed, except the root's own.
    private static func withoutTrailingSlashes(_ path: String) -> String {
        var text = Substring(path)
        while text.count > 1, text.hasSuffix("/") { text.removeLast() }
        return String(text)
    }
}
