import FoundationEssentials

/// Errors of the ACME client beyond transport failures (which the `HTTPTransport` throws as they are).
public enum ACMEError: Error, Sendable, CustomStringConvertible {
    /// The server answered with a problem document (RFC 8555 §6.7); `retryAfter` from its
    /// `Retry-After` header (seconds or HTTP-date), e.g. for `rateLimited` (§6.6).
    case problem(ACMEProblem, url: String, retryAfter: Date?)
    /// The server answered with an unexpected status or body (not a problem document); `detail` is a short excerpt,
    /// already made safe to show (`UntrustedText`) by whoever built the error.
    case unexpectedResponse(url: String, status: Int, detail: String)
    /// A challenge token that is not base64url `[A-Za-z0-9_-]+` (RFC 8555 §8.1, §8.3); refused before any solver sees it.
    case invalidToken(String)
    /// An authorization ended invalid (or deactivated, expired, revoked) (RFC 8555 §7.1.6);
    /// `problem` is the failed challenge's error, with its subproblems.
    case authorizationFailed(identifier: ACMEIdentifier, problem: ACMEProblem?)
    /// An order ended invalid (RFC 8555 §7.1.6); `problem` is the order's `error`.
    case orderFailed(url: String, status: String, problem: ACMEProblem?)
    /// Polling `url` for `what` passed the `PollingPolicy` timeout (RFC 8555 §7.5.1).
    case timedOut(what: String, url: String)
    /// The authorization offers no challenge this client can solve (here: `http-01`, RFC 8555 §8.3).
    case noSupportedChallenge(identifier: ACMEIdentifier)

    /// The server's problem document, when there is one.
    public var problem: ACMEProblem? {
        switch self {
        case .problem(let p, _, _): p
        case .authorizationFailed(_, let p), .orderFailed(_, _, let p): p
        default: nil
        }
    }

    /// One line for logs and the admin. Everything the server sent (URLs, status, token, problem document) is shown
    /// through `UntrustedText`: escaped and bounded, never raw.
    public var description: String {
        switch self {
        case let .problem(problem, url, retryAfter):
            var text = "ACME server error at \(Self.shown(url: url)): \(problem)"
            if let retryAfter { text += " (retry after \(TimeText.human(retryAfter)))" }
            return text
        case let .unexpectedResponse(url, status, detail):
            return "unexpected response from \(Self.shown(url: url)): HTTP \(status): \(detail)"
        case let .invalidToken(token):
            return "challenge token is not base64url: \"\(UntrustedText.display(token, limit: Self.tokenExcerptLimit))\""
        case let .authorizationFailed(identifier, problem):
            return "authorization for \(identifier) failed" + (problem.map { ": \($0)" } ?? "")
        case let .orderFailed(url, status, problem):
            return "order \(Self.shown(url: url)) is \(UntrustedText.display(status, limit: 32))" + (problem.map { ": \($0)" } ?? "")
        case let .timedOut(what, url):
            return "timed out waiting for \(what) at \(Self.shown(url: url))"
        case let .noSupportedChallenge(identifier):
            return "no supported (http-01) challenge offered for \(identifier)"
        }
    }

    /// How much of a refused token an error shows: a valid token is at most 256 characters; a longer one is not
    /// worth echoing in full.
    static let tokenExcerptLimit = 64
    /// How much of a URL an error shows.
    static let urlExcerptLimit = 256

    /// A URL the server sent, as an error shows it.
    static func shown(url: String) -> String { UntrustedText.display(url, limit: urlExcerptLimit) }
}
