import ACME
import FoundationEssentials

/// What `apachectl -S` (`-t -D DUMP_VHOSTS -D DUMP_RUN_CFG`) prints that `discover` uses: where each virtual host
/// is defined (`(file:line)`), which is the default of its address, the `ServerRoot` and the main `DocumentRoot`.
struct ApacheVirtualHostDump: Sendable, Equatable {
    struct Definition: Sendable, Equatable, Hashable {
        var file: String
        var line: Int
    }

    /// Every virtual host, in the order first printed.
    var definitions: [Definition] = []
    /// The virtual hosts printed as the default of their address (`default server …`, or alone on it).
    var defaults: Set<Definition> = []
    var serverRoot: String?
    var mainDocumentRoot: String?

    /// Reads the dump; lines it does not know are ignored.
    init(output: String) {
        for rawLine in output.split(separator: "\n") {
            let line = rawLine.trimmingWhitespace()
            if line.hasPrefix("ServerRoot: ") {
                serverRoot = Self.quoted(line.dropFirst("ServerRoot: ".count))
                continue
            }
            if line.hasPrefix("Main DocumentRoot: ") {
                mainDocumentRoot = Self.quoted(line.dropFirst("Main DocumentRoot: ".count))
                continue
            }
            guard line.hasSuffix(")"), let open = line.lastIndex(of: "(") else { continue }
            let inside = line[line.index(after: open)..<line.index(before: line.endIndex)]
            guard let colon = inside.lastIndex(of: ":"), let number = Int(inside[inside.index(after: colon)...]) else { continue }
            let definition = Definition(file: String(inside[..<colon]), line: number)
            if !definitions.contains(definition) { definitions.append(definition) }
            // "default server NAME (…)" under a NameVirtualHost address, or "ADDR:PORT NAME (…)" alone on its address.
            if line.hasPrefix("default server ") || !rawLine.hasPrefix(" ") { defaults.insert(definition) }
        }
    }

    private static func quoted<Text: StringProtocol>(_ text: Text) -> String {
        var value = String(text)
        if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
        return value
    }
}

/// A problem reading an Apache virtual host, naming the file and line.
public struct ApacheConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The configuration file (as `apachectl -S` named it, or an included one).
    public var file: String
    /// The line in it (0 for the file as a whole).
    public var line: Int
    /// What is wrong there.
    public var message: String

    public var description: String { "\(UntrustedText.display(file)):\(line): \(message)" }
}

/// Reads one `<VirtualHost>` block of an Apache configuration file (the line `apachectl -S` names): the directives
/// that say what it serves. Apache's syntax: one directive a line, `\` at the end continues it, `#` starts a comment
/// line, arguments split on blanks with `"…"` quoting, sections `<Name …>` … `</Name>`. Directives inside
/// conditional sections (`<IfModule>`, `<IfDefine>`, `<IfVersion>`, `<IfFile>`) count as the host's own; those inside
/// `<Location>`, `<Directory>`, `<Files>` … apply to part of the site only and are read as such.
enum ApacheConfigParser {
    /// A directive: its name (lowercased), its arguments, the sections it is inside (lowercased names with their
    /// arguments), its line.
    struct Directive: Equatable {
        var name: String
        var arguments: [String]
        var sections: [(name: String, arguments: [String])]
        var line: Int

        static func == (left: Directive, right: Directive) -> Bool {
            left.name == right.name && left.arguments == right.arguments && left.line == right.line
                && left.sections.map(\.name) == right.sections.map(\.name) && left.sections.map(\.arguments) == right.sections.map(\.arguments)
        }

        /// True when it applies to the whole host (no section but conditionals between it and `<VirtualHost>`).
        var isHostWide: Bool { sections.allSatisfy { $0.name.hasPrefix("if") } }
    }

    static let conditionalPrefix = "if"

    /// The `<VirtualHost …>` starting at `line` of `text`: its addresses and its directives.
    static func virtualHost(in text: String, file: String, line: Int) throws(ApacheConfigError) -> (addresses: [String], directives: [Directive]) {
        let lines = logicalLines(text)
        guard let start = lines.firstIndex(where: { $0.line == line }) else {
            throw ApacheConfigError(file: file, line: line, message: "the file has no such line (it changed since apachectl read it?)")
        }
        let opening = lines[start]
        guard case .open(let name, let addresses)? = element(opening.text), name == "virtualhost" else {
            throw ApacheConfigError(file: file, line: line, message: "is not a <VirtualHost> line (it changed since apachectl read it?)")
        }
        let (directives, end) = try self.directives(lines[(start + 1)...], file: file, closing: "virtualhost")
        guard end != nil else { throw ApacheConfigError(file: file, line: line, message: "the <VirtualHost> has no </VirtualHost>") }
        return (addresses, directives)
    }

    /// Every directive of a whole file (one a virtual host includes), with the sections it is inside.
    static func directives(in text: String, file: String) throws(ApacheConfigError) -> [Directive] {
        try directives(logicalLines(text)[...], file: file, closing: nil).directives
    }

    /// The directives of `lines` up to the `</closing>` that closes no section opened among them (its line is `end`;
    /// nil when the lines ran out first). A closing that matches nothing else is an error.
    private static func directives(_ lines: ArraySlice<(line: Int, text: String)>, file: String,
                                   closing: String?) throws(ApacheConfigError) -> (directives: [Directive], end: Int?) {
        var sections: [(name: String, arguments: [String])] = []
        var directives: [Directive] = []
        for entry in lines {
            switch element(entry.text) {
            case nil:
                continue
            case .open(let name, let arguments)?:
                sections.append((name, arguments))
            case .close(let name)?:
                if sections.isEmpty {
                    guard name == closing else {
                        throw ApacheConfigError(file: file, line: entry.line, message: "</\(UntrustedText.display(name, limit: 64))> closes no open section")
                    }
                    return (directives, entry.line)
                }
                sections.removeLast()
            case .directive(let name, let arguments)?:
                directives.append(Directive(name: name, arguments: arguments, sections: sections, line: entry.line))
            }
        }
        return (directives, nil)
    }

    enum Element: Equatable {
        case open(String, [String])
        case close(String)
        case directive(String, [String])
    }

    /// One logical line as a section opening, a closing, or a directive; nil for a blank or comment line.
    static func element(_ text: String) -> Element? {
        let trimmed = text.trimmingWhitespace()
        guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { return nil }
        if trimmed.hasPrefix("</") {
            return .close(String(trimmed.dropFirst(2).prefix { $0 != ">" && !$0.isWhitespace }).lowercased())
        }
        if trimmed.hasPrefix("<") {
            var inner = trimmed.dropFirst()
            if inner.hasSuffix(">") { inner = inner.dropLast() }
            let words = arguments(String(inner))
            guard let name = words.first else { return nil }
            return .open(name.lowercased(), Array(words.dropFirst()))
        }
        let words = arguments(trimmed)
        guard let name = words.first else { return nil }
        return .directive(name.lowercased(), Array(words.dropFirst()))
    }

    /// Apache's argument splitting: blanks separate, `"…"` or `'…'` quote (a backslash escapes the quote).
    static func arguments(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for character in text {
            if let open = quote {
                if escaped {
                    if character != open && character != "\\" { current.append("\\") }
                    current.append(character)
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == open {
                    quote = nil
                } else {
                    current.append(character)
                }
            } else if character == " " || character == "\t" {
                if inWord { words.append(current) }
                current = ""
                inWord = false
            } else if (character == "\"" || character == "'") && !inWord {
                quote = character
                inWord = true
            } else {
                current.append(character)
                inWord = true
            }
        }
        if escaped { current.append("\\") }
        if inWord { words.append(current) }
        return words
    }

    /// The file's lines with continuations (`\` at the end) joined, each numbered by its first physical line.
    static func logicalLines(_ text: String) -> [(line: Int, text: String)] {
        var result: [(line: Int, text: String)] = []
        var pending: (line: Int, text: String)?
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = String(raw)
            if line.hasSuffix("\r") { line.removeLast() }
            let continued = line.hasSuffix("\\")
            if continued { line.removeLast() }
            if var current = pending {
                current.text += line
                pending = current
            } else {
                pending = (index + 1, line)
            }
            if !continued, let done = pending {
                result.append(done)
                pending = nil
            }
        }
        if let done = pending { result.append(done) }
        return result
    }
}
