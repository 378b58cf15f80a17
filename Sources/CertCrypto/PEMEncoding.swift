import ByteEncoding

/// Textual encoding of DER structures (RFC 7468).
enum PEMEncoding {
    private static let standardAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// `-----BEGIN label-----`, base64 in 64-character lines, `-----END label-----`, each line ending in `\n`.
    static func encode(_ der: [UInt8], label: String) -> String {
        let base64 = Array(Base64.encode(der).utf8)
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
        try decode(text, label: label, firstOnly: false)
    }

    /// The DER payload of the first `label` block only (text after it is not read); nil when there is none.
    static func decodeFirst(_ text: String, label: String) throws -> [UInt8]? {
        try decode(text, label: label, firstOnly: true).first
    }

    private static func decode(_ text: String, label: String, firstOnly: Bool) throws -> [[UInt8]] {
        // Real PEM is ASCII: read it byte by byte. Other text keeps the Character-level reading below, whose idea of
        // a line break and of equal lines (canonical equivalence) covers Unicode.
        var text = text
        if let blocks = try text.withUTF8({ bytes in try decodeASCII(bytes, label: label, firstOnly: firstOnly) }) { return blocks }
        let blocks = try decodeCharacters(text, label: label)
        return firstOnly ? Array(blocks.prefix(1)) : blocks
    }

    /// `decodeAll` over ASCII bytes (nil when there is a non-ASCII byte): the same lines (split at LF, VT, FF and CR,
    /// empty ones skipped), the same trimming of spaces and tabs, the same blocks and errors.
    private static func decodeASCII(_ bytes: UnsafeBufferPointer<UInt8>, label: String, firstOnly: Bool) throws -> [[UInt8]]? {
        guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
        let begin = Array("-----BEGIN \(label)-----".utf8)
        let end = Array("-----END \(label)-----".utf8)
        var blocks: [[UInt8]] = []
        var body: [UInt8]? = nil
        var index = 0
        while index < bytes.count {
            var start = index
            while index < bytes.count, !(0x0A ... 0x0D).contains(bytes[index]) { index += 1 }
            var stop = index
            index += 1
            while start < stop, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
            while stop > start, bytes[stop - 1] == 0x20 || bytes[stop - 1] == 0x09 { stop -= 1 }
            let line = UnsafeBufferPointer(rebasing: bytes[start ..< stop])
            if line.elementsEqual(begin) {
                guard body == nil else { throw malformed("nested BEGIN \(label)") }
                body = []
            } else if line.elementsEqual(end) {
                guard let collected = body else { throw malformed("END \(label) without BEGIN") }
                guard let der = Base64.decode(symbols: collected), !der.isEmpty else {
                    throw malformed("invalid base64 in \(label) block \(blocks.count + 1)")
                }
                blocks.append(der)
                body = nil
                if firstOnly { return blocks }
            } else if body != nil {
                body?.append(contentsOf: line)
            }
        }
        if body != nil { throw malformed("missing END \(label)") }
        return blocks
    }

    /// `decodeAll` for text that is not ASCII, by Characters.
    static func decodeCharacters(_ text: String, label: String) throws -> [[UInt8]] {
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
                guard let der = Base64.decode(collected), !der.isEmpty else {
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
