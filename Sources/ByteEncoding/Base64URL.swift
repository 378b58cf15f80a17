/// Base64url without padding (RFC 4648 §5), as used throughout JWS and JWK (RFC 7515 §2) and ACME (RFC 8555). The one
/// copy: `ACME` (no C) and `CertCrypto` (the OpenSSL side) both import this small module.
public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    private static let reverse: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (index, symbol) in alphabet.enumerated() { table[Int(symbol)] = Int8(index) }
        return table
    }()

    /// Encodes `bytes` as base64url with no `=` padding (RFC 7515 §2, "Base64url Encoding").
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let bytes = Array(bytes)
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count * 4 + 2) / 3)
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
        } else if remaining == 2 {
            let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
            output.append(alphabet[Int(chunk >> 18 & 63)])
            output.append(alphabet[Int(chunk >> 12 & 63)])
            output.append(alphabet[Int(chunk >> 6 & 63)])
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Encodes the UTF-8 bytes of `string`.
    public static func encode(_ string: String) -> String { encode(Array(string.utf8)) }

    /// Decodes unpadded base64url text; returns nil for any character outside the base64url
    /// alphabet (including `=`, whitespace and the standard-alphabet `+` and `/`) or an impossible length.
    public static func decode(_ text: String) -> [UInt8]? {
        decode(symbols: Array(text.utf8))
    }

    /// `decode(_:)` of the text's UTF-8 bytes.
    public static func decode(symbols: [UInt8]) -> [UInt8]? {
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

    /// True when `string` is non-empty and uses only the base64url alphabet `[A-Za-z0-9_-]`
    /// (RFC 8555 §8.3 tokens, §6.5.1 nonces).
    public static func isAlphabet(_ string: String) -> Bool {
        !string.isEmpty && string.utf8.allSatisfy { reverse[Int($0)] >= 0 }
    }
}
