import FoundationEssentials

/// The `Retry-After` header (RFC 9110 §10.2.3), used by ACME for rate limits (RFC 8555 §6.6),
/// polling (§7.5.1) and ARI (RFC 9773 §4.3).
enum RetryAfter {
    /// The longest delay read from delay-seconds: a hundred years. Longer values (`999999999999999999999`) are read
    /// as this, so the date stays representable and printable; what a caller actually waits is its own, much
    /// shorter, cap (CertAgent's `RetryAfterCap`, RFC 9773 §4.3's one day for ARI, the polling timeout).
    static let maximumSeconds: TimeInterval = 100 * 365 * 86_400

    /// The moment `value` names: delay-seconds from `now`, or an HTTP-date. Nil when absent or unreadable.
    /// This is what the server asked, bounded only to stay a representable date (`maximumSeconds`).
    static func date(_ value: String?, now: Date) -> Date? {
        guard let raw = value?.trimmingWhitespace(), !raw.isEmpty else { return nil }
        if raw.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            guard let seconds = Double(raw), seconds.isFinite else { return nil }
            return now.addingTimeInterval(min(seconds, maximumSeconds))
        }
        return Timestamps.httpDate(raw)
    }

    /// The delay `value` asks for, in seconds from `now` (never negative).
    static func seconds(_ value: String?, now: Date) -> TimeInterval? {
        date(value, now: now).map { max(0, $0.timeIntervalSince(now)) }
    }
}
