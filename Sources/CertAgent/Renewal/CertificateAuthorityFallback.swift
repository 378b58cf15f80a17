import FoundationEssentials
import ACME

/// Which CA one renewal attempt of a certificate goes to, when the config lists more than one (`directory` as a list).
///
/// Every renewal starts at the primary (the first CA). It moves on to the next CA in the list when the CA it is at
///  - has failed `fallbackAfterFailures` consecutive times for this certificate (failures that say nothing about the
///    CA, such as a failed HTTP-01 validation, are not counted: `blamesCertificateAuthority`), or
///  - answered its last failure with a `Retry-After` (e.g. `rateLimited`, RFC 8555 §6.6) later than the certificate can
///    wait: past `RetryAfterCap.latest`, its latest safe renewal time (`LifetimeRenewalRule.latestRenewal`: notAfter
///    minus a tenth of its lifetime, at most a day), or one day after the failure when no usable certificate exists.
///    Honouring such a wait would put the certificate at risk; another CA can issue now.
///
/// After the last CA it starts over at the primary. A success forgets it all (`RenewalRecord.recordSuccess`), so the
/// next renewal tries the primary again. A record naming a CA no longer configured starts over at the primary.
/// Pure: the record, the cap and `now` come in as arguments.
public enum CertificateAuthorityFallback {
    /// The CA chosen for an attempt, and why.
    public struct Choice: Sendable, Equatable, CustomStringConvertible {
        /// Its position in the config's `directory` list (0: the primary).
        public var index: Int
        /// Its directory URL.
        public var directoryURL: String
        public var reason: Reason

        public init(index: Int, directoryURL: String, reason: Reason) {
            self.index = index
            self.directoryURL = directoryURL
            self.reason = reason
        }

        /// Why this CA.
        public enum Reason: Sendable, Equatable {
            /// No failure since the last success (or one CA only): the primary.
            case primary
            /// The CA of the last failed attempt, which has failed fewer than `fallbackAfterFailures` times.
            case sameAsLastAttempt(failures: Int)
            /// The previous CA failed `failures` consecutive times.
            case afterFailures(previous: String, failures: Int)
            /// The previous CA asked to wait until `until`, past `latest`, what the certificate can wait.
            case retryAfterTooLate(previous: String, until: Date, latest: Date)
        }

        /// Words for the log: "the fallback CA https://… (https://… failed 3 times in a row)".
        public var description: String {
            let name = CertificateAuthorityConfig.displayName(of: directoryURL)
            switch reason {
            case .primary: return "the primary CA \(name)"
            case .sameAsLastAttempt(let failures):
                return "\(index == 0 ? "the primary" : "the fallback") CA \(name) (\(failures) failure\(failures == 1 ? "" : "s") there so far)"
            case .afterFailures(let previous, let failures):
                return "\(index == 0 ? "the primary" : "the fallback") CA \(name) (\(CertificateAuthorityConfig.displayName(of: previous)) failed \(failures) time\(failures == 1 ? "" : "s") in a row)"
            case .retryAfterTooLate(let previous, let until, let latest):
                return "\(index == 0 ? "the primary" : "the fallback") CA \(name) (\(CertificateAuthorityConfig.displayName(of: previous)) asked to wait until \(TimeText.human(until)), past \(TimeText.human(latest)), the latest the certificate can wait)"
            }
        }
    }

    /// The CA for the next attempt among `authorities` (directory URLs, the primary first), from `record`.
    /// `fallbackAfterFailures`: consecutive failures at one CA before moving on. `retryAfterCap`: the most the
    /// certificate can wait (`RenewalPolicy.retryAfterCap` at the last failure). `now`: the injected clock's time; a
    /// `Retry-After` already past does not count.
    public static func choose(authorities: [String], record: RenewalRecord, fallbackAfterFailures: Int,
                              retryAfterCap: RetryAfterCap, now: Date) -> Choice {
        let primary = Choice(index: 0, directoryURL: authorities.first ?? "", reason: .primary)
        guard authorities.count > 1, record.failures > 0, let failed = record.failedAuthority,
              let current = authorities.firstIndex(of: failed) else { return primary }
        let failures = record.failuresAtAuthority ?? 0
        let next = (current + 1) % authorities.count
        if let until = record.authorityRetryAfter, until > now, until > retryAfterCap.latest {
            return Choice(index: next, directoryURL: authorities[next],
                          reason: .retryAfterTooLate(previous: failed, until: until, latest: retryAfterCap.latest))
        }
        if failures >= max(1, fallbackAfterFailures) {
            return Choice(index: next, directoryURL: authorities[next], reason: .afterFailures(previous: failed, failures: failures))
        }
        return Choice(index: current, directoryURL: failed, reason: .sameAsLastAttempt(failures: failures))
    }
}

extension RenewalRecord {
    /// Notes which CA a failed attempt went to (`directoryURL`) and the `Retry-After` it sent, if any: consecutive
    /// failures are counted per CA, from one at a CA other than the last one's. Call with `recordFailure`.
    public mutating func recordFailure(atAuthority directoryURL: String, retryAfter: Date?) {
        if failedAuthority == directoryURL {
            failuresAtAuthority = (failuresAtAuthority ?? 0) + 1
        } else {
            failedAuthority = directoryURL
            failuresAtAuthority = 1
        }
        authorityRetryAfter = retryAfter
    }
}

extension CertificateAuthorityFallback {
    /// `record` after an attempt at `directoryURL` failed at `now` with `error` (and the CA's `Retry-After`, if any),
    /// and the CA the next attempt goes to. The `Retry-After` holds the next attempt back only when that attempt goes
    /// to the same CA: one the renewal moves on from has no say over when the next CA is asked (only `FailureBackoff`
    /// paces it). Pure, like `choose`.
    /// `blamesCA`: false when the failure says nothing about the CA (`blamesCertificateAuthority`): it is counted for the
    /// backoff, not towards moving on.
    public static func recordingFailure(_ error: String, at directoryURL: String, retryAfter: Date?, in record: RenewalRecord,
                                        authorities: [String], fallbackAfterFailures: Int, retryAfterCap: RetryAfterCap,
                                        now: Date, blamesCA: Bool = true) -> (record: RenewalRecord, next: Choice) {
        var updated = record
        updated.recordFailure(error, retryAfter: retryAfter, at: now)
        if blamesCA { updated.recordFailure(atAuthority: directoryURL, retryAfter: retryAfter) }
        let next = choose(authorities: authorities, record: updated, fallbackAfterFailures: fallbackAfterFailures,
                          retryAfterCap: retryAfterCap, now: now)
        if next.directoryURL != directoryURL { updated.retryAfter = nil }
        return (updated, next)
    }

    /// Whether a failed attempt counts against the CA it went to. Not when the site could not prove control — the
    /// pre-flight check failed, or the CA's HTTP-01 validation did — which another CA would see just the same (and
    /// each failed validation there would count against its own rate limits); nor when another certagent process
    /// held the certificate, nor when the fleet's account could not be had (`FleetAccounts`: another master key, etcd
    /// down, another node registering). Everything else does: the CA unreachable, its errors and refusals, a bad chain.
    public static func blamesCertificateAuthority(_ error: any Error) -> Bool {
        var current = error
        if let issuance = current as? IssuanceError { current = issuance.underlying }
        switch current {
        case is PreflightFailure, is HTTP01ValidationFailure, is CertificateBusy: return false
        case is FleetAccountUnusable, is FleetAccountUnavailable, is FleetAccountBusy: return false
        case ACMEError.authorizationFailed: return false
        default: return true
        }
    }
}
