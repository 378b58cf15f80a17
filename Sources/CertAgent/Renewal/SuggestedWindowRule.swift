import FoundationEssentials

/// When to renew given the CA's suggested window (RFC 9773 §4.2): at a uniformly random moment inside it,
/// so that clients spread their load; at once when the window has already begun or ended.
public enum SuggestedWindowRule {
    /// The renewal moment for `window` as seen at `now`, rounded down to a whole second (so it survives being
    /// stored) but never before the window starts.
    public static func renewalTime(in window: RenewalWindow, now: Date, random: any RandomSource) -> Date {
        guard now < window.start else { return now }
        let span = window.end.timeIntervalSince(window.start)
        let drawn = window.start.addingTimeInterval(random.fraction() * span)
        let rounded = Date(timeIntervalSince1970: drawn.timeIntervalSince1970.rounded(.down))
        return max(rounded, window.start)
    }
}
