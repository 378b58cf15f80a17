import FoundationEssentials

/// When to renew without renewal information, from the certificate's own lifetime (Let's Encrypt's guidance):
/// with a third of the lifetime left — half when the lifetime is ten days or less — never a fixed 90 days, so
/// 45-day and 160-hour (`shortlived`) certificates renew in time too.
///
/// The moment is spread by a random jitter of `jitterFraction` of the lifetime, centred on the threshold, so
/// certificates issued together do not all renew together; it never falls later than `notAfter` minus
/// `safetyMargin(lifetime:)` nor before `notBefore`.
public struct LifetimeRenewalRule: Sendable, Equatable {
    /// Lifetimes up to this long renew at half their lifetime instead of a third left.
    public var shortLifetime: TimeInterval = 10 * 86_400
    /// The width of the jitter, as a fraction of the lifetime (half before the threshold, half after).
    public var jitterFraction: Double = 0.05

    public init(shortLifetime: TimeInterval = 10 * 86_400, jitterFraction: Double = 0.05) {
        self.shortLifetime = shortLifetime
        self.jitterFraction = jitterFraction
    }

    /// The fraction of the lifetime that should be left when renewing.
    public func fractionLeft(lifetime: TimeInterval) -> Double {
        lifetime <= shortLifetime ? 1.0 / 2.0 : 1.0 / 3.0
    }

    /// The least time before expiry a renewal is ever scheduled: a tenth of the lifetime, at most a day.
    public func safetyMargin(lifetime: TimeInterval) -> TimeInterval {
        min(86_400, lifetime / 10)
    }

    /// The latest safe renewal time of a certificate valid from `notBefore` to `notAfter`: `notAfter` minus
    /// `safetyMargin(lifetime:)`. Past it the certificate is at risk: no renewal time this rule draws, no CA window
    /// and no wait the CA asks for (`RetryAfterCap`) is allowed to reach beyond it.
    public func latestRenewal(notBefore: Date, notAfter: Date) -> Date {
        let lifetime = notAfter.timeIntervalSince(notBefore)
        guard lifetime > 0 else { return notBefore }
        return notAfter.addingTimeInterval(-safetyMargin(lifetime: lifetime))
    }

    /// The renewal moment before jitter.
    public func threshold(notBefore: Date, notAfter: Date) -> Date {
        let lifetime = notAfter.timeIntervalSince(notBefore)
        guard lifetime > 0 else { return notBefore }
        return notAfter.addingTimeInterval(-fractionLeft(lifetime: lifetime) * lifetime)
    }

    /// Every moment `renewalTime` can return.
    public func bounds(notBefore: Date, notAfter: Date) -> ClosedRange<Date> {
        let lifetime = notAfter.timeIntervalSince(notBefore)
        guard lifetime > 0 else { return notBefore...notBefore }
        let center = threshold(notBefore: notBefore, notAfter: notAfter)
        let halfJitter = jitterFraction * lifetime / 2
        let latest = min(center.addingTimeInterval(halfJitter), latestRenewal(notBefore: notBefore, notAfter: notAfter))
        let earliest = min(max(center.addingTimeInterval(-halfJitter), notBefore), latest)
        return earliest...latest
    }

    /// A renewal moment for a certificate valid from `notBefore` to `notAfter`, jittered by `random`
    /// and rounded down to a whole second (so it survives being stored).
    public func renewalTime(notBefore: Date, notAfter: Date, random: any RandomSource) -> Date {
        let range = bounds(notBefore: notBefore, notAfter: notAfter)
        let span = range.upperBound.timeIntervalSince(range.lowerBound)
        let drawn = range.lowerBound.addingTimeInterval(random.fraction() * span)
        let rounded = Date(timeIntervalSince1970: drawn.timeIntervalSince1970.rounded(.down))
        return min(max(rounded, range.lowerBound), range.upperBound)
    }
}
