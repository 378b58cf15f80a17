import FoundationEssentials

/// The one way CertAgent writes a moment: for people `2026-12-01 13:39 UTC` (every message, log line and status
/// text), for machines RFC 3339 in UTC `2026-12-01T13:39:07Z` (`status --json`). Pure arithmetic in UTC, no locale
/// and no time zone of the machine, so the same moment reads the same everywhere.
public enum TimeText {
    /// For people: `2026-12-01 13:39 UTC`; with `seconds`, `2026-12-01 13:39:07 UTC` (log line timestamps).
    public static func human(_ date: Date, seconds: Bool = false) -> String {
        let parts = utcParts(date)
        let minute = "\(pad(parts.year, 4))-\(pad(parts.month))-\(pad(parts.day)) \(pad(parts.hour)):\(pad(parts.minute))"
        return minute + (seconds ? ":\(pad(parts.second))" : "") + " UTC"
    }

    /// For machines: RFC 3339 (§5.6) in UTC with whole seconds, `2026-12-01T13:39:07Z`.
    public static func rfc3339(_ date: Date) -> String {
        let parts = utcParts(date)
        return "\(pad(parts.year, 4))-\(pad(parts.month))-\(pad(parts.day))T\(pad(parts.hour)):\(pad(parts.minute)):\(pad(parts.second))Z"
    }

    /// ISO 8601 basic format in UTC with whole seconds, `20261201T133907Z` (names of certificate versions).
    public static func iso8601Basic(_ date: Date) -> String {
        let parts = utcParts(date)
        return "\(pad(parts.year, 4))\(pad(parts.month))\(pad(parts.day))T\(pad(parts.hour))\(pad(parts.minute))\(pad(parts.second))Z"
    }

    private static func pad(_ value: Int, _ width: Int = 2) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// The UTC calendar fields of `date`, whole seconds (rounded down). Days from the civil calendar algorithm
    /// (Howard Hinnant's `civil_from_days`), the inverse of the one `Timestamps` parses with.
    private static func utcParts(_ date: Date) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        let clamped = min(max(date.timeIntervalSince1970, -62_135_596_800), 253_402_300_799)   // years 1 to 9999
        let total = Int(clamped.rounded(.down))
        let days = Int((Double(total) / 86_400).rounded(.down))
        let secondOfDay = total - days * 86_400
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthPart = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthPart + 2) / 5 + 1
        let month = monthPart < 10 ? monthPart + 3 : monthPart - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day, secondOfDay / 3_600, secondOfDay % 3_600 / 60, secondOfDay % 60)
    }
}
