/// Hex helpers for test vectors.
extension Array where Element == UInt8 {
    public init(hex: String) {
        let digits = Array(hex.filter { !$0.isWhitespace }.utf8)
        var bytes: [UInt8] = []
        var index = 0
        while index + 1 < digits.count {
            bytes.append(UInt8(String(decoding: digits[index ... index + 1], as: UTF8.self), radix: 16) ?? 0)
            index += 2
        }
        self = bytes
    }

    public var hex: String { map { String(format: "%02x", $0) }.joined() }
}
