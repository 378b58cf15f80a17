/// Base64url without padding (RFC 4648 §5), as used throughout JWS and JWK (RFC 7515 §2) and ACME (RFC 8555). The one
/// copy: `ACME` (no C) and `CertCrypto` (the OpenSSL side) both import this small module.
public enum Base64URL {
    private static let codec = Base64Codec(
        alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", padded: false)

    /// Encodes `bytes` as base64url with no `=` padding (RFC 7515 §2, "Base64url Encoding").
    public static func encode(_ bytes: some Sequence<UInt8>) -> String { codec.encode(bytes) }

    /// Encodes the UTF-8 bytes of `string`.
    public static func encode(_ string: String) -> String { encode(Array(string.utf8)) }

    /// Decodes unpadded base64url text; returns nil for any character outside the base64url
    /// alphabet (including `=`, whitespace and the standard-alphabet `+` and `/`) or an impossible length.
    public static func decode(_ text: String) -> [UInt8]? { codec.decode(text) }

    /// True when `string` is non-empty and uses only the base64url alphabet `[A-Za-z0-9_-]`
    /// (RFC 8555 §8.3 tokens, §6.5.1 nonces).
    public static func isAlphabet(_ string: String) -> Bool {
        !string.isEmpty && string.utf8.allSatisfy { codec.reverse[Int($0)] >= 0 }
    }
}
