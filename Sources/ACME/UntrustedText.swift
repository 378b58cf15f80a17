/// Text that comes from outside — a CA's problem document, a URL or token it sent, a certificate body, a header, a
/// child process's output — made safe to print on a terminal or write into a log line.
///
/// Such text is data: it must never move the cursor, colour the terminal, start a new (forged) log line, or flood
/// the output. `display` therefore
/// - escapes every control character so it is visible and never interpreted: `\r`, `\n`, `\t` by name, other C0
///   controls and DEL as `\x1b`-style escapes, C1 controls (U+0080–U+009F, which some terminals obey like ESC) and the
///   Unicode line/paragraph separators and bidirectional-override characters as `\u{85}`-style escapes;
/// - shows bytes that are not UTF-8 as `\xNN` (only byte input can hold them; a `String` is always valid UTF-8);
/// - keeps at most `limit` bytes of the original, cut at a character boundary (never inside a multi-byte UTF-8
///   sequence) and marked `… (N more bytes)`.
///
/// It lives in ACME because ACME has the most outside text and cannot import CertAgent; CertAgent uses the same
/// function for everything else that comes from outside (certificate names, the reload command's output), and its
/// log handler applies the escaping again as a last line of defence.
public enum UntrustedText {
    /// The default bound, in bytes of the original text: enough for any honest problem detail, URL or token.
    public static let defaultLimit = 512

    /// `text` escaped and bounded to `limit` bytes of the original (see the type's description).
    public static func display(_ text: String, limit: Int = defaultLimit) -> String {
        display(bytes: Array(text.utf8), limit: limit)
    }

    /// `bytes` (a body, a stream: not necessarily UTF-8) escaped and bounded to `limit` bytes.
    public static func display<Bytes: Collection>(bytes: Bytes, limit: Int = defaultLimit) -> String where Bytes.Element == UInt8 {
        let bytes = Array(bytes)
        let limit = max(0, limit)
        var output = ""
        var consumed = 0
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        parsing: while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                guard consumed + encoded.count <= limit else { break parsing }
                consumed += encoded.count
                output += escaped(Unicode.UTF8.decode(encoded))
            case .error(let length):
                guard consumed + length <= limit else { break parsing }
                // The parser has consumed `length` bytes it could not decode: show each as \xNN.
                output += invalidBytes(bytes, from: consumed, count: length)
                consumed += length
            case .emptyInput:
                return output
            }
        }
        return output + "… (\(bytes.count - consumed) more bytes)"
    }

    /// One scalar as it is shown: itself, or an escape when it is a control or layout character.
    static func escaped(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\r": return "\\r"
        case "\n": return "\\n"
        case "\t": return "\\t"
        default: break
        }
        let value = scalar.value
        if value < 0x20 || value == 0x7f { return "\\x" + hex(value, digits: 2) }
        let properties = scalar.properties
        if properties.generalCategory == .control || properties.generalCategory == .lineSeparator
            || properties.generalCategory == .paragraphSeparator || properties.isBidiControl {
            return "\\u{" + hex(value, digits: 2) + "}"
        }
        return String(scalar)
    }

    private static func invalidBytes(_ bytes: [UInt8], from offset: Int, count: Int) -> String {
        bytes[offset..<offset + count].map { "\\x" + hex(UInt32($0), digits: 2) }.joined()
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
