import ByteEncoding

/// Textual encoding of DER structures (RFC 7468).
enum PEMEncoding {
    private static let standardAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// `-----BEGIN label-----`, base64 in 64-character lines, `-----END label-----`, each line ending in `\n`.
    static func encode(_ der: [UInt8], label: String) -> String {
        let base64 = Array(standardBase64(der).utf8)
        var text = "-----BEGIN \(label)-----\n"
        var index = 0
        while index < base64.count {
            let end = min(index + 64, base64.count)
            text += String(decoding: base64[index ..< end], as: UTF8.self) + "\n"
            index = end
        }
        text += "-----END \(label)-----\n"
        return text
    }

    /// The DER payloads of every `label` block, in order. Text outside the blocks is ignored
    /// (RFC 7468 §2 permits explanatory text); a block with a bad body or a missing END line throws.
    static func decodeAll(_ text: String, label: String) throws -> [[UInt8]] {
        let begin = "-----BEGIN \(label)-----"
        let end = "-----END \(label)-----"
        var blocks: [[UInt8]] = []
        var body: String? = nil
        // isNewline, not == "\n": Swift treats "\r\n" as a single Character.
        for rawLine in text.split(omittingEmptySubsequences: true, whereSeparator: { $0.isNewline }) {
            let line = rawLine.trimmingSpaces()
            if line == begin {
                guard body == nil else { throw malformed("nested BEGIN \(label)") }
                body = ""
            } else if line == end {
                guard let collected = body else { throw malformed("END \(label) without BEGIN") }
                guard let der = standardBase64Decode(collected), !der.isEmpty else {
                    throw malformed("invalid base64 in \(label) block \(blocks.count + 1)")
                }
                blocks.append(der)
                body = nil
            } else if body != nil {
                body? += line
            }
        }
        if body != nil { throw malformed("missing END \(label)") }
        return blocks
    }

    /// A decoding error: the explanation is this code's own words, so it is the summary too.
    private static func malformed(_ explanation: String) -> CryptoError {
        CryptoError(operation: "PEM decode", detail: explanation, summary: "malformed PEM: \(explanation)")
    }

    static func standardBase64(_ bytes: [UInt8]) -> String {
        var text = Base64URL.encode(bytes)
        text = String(text.map { $0 == "-" ? "+" : ($0 == "_" ? "/" : $0) })
        while text.utf8.count % 4 != 0 { text += "=" }
        return text
    }

    static func standardBase64Decode(_ text: String) -> [UInt8]? {
        var stripped = Substring(text)
        var padding = 0
        while stripped.hasSuffix("=") && padding < 2 {
            stripped = stripped.dropLast()
            padding += 1
        }
        guard (stripped.utf8.count + padding) % 4 == 0 else { return nil }
        if stripped.contains("-") || stripped.contains("_") { return nil }
        return Base64URL.decode(String(stripped.map { $0 == "+" ? "-" : ($0 == "/" ? "_" : $0) }))
    }
}

extension Substring {
    /// Removes leading and trailing spaces and tabs.
    func trimmingSpaces() -> String {
        var view = self
        while let first = view.first, first == " " || first == "\t" { view = view.dropFirst() }
        while let last = view.last, last == " " || last == "\t" { view = view.dropLast() }
        return String(view)
    }
}
