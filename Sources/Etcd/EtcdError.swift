/// Why one member could not serve a request (the client then tried the next one).
public struct EtcdEndpointFailure: Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        /// Nothing listens there, or the connection was refused.
        case connectionRefused
        /// No connection or no answer within the configured timeout.
        case timedOut
        /// The host name did not resolve.
        case notResolved
        /// The TLS handshake failed (e.g. the member requires a client certificate and none or a wrong one was sent).
        case tlsHandshakeFailed
        /// The member's TLS certificate is not trusted by the configured CA, or does not match its address.
        case certificateRejected
        /// The connection broke or closed without an answer (a member stopping, or refusing the client certificate).
        case connectionLost
        /// The member answered that it cannot serve now (gRPC UNAVAILABLE, e.g. "etcdserver: no leader").
        case unavailable(message: String)
        /// Another transport failure (libcurl's code).
        case transferFailed(code: Int)
    }

    /// The member's URL, as configured.
    public let endpoint: String
    public let reason: Reason

    public init(endpoint: String, reason: Reason) {
        self.endpoint = endpoint
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .connectionRefused: return "\(endpoint): connection refused"
        case .timedOut: return "\(endpoint): timed out"
        case .notResolved: return "\(endpoint): host name not resolved"
        case .tlsHandshakeFailed: return "\(endpoint): TLS handshake failed (check the client certificate and key)"
        case .certificateRejected: return "\(endpoint): the member's certificate is not trusted by the configured CA or does not match its address"
        case .connectionLost: return "\(endpoint): connection closed without an answer (a member stopping, or refusing the client certificate)"
        case .unavailable(let message): return "\(endpoint): unavailable: \(message)"
        case .transferFailed(let code): return "\(endpoint): transfer failed (libcurl error \(code))"
        }
    }
}

/// What went wrong talking to etcd. Every case names the member it concerns; etcd's own messages are kept (cleaned
/// of control characters and cut to a sane length: they are untrusted input).
public enum EtcdError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The configuration cannot work: `field` and the offending value.
    case invalidConfiguration(field: String, value: String, reason: String)
    /// No member could serve the request: each one tried, and why.
    case unreachable([EtcdEndpointFailure])
    /// A member refused the request: etcd's gRPC status code and message (e.g. 11 "etcdserver: mvcc: required
    /// revision has been compacted", 3 "etcdserver: key is not provided", 7 "etcdserver: permission denied").
    case rejected(endpoint: String, code: Int, message: String)
    /// The user name or password was refused by `/v3/auth/authenticate`.
    case authenticationFailed(endpoint: String, message: String)
    /// The lease does not exist (it expired, or was revoked).
    case leaseNotFound(id: Int64)
    /// A member's answer could not be used: not the JSON etcd sends, a field missing or malformed, a size over the
    /// limit.
    case invalidResponse(endpoint: String, detail: String)
    /// The request or watch was cancelled.
    case cancelled

    public var description: String {
        switch self {
        case .invalidConfiguration(let field, let value, let reason):
            return "etcd configuration: \(field) \(value.debugDescription): \(reason)"
        case .unreachable(let failures):
            if failures.isEmpty { return "etcd unreachable: no endpoint configured" }
            return "etcd unreachable: " + failures.map(\.description).joined(separator: "; ")
        case .rejected(let endpoint, let code, let message):
            return "etcd at \(endpoint) refused the request: \(message) (gRPC code \(code))"
        case .authenticationFailed(let endpoint, let message):
            return "etcd at \(endpoint) refused the user name or password: \(message)"
        case .leaseNotFound(let id):
            return "etcd lease \(id) not found (expired or revoked)"
        case .invalidResponse(let endpoint, let detail):
            return "etcd at \(endpoint) sent an unusable answer: \(detail)"
        case .cancelled:
            return "etcd request cancelled"
        }
    }

    /// True when no member could be reached or none could serve (no quorum, every member down): the situation to
    /// wait out, as opposed to a request etcd refused.
    public var isUnreachable: Bool {
        if case .unreachable = self { return true }
        return false
    }
}

/// etcd's message, as untrusted text: control characters replaced, at most 300 characters.
func cleanedMessage(_ text: String) -> String {
    var scalars = String.UnicodeScalarView()
    for scalar in text.unicodeScalars.prefix(300) {
        scalars.append(scalar.value < 0x20 || scalar.value == 0x7F ? "?" : scalar)
    }
    return String(scalars)
}
