import ACME
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// One nginx directive: its name, its arguments (quotes removed, escapes resolved), its block when it has one, and
/// where it was written.
struct NginxDirective: Sendable, Equatable {
    var name: String
    var arguments: [String]
    var block: [NginxDirective]?
    var file: String
    var line: Int

    /// The directives of this block named `name`, in order.
    func children(_ name: String) -> [NginxDirective] { (block ?? []).filter { $0.name == name } }
}

/// A problem in nginx's configuration text, naming the file and line.
public struct NginxConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The configuration file (as `nginx -T` named it).
    public var file: String
    /// The line in it.
    public var line: Int
    /// What is wrong there.
    public var message: String

    public var description: String { "\(UntrustedText.display(file)):\(line): \(message)" }
}

/// Reads what `nginx -T` prints: every configuration file nginx loaded, each after a line
/// `# configuration file PATH:`, the main file first. `include` directives are followed through the dump itself (it
/// holds exactly the files nginx read), with nginx's rule for relative patterns (relative to the main file's
/// directory) and its glob matching; nothing is read from disk here.
enum NginxConfigParser {
    /// How deep includes may nest (nginx has no limit, but a loop must end).
    static let maximumIncludeDepth = 16
    static let fileHeaderPrefix = "# configuration file "

    /// The files of a `nginx -T` dump, in the order printed (the main configuration first), each with its text.
    static func files(inDump dump: String) -> [(path: String, text: String)] {
        var files: [(path: String, text: String)] = []
        var current: (path: String, lines: [Substring])?
        for line in dump.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix(fileHeaderPrefix), line.hasSuffix(":") {
                if let current { files.append((current.path, current.lines.joined(separator: "\n"))) }
                current = (String(line.dropFirst(fileHeaderPrefix.count).dropLast()), [])
            } else {
                current?.lines.append(line)
            }
        }
        if let current { files.append((current.path, current.lines.joined(separator: "\n"))) }
        return files
    }

    /// The main file's directives with every `include` replaced by the directives of the dumped files it matches.
    static func parse(dump: String) throws(NginxConfigError) -> (mainFile: String, directives: [NginxDirective]) {
        let files = files(inDump: dump)
        guard let main = files.first else {
            throw NginxConfigError(file: "nginx -T", line: 0, message: "printed no configuration file (no line starting \"\(fileHeaderPrefix)\")")
        }
        var texts: [String: String] = [:]
        for file in files where texts[file.path] == nil { texts[file.path] = file.text }
        let resolver = IncludeResolver(base: PathText.parent(main.path), files: files.map(\.path), texts: texts)
        return (main.path, try resolver.directives(of: main.path, depth: 0))
    }

    /// The directives of `text` (one file), includes left as they are.
    static func parse(text: String, file: String) throws(NginxConfigError) -> [NginxDirective] {
        var tokens = Tokenizer(text: text, file: file)
        let directives = try block(&tokens, closedByBrace: false)
        return directives
    }

    private static func block(_ tokens: inout Tokenizer, closedByBrace: Bool) throws(NginxConfigError) -> [NginxDirective] {
        var directives: [NginxDirective] = []
        var words: [(text: String, line: Int)] = []
        while let token = try tokens.next() {
            switch token.kind {
            case .word(let text):
                words.append((text, token.line))
            case .semicolon:
                guard let first = words.first else { throw tokens.error("unexpected \";\"", line: token.line) }
                directives.append(NginxDirective(name: first.text, arguments: words.dropFirst().map(\.text), block: nil, file: tokens.file, line: first.line))
                words = []
            case .openBrace:
                guard let first = words.first else { throw tokens.error("unexpected \"{\"", line: token.line) }
                let inner = try block(&tokens, closedByBrace: true)
                directives.append(NginxDirective(name: first.text, arguments: words.dropFirst().map(\.text), block: inner, file: tokens.file, line: first.line))
                words = []
            case .closeBrace:
                guard closedByBrace else { throw tokens.error("unexpected \"}\"", line: token.line) }
                guard words.isEmpty else { throw tokens.error("unexpected \"}\": the directive \"\(UntrustedText.display(words[0].text, limit: 64))\" has no \";\"", line: token.line) }
                return directives
            }
        }
        if closedByBrace { throw tokens.error("unexpected end of file, expecting \"}\"", line: tokens.line) }
        if let first = words.first { throw tokens.error("unexpected end of file: the directive \"\(UntrustedText.display(first.text, limit: 64))\" has no \";\"", line: first.line) }
        return directives
    }

    /// Follows `include` through the dumped files.
    private struct IncludeResolver {
        let base: String
        let files: [String]
        let texts: [String: String]

        func directives(of path: String, depth: Int) throws(NginxConfigError) -> [NginxDirective] {
            try expand(parse(text: texts[path] ?? "", file: path), depth: depth)
        }

        private func expand(_ parsed: [NginxDirective], depth: Int) throws(NginxConfigError) -> [NginxDirective] {
            var result: [NginxDirective] = []
            for directive in parsed {
                if directive.name == "include", directive.block == nil, let pattern = directive.arguments.first {
                    guard depth < maximumIncludeDepth else {
                        throw NginxConfigError(file: directive.file, line: directive.line, message: "includes nest more than \(maximumIncludeDepth) deep (a loop?)")
                    }
                    for file in matches(pattern) { result += try self.directives(of: file, depth: depth + 1) }
                    continue
                }
                var copy = directive
                if let block = directive.block { copy.block = try expand(block, depth: depth) }
                result.append(copy)
            }
            return result
        }

        /// The dumped files an include pattern names, in glob order (sorted), each once.
        func matches(_ pattern: String) -> [String] {
            let absolute = pattern.hasPrefix("/") ? pattern : (base.hasSuffix("/") ? base : base + "/") + pattern
            var seen = Set<String>()
            return files.filter { fnmatch(absolute, $0, FNM_PATHNAME) == 0 && seen.insert($0).inserted }.sorted()
        }
    }

    /// nginx's tokens: words (quoted or not), `;`, `{`, `}`; `#` starts a comment where a word could start.
    private struct Tokenizer {
        enum Kind: Equatable {
            case word(String)
            case semicolon, openBrace, closeBrace
        }

        struct Token {
            var kind: Kind
            var line: Int
        }

        let scalars: [Unicode.Scalar]
        let file: String
        var index = 0
        var line = 1

        init(text: String, file: String) {
            scalars = Array(text.unicodeScalars)
            self.file = file
        }

        func error(_ message: String, line: Int) -> NginxConfigError { NginxConfigError(file: file, line: line, message: message) }

        private static func isSpace(_ scalar: Unicode.Scalar) -> Bool { scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" }

        private mutating func advance() -> Unicode.Scalar {
            let scalar = scalars[index]
            index += 1
            if scalar == "\n" { line += 1 }
            return scalar
        }

        mutating func next() throws(NginxConfigError) -> Token? {
            while index < scalars.count {
                let scalar = scalars[index]
                if Self.isSpace(scalar) {
                    _ = advance()
                } else if scalar == "#" {
                    while index < scalars.count, scalars[index] != "\n" { index += 1 }
                } else {
                    break
                }
            }
            guard index < scalars.count else { return nil }
            let start = line
            switch scalars[index] {
            case ";":
                _ = advance()
                return Token(kind: .semicolon, line: start)
            case "{":
                _ = advance()
                return Token(kind: .openBrace, line: start)
            case "}":
                _ = advance()
                return Token(kind: .closeBrace, line: start)
            case "\"", "'":
                let quote = advance()
                var text = String.UnicodeScalarView()
                while true {
                    guard index < scalars.count else { throw error("unexpected end of file inside a quoted string", line: start) }
                    let scalar = advance()
                    if scalar == quote { break }
                    if scalar == "\\", index < scalars.count {
                        Self.appendEscape(advance(), to: &text)
                    } else {
                        text.append(scalar)
                    }
                }
                return Token(kind: .word(String(text)), line: start)
            default:
                var text = String.UnicodeScalarView()
                var insideVariableBraces = false
                while index < scalars.count {
                    let scalar = scalars[index]
                    if Self.isSpace(scalar) || scalar == ";" { break }
                    // `${name}` is a variable, not a block: its braces belong to the word.
                    if scalar == "{" {
                        guard text.last == "$" else { break }
                        insideVariableBraces = true
                    } else if scalar == "}" {
                        guard insideVariableBraces else { break }
                        insideVariableBraces = false
                    }
                    _ = advance()
                    if scalar == "\\", index < scalars.count {
                        Self.appendEscape(advance(), to: &text)
                    } else {
                        text.append(scalar)
                    }
                }
                return Token(kind: .word(String(text)), line: start)
            }
        }

        /// nginx's escapes: `\"`, `\'` and `\\` stand for the character, `\n`, `\r`, `\t` for the control; any other
        /// backslash stays (regular expressions keep theirs).
        private static func appendEscape(_ scalar: Unicode.Scalar, to text: inout String.UnicodeScalarView) {
            switch scalar {
            case "\"", "'", "\\": text.append(scalar)
            case "n": text.append("\n")
            case "r": text.append("\r")
            case "t": text.append("\t")
            default:
                text.append("\\")
                text.append(scalar)
            }
        }
    }
}
