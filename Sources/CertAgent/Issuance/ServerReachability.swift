import FoundationEssentials
import Synchronization

/// Remembers the servers (by origin: scheme, host and port) that could not be reached or did not answer — no
/// connection, a timeout, a silent server — so that for `retryDelay` seconds every further request to one fails at
/// once instead of waiting again. One pass over many certificates on an unresponsive CA waits on it once, not once per
/// request and certificate. Any answer from a server clears what was remembered about it.
public final class ServerReachability: Sendable {
    private struct Failure {
        var at: Date
        var reason: String
    }

    /// How long a server that did not answer is not tried again: the first step of `FailureBackoff`, so a renewal
    /// retried after its backoff tries the server again.
    public static let defaultRetryDelay: TimeInterval = FailureBackoff.escalatingDelays[0]

    public let retryDelay: TimeInterval
    private let clock: any AgentClock
    private let failures = Mutex<[String: Failure]>([:])

    public init(retryDelay: TimeInterval = ServerReachability.defaultRetryDelay, clock: any AgentClock = SystemClock()) {
        self.retryDelay = retryDelay
        self.clock = clock
    }

    /// Throws `ServerUnreachable` when the server of `url` did not answer less than `retryDelay` seconds ago.
    public func check(_ url: String) throws {
        let origin = Self.origin(of: url)
        guard let failure = failures.withLock({ $0[origin] }) else { return }
        let now = clock.now()
        guard Self.isRemembered(failedAt: failure.at, now: now, retryDelay: retryDelay) else { return }
        throw ServerUnreachable(server: origin, reason: failure.reason, secondsAgo: now.timeIntervalSince(failure.at),
                                retryIn: failure.at.addingTimeInterval(retryDelay).timeIntervalSince(now))
    }

    /// The server of `url` did not answer, for `reason`.
    public func failed(_ url: String, reason: String) {
        let failure = Failure(at: clock.now(), reason: reason)
        failures.withLock { $0[Self.origin(of: url)] = failure }
    }

    /// The server of `url` answered.
    public func answered(_ url: String) {
        let origin = Self.origin(of: url)
        failures.withLock { _ = $0.removeValue(forKey: origin) }
    }

    /// Whether a failure at `failedAt` still holds at `now`. A failure dated in the future (the clock stepped back
    /// since) holds no more: a wrong clock never keeps a server from being tried.
    static func isRemembered(failedAt: Date, now: Date, retryDelay: TimeInterval) -> Bool {
        now >= failedAt && now.timeIntervalSince(failedAt) < retryDelay
    }

    /// `scheme://host[:port]` of `url`, lowercased; the whole string when it has no `://`.
    static func origin(of url: String) -> String {
        guard let separator = url.firstRange(of: "://") else { return url.lowercased() }
        let rest = url[separator.upperBound...]
        let end = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        return (url[..<separator.upperBound] + rest[..<end]).lowercased()
    }
}

/// A request not sent because its server did not answer a moment ago (see `ServerReachability`).
public struct ServerUnreachable: Error, Sendable, CustomStringConvertible {
    /// `scheme://host[:port]`.
    public let server: String
    /// Why the earlier request failed.
    public let reason: String
    /// How long ago that was.
    public let secondsAgo: TimeInterval
    /// How long until the server is tried again.
    public let retryIn: TimeInterval

    public var description: String {
        "CA unreachable, tried \(Int(secondsAgo.rounded(.down))) s ago (\(reason)): not waiting on \(server) again for \(Int(retryIn.rounded(.up))) s"
    }
}
