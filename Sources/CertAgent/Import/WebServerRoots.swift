import FoundationEssentials

/// The document roots the web server's own configuration gives each server name — nginx's `server_name` / `root`,
/// Apache's `ServerName` / `ServerAlias` / `DocumentRoot` — read from its enabled site files, to suggest a webroot for a
/// certificate another client renewed without one. A quick textual reading, not a full parser: `include`s are not
/// followed and variables not expanded; a suggestion is only ever printed, never written.
public struct WebServerRoots: Sendable, Equatable {
    /// Where Debian's nginx and Apache keep the enabled sites.
    public static let defaultDirectories = ["/etc/nginx/sites-enabled", "/etc/nginx/conf.d", "/etc/apache2/sites-enabled"]

    /// Server name (lower case) → its document root.
    public private(set) var roots: [String: String] = [:]

    public init(roots: [String: String] = [:]) { self.roots = roots }

    /// Reads every file in `directories` (missing ones are skipped): Apache's when the text has `<VirtualHost`, else nginx's.
    public static func scan(directories: [String] = defaultDirectories) -> WebServerRoots {
        var result = WebServerRoots()
        for directory in directories {
            for entry in ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted() {
                guard let text = try? ImportFiles.text(directory + "/" + entry) else { continue }
                let found = text.lowercased().contains("<virtualhost") ? apacheRoots(text) : nginxRoots(text)
                result.roots.merge(found) { first, _ in first }
            }
        }
        return result
    }

    /// The root configured for the first of `domains` that has one.
    public func suggestion(for domains: [String]) -> String? {
        domains.lazy.compactMap { roots[$0] }.first
    }

    /// The roots of nginx's `server` blocks: each name of `server_name` → the block's `root` (a `location`'s is not used).
    static func nginxRoots(_ text: String) -> [String: String] {
        var roots: [String: String] = [:]
        var blocks: [String] = []
        var words: [String] = []
        var word = ""
        var names: [String] = []
        var root: String? = nil
        func endWord() {
            if !word.isEmpty { words.append(word) }
            word = ""
        }
        var inComment = false
        for character in text {
            if inComment {
                if character == "\n" { inComment = false }
                continue
            }
            switch character {
            case "#":
                endWord()
                inComment = true
            case "{":
                endWord()
                blocks.append(words.first ?? "")
                if words.first == "server" { (names, root) = ([], nil) }
                words = []
            case "}":
                endWord()
                if blocks.popLast() == "server", let root { for name in names where roots[name] == nil { roots[name] = root } }
                words = []
            case ";":
                endWord()
                if blocks.last == "server", let directive = words.first {
                    if directive == "server_name" { names += words.dropFirst().map { $0.lowercased() } }
                    if directive == "root", words.count == 2 { root = unquoted(words[1]) }
                }
                words = []
            default:
                if character.isWhitespace { endWord() } else { word.append(character) }
            }
        }
        return roots
    }

    /// The roots of Apache's `<VirtualHost>` sections: `ServerName` and each `ServerAlias` → `DocumentRoot`.
    static func apacheRoots(_ text: String) -> [String: String] {
        var roots: [String: String] = [:]
        var names: [String] = []
        var root: String? = nil
        for line in text.split(separator: "\n") {
            let words = line.trimmingWhitespace().split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let directive = words.first?.lowercased(), !directive.hasPrefix("#") else { continue }
            switch directive {
            case let start where start.hasPrefix("<virtualhost"): (names, root) = ([], nil)
            case "servername", "serveralias": names += words.dropFirst().map { $0.lowercased() }
            case "documentroot" where words.count == 2: root = unquoted(words[1])
            case "</virtualhost>":
                if let root { for name in names where roots[name] == nil { roots[name] = root } }
            default: continue
            }
        }
        return roots
    }

    private static func unquoted(_ text: String) -> String {
        guard text.count >= 2, let first = text.first, first == "\"" || first == "'", text.last == first else { return text }
        return String(text.dropFirst().dropLast())
    }
}
