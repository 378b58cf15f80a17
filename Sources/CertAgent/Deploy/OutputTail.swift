import ACME

/// Keeps only the last `limit` bytes of a stream: enough to explain a failure, bounded whatever a child prints.
struct OutputTail {
    let limit: Int
    private(set) var bytes: [UInt8] = []
    private(set) var droppedCount = 0

    init(limit: Int) { self.limit = limit }

    mutating func append(_ chunk: ArraySlice<UInt8>) {
        bytes += chunk
        if bytes.count > limit {
            let excess = bytes.count - limit
            bytes.removeFirst(excess)
            droppedCount += excess
        }
    }

    /// The kept bytes as one line of text that is safe to print and log (`UntrustedText`: line breaks, escape
    /// sequences and other controls shown as `\n`, `\x1b` …, bytes that are not UTF-8 as `\xNN`), without the
    /// trailing line break, and starting with `…` when earlier output was dropped. A cut never starts inside a
    /// multi-byte character.
    var text: String {
        var kept = bytes[...]
        if droppedCount > 0 {
            // The cut may have split a UTF-8 sequence: skip its continuation bytes (at most three).
            var skipped = 0
            while skipped < 3, let first = kept.first, first & 0xC0 == 0x80 {
                kept = kept.dropFirst()
                skipped += 1
            }
        }
        while let last = kept.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") || last == UInt8(ascii: " ") {
            kept = kept.dropLast()
        }
        let shown = UntrustedText.display(bytes: kept, limit: kept.count)
        return droppedCount > 0 ? "…" + shown : shown
    }
}
