import ACME

/// A JSON syntax error, with the line and column (both from 1; columns count characters) where it was found.
public struct StrictJSONError: Error, Sendable, Equatable, CustomStringConvertible {
    public let line: Int
    public let column: Int
    public let message: String

    public var description: String { "line \(line), column \(column): \(message)" }
}

/// A strict RFC 8259 JSON parser that knows where everything is, so a config error can name its line and column.
///
/// Unlike Foundation's `JSONDecoder` it refuses what RFC 8259 does not allow: trailing commas, comments, single quotes,
/// `NaN`/`Infinity`, leading zeros, unescaped control characters in strings, lone surrogates (RFC 8259 §8.2), and
/// anything after the value. A key given twice in one object is an error naming both lines (RFC 8259 §4 leaves the
/// outcome to the implementation: here there is none to guess). A byte order mark is ignored (§8.1).
/// Nesting and size are bounded, so hostile input cannot exhaust the stack or memory.
public enum StrictJSONParser {
    /// The deepest nesting of arrays and objects accepted.
    public static let defaultMaximumDepth = 64

    /// Parses `bytes` (UTF-8) into a `JSONValue`; numbers become `Double` (RFC 8259 §6), as with `JSONDecoder`.
    public static func parse(_ bytes: [UInt8], maximumDepth: Int = defaultMaximumDepth) throws(StrictJSONError) -> JSONValue {
        var scanner = Scanner(bytes: bytes, maximumDepth: maximumDepth)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { scanner.offset = 3 }
        try scanner.checkUTF8()
        scanner.skipWhitespace()
        let value = try scanner.value(depth: 0)
        scanner.skipWhitespace()
        if scanner.offset < bytes.count { throw scanner.error(expected: "the end of the file after the value") }
        return value
    }

    /// A printable rendering of `scalar` for messages: `'x'` for visible ASCII, `U+000A (line feed)` and the like
    /// otherwise, so no control character from the file ever reaches the terminal.
    static func shown(_ scalar: Unicode.Scalar) -> String {
        let names: [UInt32: String] = [0x00: "NUL", 0x09: "tab", 0x0A: "line feed", 0x0D: "carriage return", 0x1B: "escape",
                                       0x7F: "delete", 0xA0: "no-break space", 0xFEFF: "byte order mark"]
        if scalar.value >= 0x21 && scalar.value < 0x7F { return "'\(Character(scalar))'" }
        if scalar.value == 0x20 { return "a space" }
        let hex = String(scalar.value, radix: 16, uppercase: true)
        let code = "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        if let name = names[scalar.value] { return "\(code) (\(name))" }
        if scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format { return code }
        return "'\(Character(scalar))' (\(code))"
    }

    private struct Scanner {
        let bytes: [UInt8]
        let maximumDepth: Int
        var offset = 0
        /// The line `offset` is on (kept by `skipWhitespace`).
        var line = 1

        init(bytes: [UInt8], maximumDepth: Int) {
            self.bytes = bytes
            self.maximumDepth = maximumDepth
        }

        // MARK: Positions and errors

        /// Line and column of `position`: columns count characters (UTF-8 continuation bytes are skipped).
        func location(of position: Int) -> (line: Int, column: Int) {
            var line = 1
            var column = 1
            var index = 0
            while index < position && index < bytes.count {
                if bytes[index] == 0x0A {
                    line += 1
                    column = 1
                } else if bytes[index] & 0xC0 != 0x80 {
                    column += 1
                }
                index += 1
            }
            return (line, column)
        }

        func error(at position: Int? = nil, _ message: String) -> StrictJSONError {
            let (line, column) = location(of: position ?? offset)
            return StrictJSONError(line: line, column: column, message: message)
        }

        /// "expected X, found Y" at the current position, with a hint for the usual non-JSON habits.
        func error(expected: String, hint: String? = nil) -> StrictJSONError {
            error("expected \(expected), found \(found())" + (hint.map { " (\($0))" } ?? ""))
        }

        /// What is at the current position, escaped: a character, a bare word, or the end of the file.
        func found() -> String {
            guard offset < bytes.count else { return "the end of the file" }
            if isWordByte(bytes[offset]) {
                var end = offset
                while end < bytes.count, end - offset < 24, isWordByte(bytes[end]) { end += 1 }
                let word = String(decoding: bytes[offset ..< end], as: UTF8.self)
                return word.count == 1 ? "'\(word)'" : "\"\(word)\"" + (end < bytes.count && isWordByte(bytes[end]) ? "…" : "")
            }
            return StrictJSONParser.shown(scalar(at: offset))
        }

        func scalar(at position: Int) -> Unicode.Scalar {
            var iterator = bytes[position...].makeIterator()
            var parser = Unicode.UTF8.ForwardParser()
            if case .valid(let encoded) = parser.parseScalar(from: &iterator) { return Unicode.UTF8.decode(encoded) }
            return "\u{FFFD}"
        }

        private func isWordByte(_ byte: UInt8) -> Bool {
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
        }

        /// RFC 8259 §8.1: JSON text is UTF-8. The first invalid byte is named with its position.
        func checkUTF8() throws(StrictJSONError) {
            var iterator = bytes[offset...].makeIterator()
            var parser = Unicode.UTF8.ForwardParser()
            var position = offset
            while true {
                switch parser.parseScalar(from: &iterator) {
                case .valid(let encoded): position += encoded.count
                case .emptyInput: return
                case .error:
                    let hex = String(bytes[position], radix: 16, uppercase: true)
                    throw error(at: position, "is not UTF-8 text: the byte 0x\(hex.count == 1 ? "0" : "")\(hex) cannot start or continue a UTF-8 character (save the file as UTF-8)")
                }
            }
        }

        // MARK: Grammar (RFC 8259 §2–§7)

        /// Skips insignificant whitespace, counting lines (a raw line feed can only appear here: strings refuse it).
        mutating func skipWhitespace() {
            while offset < bytes.count {
                switch bytes[offset] {
                case 0x0A: line += 1
                case 0x20, 0x09, 0x0D: break
                default: return
                }
                offset += 1
            }
        }

        mutating func value(depth: Int) throws(StrictJSONError) -> JSONValue {
            guard offset < bytes.count else { throw error(expected: "a value") }
            switch bytes[offset] {
            case UInt8(ascii: "{"): return try object(depth: depth + 1)
            case UInt8(ascii: "["): return try array(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "-"), UInt8(ascii: "0") ... UInt8(ascii: "9"): return .number(try number())
            case UInt8(ascii: "t") where literal("true"): return .bool(true)
            case UInt8(ascii: "f") where literal("false"): return .bool(false)
            case UInt8(ascii: "n") where literal("null"): return .null
            default: throw error(expected: "a value (a string, number, object, array, true, false or null)", hint: hintForValue())
            }
        }

        private mutating func literal(_ word: String) -> Bool {
            let expected = Array(word.utf8)
            let end = offset + expected.count
            guard end <= bytes.count, Array(bytes[offset ..< end]) == expected else { return false }
            if end < bytes.count, isWordByte(bytes[end]) { return false }   // "nullx", "true1"
            offset = end
            return true
        }

        private func hintForValue() -> String? {
            guard offset < bytes.count else { return nil }
            let rest = bytes[offset...]
            if rest.starts(with: Array("NaN".utf8)) || rest.starts(with: Array("Infinity".utf8)) {
                return "JSON numbers are finite: NaN and Infinity do not exist in JSON"
            }
            switch bytes[offset] {
            case UInt8(ascii: "'"): return "strings are written in double quotes"
            case UInt8(ascii: "/"), UInt8(ascii: "#"): return "JSON has no comments"
            case UInt8(ascii: "+"), UInt8(ascii: "."): return "a number starts with a digit or '-'"
            case UInt8(ascii: "]"), UInt8(ascii: "}"): return "a comma is not allowed before a closing bracket"
            case UInt8(ascii: ","): return "two commas in a row, or a comma with nothing before it"
            default: return isWordByte(bytes[offset]) ? "a string must be written in double quotes" : nil
            }
        }

        private mutating func enter(depth: Int) throws(StrictJSONError) {
            if depth > maximumDepth {
                throw error("arrays and objects are nested more than \(maximumDepth) deep")
            }
            offset += 1
            skipWhitespace()
        }

        private mutating func object(depth: Int) throws(StrictJSONError) -> JSONValue {
            try enter(depth: depth)
            var members: [String: JSONValue] = [:]
            var keyLines: [String: Int] = [:]
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "}") {
                offset += 1
                return .object(members)
            }
            while true {
                guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else {
                    let hint = offset < bytes.count && bytes[offset] == UInt8(ascii: "}") ? "a comma is not allowed before '}'" : hintForValue()
                    throw error(expected: "a key in double quotes", hint: hint)
                }
                let keyStart = offset
                let key = try string()
                if let first = keyLines[key] {
                    throw error(at: keyStart, "the key \(JSONValue.string(key).excerpt) is given twice in one object, on line \(first) and on line \(line): keep one")
                }
                keyLines[key] = line
                skipWhitespace()
                guard offset < bytes.count, bytes[offset] == UInt8(ascii: ":") else { throw error(expected: "':' after the key") }
                offset += 1
                skipWhitespace()
                members[key] = try value(depth: depth)
                skipWhitespace()
                guard offset < bytes.count else { throw error(expected: "',' or '}'") }
                if bytes[offset] == UInt8(ascii: "}") {
                    offset += 1
                    return .object(members)
                }
                guard bytes[offset] == UInt8(ascii: ",") else { throw error(expected: "',' or '}'", hint: separatorHint()) }
                offset += 1
                skipWhitespace()
            }
        }

        private mutating func array(depth: Int) throws(StrictJSONError) -> JSONValue {
            try enter(depth: depth)
            var items: [JSONValue] = []
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "]") {
                offset += 1
                return .array(items)
            }
            while true {
                items.append(try value(depth: depth))
                skipWhitespace()
                guard offset < bytes.count else { throw error(expected: "',' or ']'") }
                if bytes[offset] == UInt8(ascii: "]") {
                    offset += 1
                    return .array(items)
                }
                guard bytes[offset] == UInt8(ascii: ",") else { throw error(expected: "',' or ']'", hint: separatorHint()) }
                offset += 1
                skipWhitespace()
            }
        }

        private func separatorHint() -> String? {
            guard offset < bytes.count else { return nil }
            switch bytes[offset] {
            case UInt8(ascii: "/"), UInt8(ascii: "#"): return "JSON has no comments"
            case UInt8(ascii: "\""): return "a comma is missing before it"
            default: return nil
            }
        }

        /// RFC 8259 §7. The opening quote is at `offset`.
        private mutating func string() throws(StrictJSONError) -> String {
            offset += 1
            var scalars = String.UnicodeScalarView()
            var runStart = offset
            func flush(_ scanner: Scanner, to end: Int) {
                scalars.append(contentsOf: String(decoding: scanner.bytes[runStart ..< end], as: UTF8.self).unicodeScalars)
            }
            while true {
                guard offset < bytes.count else { throw error(expected: "'\"' to close the string") }
                let byte = bytes[offset]
                if byte == UInt8(ascii: "\"") {
                    flush(self, to: offset)
                    offset += 1
                    return String(scalars)
                }
                if byte < 0x20 {
                    throw error("\(StrictJSONParser.shown(Unicode.Scalar(byte))) inside a string must be written as an escape such as \\n or \\u00\(byte < 16 ? "0" : "")\(String(byte, radix: 16, uppercase: true))")
                }
                if byte == UInt8(ascii: "\\") {
                    flush(self, to: offset)
                    scalars.append(try escape())
                    runStart = offset
                    continue
                }
                offset += 1
            }
        }

        /// One escape sequence; the backslash is at `offset`.
        private mutating func escape() throws(StrictJSONError) -> Unicode.Scalar {
            let start = offset
            offset += 1
            guard offset < bytes.count else { throw error(expected: "an escape character after '\\'") }
            let byte = bytes[offset]
            offset += 1
            switch byte {
            case UInt8(ascii: "\""): return "\""
            case UInt8(ascii: "\\"): return "\\"
            case UInt8(ascii: "/"): return "/"
            case UInt8(ascii: "b"): return "\u{08}"
            case UInt8(ascii: "f"): return "\u{0C}"
            case UInt8(ascii: "n"): return "\n"
            case UInt8(ascii: "r"): return "\r"
            case UInt8(ascii: "t"): return "\t"
            case UInt8(ascii: "u"):
                let first = try hexQuad()
                if (0xDC00 ... 0xDFFF).contains(first) {
                    throw error(at: start, "\\u\(hex4(first)) is the second half of a UTF-16 surrogate pair without the first")
                }
                guard (0xD800 ... 0xDBFF).contains(first) else { return Unicode.Scalar(first)! }
                guard offset + 1 < bytes.count, bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u") else {
                    throw error(at: start, "\\u\(hex4(first)) is the first half of a UTF-16 surrogate pair, but no second half (\\uDC00–\\uDFFF) follows")
                }
                offset += 2
                let second = try hexQuad()
                guard (0xDC00 ... 0xDFFF).contains(second) else {
                    throw error(at: start, "\\u\(hex4(first)) is the first half of a UTF-16 surrogate pair, but \\u\(hex4(second)) is not a second half")
                }
                return Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))!
            default:
                offset -= 1
                throw error(expected: "one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX after '\\'")
            }
        }

        private mutating func hexQuad() throws(StrictJSONError) -> UInt32 {
            var result: UInt32 = 0
            for _ in 0 ..< 4 {
                guard offset < bytes.count, let digit = hexDigit(bytes[offset]) else { throw error(expected: "four hexadecimal digits after \\u") }
                result = result << 4 | digit
                offset += 1
            }
            return result
        }

        private func hexDigit(_ byte: UInt8) -> UInt32? {
            switch byte {
            case UInt8(ascii: "0") ... UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a") ... UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A") ... UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
            default: nil
            }
        }

        private func hex4(_ value: UInt32) -> String {
            let text = String(value, radix: 16, uppercase: true)
            return String(repeating: "0", count: max(0, 4 - text.count)) + text
        }

        /// RFC 8259 §6: `-? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?`, finite.
        private mutating func number() throws(StrictJSONError) -> Double {
            let start = offset
            if bytes[offset] == UInt8(ascii: "-") { offset += 1 }
            guard offset < bytes.count, isDigit(bytes[offset]) else {
                throw error(expected: "a digit after '-'", hint: hintForValue())
            }
            if bytes[offset] == UInt8(ascii: "0") {
                offset += 1
                if offset < bytes.count, isDigit(bytes[offset]) {
                    throw error(at: offset - 1, "a number must not start with 0 followed by more digits (leading zeros are not JSON)")
                }
            } else {
                while offset < bytes.count, isDigit(bytes[offset]) { offset += 1 }
            }
            if offset < bytes.count, bytes[offset] == UInt8(ascii: ".") {
                offset += 1
                guard offset < bytes.count, isDigit(bytes[offset]) else { throw error(expected: "a digit after the decimal point") }
                while offset < bytes.count, isDigit(bytes[offset]) { offset += 1 }
            }
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "e") || bytes[offset] == UInt8(ascii: "E") {
                offset += 1
                if offset < bytes.count, bytes[offset] == UInt8(ascii: "+") || bytes[offset] == UInt8(ascii: "-") { offset += 1 }
                guard offset < bytes.count, isDigit(bytes[offset]) else { throw error(expected: "a digit in the exponent") }
                while offset < bytes.count, isDigit(bytes[offset]) { offset += 1 }
            }
            let text = String(decoding: bytes[start ..< offset], as: UTF8.self)
            guard let number = Double(text), number.isFinite else {
                throw error(at: start, "the number \(text.count > 40 ? String(text.prefix(40)) + "…" : text) is too large to represent")
            }
            return number
        }

        private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    }
}
