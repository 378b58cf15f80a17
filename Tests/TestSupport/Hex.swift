import ByteEncoding

/// Hex helpers for test vectors (`ByteEncoding.Hex`, whitespace in the text ignored).
extension Array where Element == UInt8 {
    public init(hex: String) {
        self = Hex.decode(String(hex.filter { !$0.isWhitespace })) ?? []
    }

    public var hex: String { Hex.encode(self) }
}
