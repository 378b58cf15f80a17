import ACME
import ByteEncoding
import FoundationEssentials

/// Removes known secret values from text: the last line of defence before a log line is written.
///
/// For each secret value it redacts the value as text (when it is UTF-8) and its standard base64, base64url
/// (unpadded) and lowercase hex forms, the forms a secret most often leaks in (an EAB key is handed out as base64url).
/// For each PEM it redacts the base64 body: every line of it and the whole body. Values shorter than
/// `minimumLength` characters are not redacted: replacing every "ab" in every line would ruin the log and hide nothing.
/// Longer values are replaced first, so a value that contains another is removed whole.
public struct SecretRedaction: Sendable {
    /// What replaces a secret.
    public static let marker = "[REDACTED]"
    /// Shortest value (in characters) that is redacted.
    public static let minimumLength = 4

    private let patterns: [String]

    /// `values`: the secrets' plaintext bytes; `pems`: PEM texts (for example the account key's PKCS#8 PEM).
    public init(values: [[UInt8]], pems: [String] = []) {
        var found = Set<String>()
        for value in values where !value.isEmpty {
            if let text = String(validating: value, as: UTF8.self) {
                found.insert(text)
                let trimmed = text.trimmingWhitespaceAndNewlines()
                if trimmed != text { found.insert(trimmed) }
            }
            let base64 = Data(value).base64EncodedString()
            found.insert(base64)
            found.insert(Base64URL.encode(value))
            found.insert(Hex.encode(value))
        }
        for pem in pems {
            let body = pem.split(whereSeparator: \.isNewline).map(String.init)
                .filter { !$0.hasPrefix("-----") && !$0.contains(":") }
                .map { $0.trimmingWhitespace() }
                .filter { !$0.isEmpty }
            found.formUnion(body.filter { $0.count >= 16 })
            if !body.isEmpty {
                found.insert(body.joined(separator: "\n"))
                found.insert(body.joined())
            }
        }
        patterns = found.filter { $0.count >= Self.minimumLength }.sorted { $0.count != $1.count ? $0.count > $1.count : $0 < $1 }
    }

    /// A redaction with the values of every secret in `secretsFile` and the given PEMs.
    public init(secretsFile: SecretsFile, pems: [String] = []) throws {
        let values = try secretsFile.allValues()
        self.init(values: Array(values.values), pems: pems)
    }

    /// True when there is nothing to redact.
    public var isEmpty: Bool { patterns.isEmpty }

    /// `text` with every occurrence of a secret replaced by `[REDACTED]`.
    public func redact(_ text: String) -> String {
        var result = text
        for pattern in patterns where result.contains(pattern) {
            result = result.replacing(pattern, with: Self.marker)
        }
        return result
    }
}
