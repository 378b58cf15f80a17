/// What each kind of config string can be at most, so a 10 MB e-mail address or a path with a NUL in it is refused by
/// name instead of reaching the CA, a file system call or a log line.
enum FieldLimits {
    /// `PATH_MAX` (4096) counts the terminating NUL.
    static let pathBytes = 4095
    /// `NAME_MAX`: one file name in a path.
    static let pathComponentBytes = 255
    /// RFC 5321 §4.5.3.1.3 (a path of 256 octets with its angle brackets) and §4.5.3.1.1 (local part).
    static let emailBytes = 254
    static let emailLocalPartBytes = 64
    /// A URL longer than this is not an ACME directory anyone publishes (browsers and servers cap near here).
    static let urlBytes = 2048
    /// RFC 5280 Appendix A `ub-common-name`: the issuer name `preferredChain` is compared with.
    static let commonNameCharacters = 64
    /// An EAB key identifier as CAs hand them out (tens of characters; generous).
    static let keyIdentifierBytes = 256
    /// A user or group name (`LOGIN_NAME_MAX` on Linux is 256 with its NUL).
    static let accountNameBytes = 255
    /// The reload command: its arguments and each argument's length.
    static let commandArguments = 64
    static let commandArgumentBytes = 4096

    /// Why `path` cannot name a file (too long, a NUL, a name over 255 bytes), or nil. Does not check that it is absolute.
    static func pathProblem(_ path: String) -> String? {
        let length = path.utf8.count
        if length > pathBytes { return "is \(length) bytes long: a path holds at most \(pathBytes) bytes (PATH_MAX)" }
        if path.utf8.contains(0) { return "contains a NUL character (\\u0000), which no path can hold" }
        if let long = path.split(separator: "/").first(where: { $0.utf8.count > pathComponentBytes }) {
            return "has a name of \(long.utf8.count) bytes in it: a file name holds at most \(pathComponentBytes) bytes (NAME_MAX)"
        }
        return nil
    }

    /// Why `text` cannot be a single-line value of at most `limit` bytes (too long, or with control characters), or nil.
    static func textProblem(_ text: String, limit: Int, what: String) -> String? {
        let length = text.utf8.count
        if length > limit { return "is \(length) bytes long: \(what) holds at most \(limit)" }
        if text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            return "contains a control character (such as a line break or NUL): \(what) is one line of text"
        }
        return nil
    }

    /// Why `text` is not an e-mail address the CA can take as a `mailto:` contact (RFC 8555 §7.3), or nil.
    static func emailProblem(_ text: String) -> String? {
        let expected = "is not an e-mail address (expected name@example.com)"
        if text.utf8.count > emailBytes { return "is \(text.utf8.count) bytes long: an e-mail address holds at most \(emailBytes) (RFC 5321)" }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix(".") else { return expected }
        if parts[0].utf8.count > emailLocalPartBytes {
            return "has a part before the @ of \(parts[0].utf8.count) bytes: at most \(emailLocalPartBytes) are allowed (RFC 5321)"
        }
        if text.contains(where: { $0.isWhitespace || $0 == "," || $0 == ":" || $0 == "<" || $0 == ">" }) { return expected }
        if text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) { return expected }
        if parts[1].utf8.count > 253 || parts[1].split(separator: ".").contains(where: { $0.utf8.count > 63 }) {
            return "has a domain after the @ that is not a DNS name (longer than 253 bytes, or a label longer than 63)"
        }
        return nil
    }
}
