/// Where the parts of a JSON text are, by byte offset, so a config can be edited in place (`ConfigEditor`): an added,
/// changed or removed certificate touches only its own bytes, and every other key keeps its order, layout and spelling.
///
/// Only for text `StrictJSONParser` accepted (the caller parses first): it does not validate, it only finds.
struct JSONTextLayout {
    /// One member of an object: its key (decoded), where the key starts and ends (after its closing quote), and where
    /// its value is.
    struct Member {
        let key: String
        let keyStart: Int
        let keyEnd: Int
        let value: Range<Int>
    }

    let bytes: [UInt8]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The first offset at or after `offset` that is not JSON whitespace (RFC 8259 §2).
    func skipWhitespace(_ offset: Int) -> Int {
        var index = offset
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        return index
    }

    /// The byte range of the value starting at `start` (after any whitespace).
    func value(at start: Int) -> Range<Int> {
        let begin = skipWhitespace(start)
        return begin ..< end(ofValueAt: begin)
    }

    /// The range of the top-level value (the whole document without surrounding whitespace or byte order mark).
    var root: Range<Int> { value(at: bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0) }

    private func end(ofValueAt start: Int) -> Int {
        guard start < bytes.count else { return start }
        switch bytes[start] {
        case UInt8(ascii: "\""):
            return end(ofStringAt: start)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var index = start
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\""):
                    index = end(ofStringAt: index)
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return index + 1 }
                default: break
                }
                index += 1
            }
            return index
        default:
            var index = start
            while index < bytes.count, !",]} \t\r\n".utf8.contains(bytes[index]) { index += 1 }
            return index
        }
    }

    private func end(ofStringAt start: Int) -> Int {
        var index = start + 1
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\\") {
                index += 2
            } else if bytes[index] == UInt8(ascii: "\"") {
                return index + 1
            } else {
                index += 1
            }
        }
        return index
    }

    /// The members of the object whose `{` is at `start`, in the order written.
    func members(ofObjectAt start: Int) -> [Member] {
        var members: [Member] = []
        var index = skipWhitespace(start + 1)
        while index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
            let keyEnd = end(ofStringAt: index)
            let key: String
            if case .string(let decoded)? = try? StrictJSONParser.parse(Array(bytes[index ..< keyEnd])) { key = decoded } else { key = "" }
            let colon = skipWhitespace(keyEnd)
            let value = self.value(at: colon + 1)
            members.append(Member(key: key, keyStart: index, keyEnd: keyEnd, value: value))
            index = skipWhitespace(value.upperBound)
            guard index < bytes.count, bytes[index] == UInt8(ascii: ",") else { break }
            index = skipWhitespace(index + 1)
        }
        return members
    }

    /// The elements of the array whose `[` is at `start`, in order.
    func elements(ofArrayAt start: Int) -> [Range<Int>] {
        var elements: [Range<Int>] = []
        var index = skipWhitespace(start + 1)
        while index < bytes.count, bytes[index] != UInt8(ascii: "]") {
            let element = value(at: index)
            elements.append(element)
            index = skipWhitespace(element.upperBound)
            guard index < bytes.count, bytes[index] == UInt8(ascii: ",") else { break }
            index = skipWhitespace(index + 1)
        }
        return elements
    }

    /// The leading whitespace of the line holding `offset`.
    func indentation(ofLineAt offset: Int) -> String {
        var lineStart = offset
        while lineStart > 0, bytes[lineStart - 1] != 0x0A { lineStart -= 1 }
        var end = lineStart
        while end < bytes.count, bytes[end] == 0x20 || bytes[end] == 0x09 { end += 1 }
        return String(decoding: bytes[lineStart ..< end], as: UTF8.self)
    }

    /// True when a line break lies between `from` and `to`.
    func hasLineBreak(from: Int, to: Int) -> Bool {
        from < to && bytes[from ..< to].contains(0x0A)
    }

    /// The text from `from` to `to`.
    func text(_ range: Range<Int>) -> String {
        String(decoding: bytes[range], as: UTF8.self)
    }
}
