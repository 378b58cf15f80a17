import FoundationEssentials

/// Decides when each certificate is renewed. Pure: all time and randomness come in as arguments, and the only
/// state is the `RenewalRecord` passed in and handed back.
///
/// - A certificate that cannot be served (missing, unreadable, key mismatch, names missing, expired) is renewed at
///   once, subject to `FailureBackoff`.
/// - With renewal information (ARI, RFC 9773): at a random moment inside the suggested window (§4.2), at once when
///   the window has begun or passed; renewal information is fetched again when its `Retry-After` says, clamped to
///   [one minute, one day] (§4.3). Until a window is known, the lifetime rule stands in as a safety net.
/// - Without it: `LifetimeRenewalRule` (a third of the lifetime left, half for ten days or less, with jitter).
/// - The random moment is stored in the record, tied to the certificate's serial (and window), and reused until
///   either changes, so a restart does not draw again.
/// - An admin-forced renewal runs now, ignoring backoff.
/// - A usable certificate whose configured profile is not the one it was issued under (`ProfileChange`) is renewed
///   at once, subject to `FailureBackoff`, like one missing a configured name.
/// - Nothing the CA says moves a renewal past the certificate's latest safe renewal time
///   (`LifetimeRenewalRule.latestRenewal`): not a suggested window, not a `Retry-After` (`RetryAfterCap`; one day
///   when there is no usable certificate).
public struct RenewalPolicy: Sendable {
    /// The rule used without renewal information.
    public var lifetimeRule: LifetimeRenewalRule
    /// The longest time between two looks at a certificate, whatever its schedule (the store is re-inspected, so
    /// a deleted or replaced certificate is noticed).
    public var maximumWakeInterval: TimeInterval

    public init(lifetimeRule: LifetimeRenewalRule = LifetimeRenewalRule(), maximumWakeInterval: TimeInterval = 86_400) {
        self.lifetimeRule = lifetimeRule
        self.maximumWakeInterval = maximumWakeInterval
    }

    /// What to do next for a certificate found in `state`, with `record` its renewal history.
    /// `ariSupported`: the CA's directory has `renewalInfo`. `forced`: the admin asked for a renewal now.
    /// `profileChange`: the configured profile differs from the stored certificate's (`ProfileChange.between`).
    public func decide(state: StoredCertificateState, record: RenewalRecord, ariSupported: Bool, now: Date,
                       random: any RandomSource, forced: Bool = false, profileChange: ProfileChange? = nil) -> RenewalDecision {
        let reason: RenewalReason
        switch state {
        case .missing: reason = .missing
        case .unreadable: reason = .unreadable
        case .keyMismatch: reason = .keyMismatch
        case .namesMissing: reason = .namesMissing
        case .expired: reason = .expired
        case .revoked: reason = .revoked
        case .valid(let leaf, _):
            return decide(serving: ServedCertificate(leaf), record: record, ariSupported: ariSupported, now: now,
                          random: random, forced: forced, profileChange: profileChange)
        }
        let cap = RetryAfterCap.withoutCertificate(failedAt: FailureBackoff.failureTime(of: record, now: now))
        return renew(because: forced ? .forced : reason, record: record, now: now, cap: cap, forced: forced)
    }

    /// The most a wait the CA asks for after a failure at `failedAt` is honoured, for a certificate found in `state`
    /// (`RetryAfterCap`: its latest safe renewal time when it is usable, else one day).
    public func retryAfterCap(for state: StoredCertificateState, failedAt: Date) -> RetryAfterCap {
        guard case .valid(let leaf, _) = state else { return .withoutCertificate(failedAt: failedAt) }
        return .serving(ServedCertificate(leaf), rule: lifetimeRule, failedAt: failedAt)
    }

    /// What to do next for a certificate found in `state`, when the admin may have forced a renewal of the certificate
    /// stored at the time (`forcing`): forced while that request is not yet fulfilled (`ForcedRenewal.isFulfilled`),
    /// scheduled as usual once another process has replaced the certificate.
    public func decide(state: StoredCertificateState, record: RenewalRecord, ariSupported: Bool, now: Date,
                       random: any RandomSource, forcing: ForcedRenewal?, profileChange: ProfileChange? = nil) -> RenewalDecision {
        let forced = forcing.map { !$0.isFulfilled(by: state) } ?? false
        return decide(state: state, record: record, ariSupported: ariSupported, now: now, random: random, forced: forced,
                      profileChange: profileChange)
    }

    /// What to do next for a usable certificate described by `certificate`.
    public func decide(serving certificate: ServedCertificate, record: RenewalRecord, ariSupported: Bool, now: Date,
                       random: any RandomSource, forced: Bool = false, profileChange: ProfileChange? = nil) -> RenewalDecision {
        let cap = RetryAfterCap.serving(certificate, rule: lifetimeRule, failedAt: FailureBackoff.failureTime(of: record, now: now))
        if forced { return renew(because: .forced, record: record, now: now, cap: cap, forced: true) }
        if profileChange != nil { return renew(because: .profileChanged, record: record, now: now, cap: cap) }
        var record = record
        guard ariSupported, let certificateID = certificate.ariCertificateID else {
            let time = chosenTime(for: certificate, window: nil, record: &record, now: now, random: random)
            return time <= now ? renew(because: .lifetimeThreshold, record: record, now: now, cap: cap)
                               : scheduled(.renewAt(time, .lifetimeThreshold), wake: time, record: record, now: now)
        }
        // A check scheduled from a fetch "in the future" (the clock was ahead, since corrected) is due now.
        let fetchedAhead = (record.ariFetched ?? now) > now
        let nextCheck = fetchedAhead ? now : max(record.nextRenewalInfoCheck(for: certificateID) ?? now, now)
        guard let window = record.window(for: certificateID) else {
            // No window yet (RFC 9773 §4.3: fetch it); meanwhile the lifetime rule guards against a CA that never answers.
            let fallback = chosenTime(for: certificate, window: nil, record: &record, now: now, random: random)
            if fallback <= now { return renew(because: .lifetimeThreshold, record: record, now: now, cap: cap) }
            return scheduled(.checkRenewalInfo(at: nextCheck), wake: min(nextCheck, fallback), record: record, now: now)
        }
        let time = chosenTime(for: certificate, window: window, record: &record, now: now, random: random)
        // A window that starts after the latest safe renewal time (a CA's mistake, or a hostile one) is not waited for.
        let reason: RenewalReason = window.start > latestRenewal(of: certificate) ? .lifetimeThreshold : .inWindow
        if time <= now { return renew(because: reason, record: record, now: now, cap: cap) }
        if nextCheck <= now { return scheduled(.checkRenewalInfo(at: now), wake: now, record: record, now: now) }
        return scheduled(.renewAt(time, reason), wake: min(time, nextCheck), record: record, now: now)
    }

    // MARK: Steps

    /// The stored renewal time when it was drawn for this certificate and window; otherwise a new one, stored.
    private func chosenTime(for certificate: ServedCertificate, window: RenewalWindow?, record: inout RenewalRecord,
                            now: Date, random: any RandomSource) -> Date {
        if let time = record.chosenRenewalTime, record.chosenForSerial == certificate.serial, record.chosenFromWindow == window {
            return min(time, latestRenewal(of: certificate))   // a time stored before the cap existed is capped too
        }
        let time = if let window {
            min(SuggestedWindowRule.renewalTime(in: window, now: now, random: random), latestRenewal(of: certificate))
        } else {
            lifetimeRule.renewalTime(notBefore: certificate.notBefore, notAfter: certificate.notAfter, random: random)
        }
        record.chosenRenewalTime = time
        record.chosenForSerial = certificate.serial
        record.chosenFromWindow = window
        return time
    }

    /// The certificate's latest safe renewal time (`LifetimeRenewalRule.latestRenewal`).
    private func latestRenewal(of certificate: ServedCertificate) -> Date {
        lifetimeRule.latestRenewal(notBefore: certificate.notBefore, notAfter: certificate.notAfter)
    }

    /// A renewal wanted now: now, or when `FailureBackoff` allows (the CA's `Retry-After` honoured up to `cap`).
    private func renew(because reason: RenewalReason, record: RenewalRecord, now: Date, cap: RetryAfterCap,
                       forced: Bool = false) -> RenewalDecision {
        let time = FailureBackoff.attemptTime(for: record, now: now, forced: forced, retryAfterCap: cap)
        if time <= now { return RenewalDecision(action: .renewNow(reason), wakeAt: now, record: record) }
        var decision = scheduled(.renewAt(time, reason), wake: time, record: record, now: now)
        decision.heldBackByFailures = true
        return decision
    }

    private func scheduled(_ action: RenewalAction, wake: Date, record: RenewalRecord, now: Date) -> RenewalDecision {
        RenewalDecision(action: action, wakeAt: min(wake, now.addingTimeInterval(maximumWakeInterval)), record: record)
    }
}
