/// Numbers written for people with a fixed number of decimals (`printf`'s `%.1f`), without Foundation's formatters.
public enum DecimalText {
    /// `value` rounded to one decimal: `1.84` → `"1.8"`, `0.05` → `"0.0"` (halves to even, as `printf` does).
    public static func oneDecimal(_ value: Double) -> String {
        guard value.isFinite else { return "\(value)" }
        let tenths = (value * 10).rounded(.toNearestOrEven)
        let magnitude = Int(abs(tenths))
        return (tenths < 0 ? "-" : "") + "\(magnitude / 10).\(magnitude % 10)"
    }
}
