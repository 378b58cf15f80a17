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

    /// The kept bytes as text (invalid UTF-8 replaced), marked when earlier output was dropped.
    var text: String {
        let kept = String(decoding: bytes, as: UTF8.self)
        return droppedCount > 0 ? "…" + kept : kept
    }
}
