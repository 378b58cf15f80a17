/// The one base64 implementation (RFC 4648 §4 and §5), parameterized by its alphabet and padding; `Base64URL` and
/// `Base64` are its two public faces.
struct Base64Codec: Sendable {
    let alphabet: [UInt8]
    let reverse: [Int8]
    let padded: Bool

    init(alphabet: String, padded: Bool) {
        self.alphabet = Array(alphabet.utf8)
        var table = [Int8](repeating: -1, count: 256)
        for (index, symbol) in self.alphabet.enumerated() { table[Int(symbol)] = Int8(index) }
        self.reverse = table
        self.padded = padded
    }

    func encode(_ bytes: some Sequence<UInt8>) -> String {
        let bytes = Array(bytes)
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= bytes.count {
            let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            output.append(alphabet[Int(chunk >> 18 & 63)])
            output.append(alphabet[Int(chunk >> 12 & 63)])
            output.append(alphabet[Int(chunk >> 6 & 63)])
            output.append(alphabet[Int(chunk & 63)])
            index += 3
        }
        let remaining = bytes.count - index
        if remaining == 1 {
            let chunk = UInt32(bytes[index]) << 16
            output.append(alphabet[Int(chunk >> 18 & 63)])
            output.append(alphabet[Int(chunk >> 12 & 63)])
            if padded { output += [0x3D, 0x3D] }
        } else if remaining == 2 {
            let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
            output.append(alphabet[Int(chunk >> 18 & 63)])
            output.append(alphabet[Int(chunk >> 12 & 63)])
            output.append(alphabet[Int(chunk >> 6 & 63)])
            if padded { output.append(0x3D) }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes `text`; nil for a character outside the alphabet (whitespace included), an impossible length, or —
    /// when `padded` — missing or misplaced `=` padding.
    func decode(_ text: String) -> [UInt8]? { decode(symbols: Array(text.utf8)) }

    /// `decode(_:)` of text given as its UTF-8 bytes.
    func decode(symbols: [UInt8]) -> [UInt8]? {
        var symbols = symbols
        if padded {
            guard symbols.count % 4 == 0 else { return nil }
            var padding = 0
            while padding < 2, symbols.last == 0x3D {
                symbols.removeLast()
                padding += 1
            }
        }
        if symbols.count % 4 == 1 { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(symbols.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for symbol in symbols {
            let value = reverse[Int(symbol)]
            if value < 0 { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return output
    }
}

/// Standard base64 with `=` padding (RFC 4648 §4), as etcd's JSON gateway carries keys and values.
public enum Base64 {
    private static let codec = Base64Codec(
        alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", padded: true)

    /// Encodes `bytes` as standard, padded base64.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String { codec.encode(bytes) }

    /// Decodes standard, padded base64; nil for any character outside the standard alphabet (including whitespace
    /// and the url-safe `-` and `_`), a length that is not a multiple of 4, or misplaced padding.
    public static func decode(_ text: String) -> [UInt8]? { codec.decode(text) }

    /// `decode(_:)` of text given as its ASCII bytes (PEM bodies read byte by byte).
    public static func decode(symbols: [UInt8]) -> [UInt8]? { codec.decode(symbols: symbols) }
}
