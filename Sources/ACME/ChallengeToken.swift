/// ACME challenge tokens (RFC 8555 §8.3, §8.1): base64url characters only, so a token can safely become a file name.
public enum ChallengeToken {
    /// True when `token` is non-empty base64url (`A–Z a–z 0–9 - _`) of sane length: no `/`, `.`, `=` or anything else.
    public static func isValid(_ token: String) -> Bool {
        guard !token.isEmpty, token.utf8.count <= 256 else { return false }
        return token.utf8.allSatisfy { byte in
            (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2D || byte == 0x5F
        }
    }
}
