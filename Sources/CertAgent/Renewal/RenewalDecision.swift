import ACME
import FoundationEssentials

/// Why a certificate is (or will be) renewed.
public enum RenewalReason: String, Sendable, Equatable, Codable, CustomStringConvertible {
    /// There is no certificate yet.
    case missing
    /// The stored certificate or key cannot be read.
    case unreadable
    /// The certificate does not match its private key.
    case keyMismatch
    /// The certificate does not cover every configured name.
    case namesMissing
    /// The configured profile is not the one the certificate was issued under (`ProfileChange`).
    case profileChanged
    /// The certificate has expired.
    case expired
    /// The certificate was revoked (`certagent revoke`).
    case revoked
    /// The CA's suggested renewal window (RFC 9773 §4.2) has been reached.
    case inWindow
    /// No renewal information: the certificate has reached its renewal threshold (a third of its lifetime left,
    /// or half for lifetimes of ten days or less).
    case lifetimeThreshold
    /// The admin asked for a renewal now.
    case forced

    public var description: String {
        switch self {
        case .missing: "no certificate yet"
        case .unreadable: "the stored certificate cannot be read"
        case .keyMismatch: "the certificate does not match its key"
        case .namesMissing: "the certificate does not cover every configured name"
        case .profileChanged: "the configured profile is not the one the certificate was issued under"
        case .expired: "the certificate has expired"
        case .revoked: "the certificate was revoked"
        case .inWindow: "inside the CA's suggested renewal window"
        case .lifetimeThreshold: "it has reached its renewal point (\(Self.renewalPoint))"
        case .forced: "the admin asked for a renewal now"
        }
    }

    /// The reason for a renewal still to come (`renew at …`): true before the moment, unlike `description`.
    public var upcoming: String {
        switch self {
        case .lifetimeThreshold: "its renewal point: \(Self.renewalPoint)"
        case .inWindow: "a time inside the CA's suggested renewal window (ARI)"
        default: description
        }
    }

    /// What the renewal point of a certificate without renewal information is (`LifetimeRenewalRule`).
    static let renewalPoint = "a third of its lifetime left, half for lifetimes of 10 days or less"
}

/// What to do next for one certificate.
public enum RenewalAction: Sendable, Equatable, CustomStringConvertible {
    /// Start a renewal now.
    case renewNow(RenewalReason)
    /// Renew at the given moment (a chosen renewal time, or the end of a failure backoff).
    case renewAt(Date, RenewalReason)
    /// Fetch renewal information (RFC 9773 §4.3) at the given moment, then decide again.
    case checkRenewalInfo(at: Date)

    public var description: String {
        switch self {
        case .renewNow(let reason): "renew now: \(reason)"
        case .renewAt(let date, let reason): "renew at \(TimeText.human(date)): \(reason.upcoming)"
        case .checkRenewalInfo(let date): "check renewal information at \(TimeText.human(date))"
        }
    }
}

/// The outcome of `RenewalPolicy.decide`.
public struct RenewalDecision: Sendable, Equatable, CustomStringConvertible {
    /// What to do.
    public var action: RenewalAction
    /// When to look at this certificate again (for the scheduler): never later than the action's time.
    public var wakeAt: Date
    /// True when a renewal is wanted now but failed attempts or a CA `Retry-After` put it off (`FailureBackoff`).
    public var heldBackByFailures: Bool
    /// The record, with any renewal time newly drawn: save it when it differs from the one passed in, so a restart
    /// keeps the same time.
    public var record: RenewalRecord

    public init(action: RenewalAction, wakeAt: Date, heldBackByFailures: Bool = false, record: RenewalRecord) {
        self.action = action
        self.wakeAt = wakeAt
        self.heldBackByFailures = heldBackByFailures
        self.record = record
    }

    public var description: String {
        heldBackByFailures ? "\(action) (held back by \(record.failures) failure\(record.failures == 1 ? "" : "s"))" : action.description
    }
}
