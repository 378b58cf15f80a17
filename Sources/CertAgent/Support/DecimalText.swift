/// Numbers written for people with a fixed number of decimals (`printf`'s `%.1f`), without Foundation's formatters.
public enum DecimalText {
    /// `value` rounded to one decimal as `printf("%.1f")` rounds it: by its exact binary value (`1.85` is a little
    /// more than 1.85, so `"1.9"`), an exact half to even (`0.25` → `"0.2"`).
    public static func oneDecimal(_ value: Double) -> String {
        guard value.isFinite else { return "\(value)" }
        let scaled = value * 10
        var tenths = scaled.rounded(.toNearestOrEven)
        if abs(scaled - scaled.rounded(.towardZero)) == 0.5 {
            // A tie after the multiplication: what the multiplication rounded away decides (fused, so exact).
            let lost = (-scaled).addingProduct(value, 10)
            if lost > 0 { tenths = scaled.rounded(.up) } else if lost < 0 { tenths = scaled.rounded(.down) }
        }
        let magnitude = Int(abs(tenths))
        return (tenths < 0 ? "-" : "") + "\(magnitude / 10).\(magnitude % 10)"
    }
}
