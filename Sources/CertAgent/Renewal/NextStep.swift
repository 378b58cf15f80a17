import ACME
import FoundationEssentials

/// What happens next to a certificate, as a stable value for machines (`status --json`'s `nextAction`).
public enum NextAction: String, Codable, Sendable, CaseIterable {
    /// Renewed (or first issued) at the next look: it is due now.
    case renewNow
    /// Renewed at `nextActionAt`, its scheduled time.
    case renewAt
    /// Due, but held back after failed attempts (or by the CA's `Retry-After`) until `nextActionAt`.
    case retryAt
    /// The CA's renewal information (ARI, RFC 9773) is fetched at `nextActionAt`, then decided again.
    case checkRenewalInfo
    /// Nothing: the certificate is not in the config, so it is never renewed.
    case none
}

/// What the daemon does next for one certificate, from a `RenewalDecision`: a machine value and the words for people.
public struct NextStep: Sendable, Equatable {
    public var action: NextAction
    public var at: Date?
    public var reason: RenewalReason?
    /// Failed attempts in a row (for `retryAt`).
    public var failures: Int

    public init(action: NextAction, at: Date?, reason: RenewalReason?, failures: Int = 0) {
        self.action = action
        self.at = at
        self.reason = reason
        self.failures = failures
    }

    public init(_ decision: RenewalDecision) {
        switch decision.action {
        case .renewNow(let reason):
            self.init(action: .renewNow, at: nil, reason: reason)
        case .renewAt(let date, let reason):
            self.init(action: decision.heldBackByFailures ? .retryAt : .renewAt, at: date, reason: reason,
                      failures: decision.record.failures)
        case .checkRenewalInfo(let date):
            self.init(action: .checkRenewalInfo, at: date, reason: nil)
        }
    }

    /// The time when it is held back by failures: "held back after 3 failures until 2026-12-01 14:20 UTC".
    public var heldBack: String? {
        guard action == .retryAt, let at else { return nil }
        let count = failures == 1 ? "1 failure" : "\(failures) failures"
        return failures > 0 ? "held back after \(count) until \(TimeText.human(at))"
                            : "held back until \(TimeText.human(at)) (the CA asked to wait)"
    }

    /// For people, after the certificate's name: "renews at 2026-12-03 10:00 UTC (its renewal point: …)".
    public var text: String {
        let time = at.map { TimeText.human($0) } ?? "now"
        switch action {
        case .renewNow:
            return reason == .missing ? "gets its first certificate now" : "renews now: " + (reason?.description ?? "due")
        case .renewAt:
            return "renews at \(time)" + (reason.map { " (\($0.upcoming))" } ?? "")
        case .retryAt:
            return "retries at \(time) (\(heldBack ?? "held back")" + (reason.map { ": \($0)" } ?? "") + ")"
        case .checkRenewalInfo:
            return "checks the CA's renewal information (ARI) at \(time)"
        case .none:
            return "nothing: not in the config, so never renewed"
        }
    }
}
