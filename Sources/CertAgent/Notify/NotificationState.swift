import FoundationEssentials

/// What CertAgent remembers about telling the admin about one certificate (`<certificate dir>/notify.json`), so a
/// restart never repeats a message and a state that comes and goes does not flood anyone.
public struct NotificationState: Codable, Sendable, Equatable {
    public var formatVersion: Int = 1
    /// Failing since (set when the first `renewalFailed` was sent; cleared on success).
    public var failingSince: Date?
    /// The second `renewalFailed` (failing past the at-risk point) was sent for this failure.
    public var failurePastRiskSent: Bool = false
    /// The serial (hex) of the certificate an `atRisk` was sent for.
    public var atRiskSerial: String?
    /// A deployment failure was reported (cleared when a deployment succeeds).
    public var deployFailureSince: Date?
    /// A site mismatch was reported (cleared when the site serves the current certificate again).
    public var siteMismatchSince: Date?
    /// The ARI window (`serial start`) an `earlyRenewalRequested` was sent for.
    public var earlyRenewalFor: String?
    /// When each event kind was last sent about this certificate (the flood guard).
    public var lastSent: [String: Date] = [:]
    /// When a digest including this certificate was last sent (at most one a day).
    public var lastDigest: Date?

    public init() {}
}

/// Keeps one `NotificationState` per certificate through the store (`notify.json`, 0600, written atomically);
/// a missing or unusable file is a fresh state.
public struct NotificationStateStore: Sendable {
    private let storage: any CertificateStorage

    public init(store: any CertificateStorage) { storage = store }

    /// The state of certificate `name` (fresh when there is none), and why an existing file could not be used.
    public func load(_ name: String) -> (state: NotificationState, problem: String?) {
        let loaded = storage.load(NotificationState.self, of: name)
        return (loaded.value, loaded.problem)
    }

    public func save(_ state: NotificationState, for name: String) throws {
        try storage.save(state, of: name)
    }
}
