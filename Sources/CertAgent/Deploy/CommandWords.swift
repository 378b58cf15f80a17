/// Splits a `--reload` command line into words the way a shell would for a plain command: on blanks, with '…' and "…"
/// quoting and backslash escapes, but no variables, globs or pipes (the command runs without a shell).
public enum CommandWords {
    /// The words of `line`; throws when a quote is left open, it ends with a lone backslash, or it has no words.
    public static func split(_ line: String) throws(CommandWordsError) -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for character in line {
            if escaped {
                current.append(character)
                escaped = false
                continue
            }
            if let open = quote {
                if character == open {
                    quote = nil
                } else if character == "\\" && open == "\"" {
                    escaped = true
                } else {
                    current.append(character)
                }
                continue
            }
            switch character {
            case " ", "\t", "\n":
                if inWord { words.append(current) }
                current = ""
                inWord = false
            case "'", "\"":
                quote = character
                inWord = true
            case "\\":
                escaped = true
                inWord = true
            default:
                current.append(character)
                inWord = true
            }
        }
        if quote != nil { throw CommandWordsError("has an unclosed quote") }
        if escaped { throw CommandWordsError("ends with a lone backslash") }
        if inWord { words.append(current) }
        if words.isEmpty { throw CommandWordsError("is empty") }
        return words
    }
}

/// Why a command line could not be split into words: the rest of a sentence about it ("has an unclosed quote").
public struct CommandWordsError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
