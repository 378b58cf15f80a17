import FoundationEssentials

/// An authorization object (RFC 8555 §7.1.4).
public struct ACMEAuthorization: Sendable, Equatable {
    /// The authorization URL (from the order's `authorizations`).
    public var url: String
    /// The identifier, without `*.` for wildcards (see `wildcard`).
    public var identifier: ACMEIdentifier
    /// `pending`, `valid`, `invalid`, `deactivated`, `expired` or `revoked` (§7.1.6).
    public var status: String
    /// When the authorization expires (required once valid).
    public var expires: Date?
    /// The challenges offered (§8).
    public var challenges: [ACMEChallenge]
    /// True when the order asked for `*.` + identifier (§7.1.4).
    public var wildcard: Bool

    /// An authorization built in code.
    public init(url: String, identifier: ACMEIdentifier, status: String, expires: Date? = nil,
                challenges: [ACMEChallenge], wildcard: Bool = false) {
        self.url = url
        self.identifier = identifier
        self.status = status
        self.expires = expires
        self.challenges = challenges
        self.wildcard = wildcard
    }

    /// The first challenge of `type`, e.g. `http-01`.
    public func challenge(ofType type: String) -> ACMEChallenge? { challenges.first { $0.type == type } }

    /// The error of the challenge that failed: an `invalid` challenge's first, else any challenge's.
    public var failure: ACMEProblem? {
        challenges.first { $0.status == "invalid" && $0.error != nil }?.error ?? challenges.first { $0.error != nil }?.error
    }
}

/// A challenge object (RFC 8555 §7.1.5, §8).
public struct ACMEChallenge: Sendable, Equatable {
    /// `http-01`, `dns-01`, `tls-alpn-01`, ...
    public var type: String
    /// The challenge URL to POST `{}` to (§7.5.1).
    public var url: String
    /// `pending`, `processing`, `valid` or `invalid` (§7.1.6).
    public var status: String
    /// The token (§8.3), not yet checked to be base64url.
    public var token: String?
    /// Why validation failed, when it did (§8).
    public var error: ACMEProblem?

    /// A challenge built in code.
    public init(type: String, url: String, status: String, token: String? = nil, error: ACMEProblem? = nil) {
        self.type = type
        self.url = url
        self.status = status
        self.token = token
        self.error = error
    }
}

/// The challenge object as the server sends it.
struct ChallengeBody: Decodable {
    var type: String
    var url: String
    var status: String
    var token: String?
    var error: ACMEProblem?

    var challenge: ACMEChallenge { ACMEChallenge(type: type, url: url, status: status, token: token, error: error) }
}

/// The authorization object as the server sends it.
struct AuthorizationBody: Decodable {
    var identifier: ACMEIdentifier
    var status: String
    var expires: String?
    var challenges: [ChallengeBody]?
    var wildcard: Bool?

    func authorization(url: String) -> ACMEAuthorization {
        ACMEAuthorization(url: url, identifier: identifier, status: status, expires: expires.flatMap(Timestamps.rfc3339),
                          challenges: (challenges ?? []).map(\.challenge), wildcard: wildcard ?? false)
    }
}
