import ACME
import FoundationEssentials

/// Whether this node can reach the fleet's etcd, and since when not: what the daemon's passes, its log and `status`
/// report. While etcd is unreachable (no quorum, a network split) nothing served changes — every node keeps its current
/// certificates and files — and renewals wait: a node that cannot take the fleet's lock never orders on its own.
public struct FleetAvailability: Sendable, Equatable {
    /// When etcd last answered.
    public var lastReachable: Date?
    /// Since when it has not, and why (nil: reachable).
    public var unreachableSince: Date?
    public var reason: String?

    public init() {}

    public var isReachable: Bool { unreachableSince == nil }

    /// Notes an answer at `now`; returns true when this ends an outage (to say so once).
    public mutating func noteReachable(at now: Date) -> Bool {
        let wasDown = unreachableSince != nil
        lastReachable = now
        unreachableSince = nil
        reason = nil
        return wasDown
    }

    /// Notes a failure at `now`; returns true when this starts an outage (to say and notify once, not at every pass).
    public mutating func noteUnreachable(_ reason: String, at now: Date) -> Bool {
        let starts = unreachableSince == nil
        if starts { unreachableSince = now }
        self.reason = reason
        return starts
    }

    /// How long a pass waits before trying etcd again while it is unreachable.
    public static let retryInterval: TimeInterval = 30

    /// The line for the log and `status`.
    public var text: String {
        guard let since = unreachableSince else { return "etcd reachable" }
        return "etcd unreachable since \(TimeText.human(since)): \(reason ?? "no answer"); every node keeps serving its current certificates, renewals wait until etcd answers"
    }
}
