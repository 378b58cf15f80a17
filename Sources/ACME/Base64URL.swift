import FoundationEssentials

/// base64url without padding (RFC 4648 §5), as JWS uses it (RFC 7515 §2).
enum Base64URL {
    /// Encodes `bytes` as unpadded base64url.
    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString()
            .replacing("+", with: "-")
            .replacing("/", with: "_")
            .replacing("=", with: "")
    }

    /// Encodes the UTF-8 bytes of `string`.
    static func encode(_ string: String) -> String { encode(Array(string.utf8)) }

    /// Decodes unpadded (or padded) base64url; nil when `string` is not base64url.
    static func decode(_ string: String) -> [UInt8]? {
        var s = string.replacing("-", with: "+").replacing("_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s).map(Array.init)
    }

    /// True when `string` is non-empty and uses only the base64url alphabet `[A-Za-z0-9_-]`
    /// (RFC 8555 §8.3 tokens, §6.5.1 nonces).
    static func isAlphabet(_ string: String) -> Bool {
        !string.isEmpty && string.utf8.allSatisfy { c in
            (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x5F
        }
    }
}
