import FoundationEssentials

/// An order object (RFC 8555 §7.1.3), with `replaces` (RFC 9773 §5) and `profile` (profiles extension).
public struct ACMEOrder: Sendable, Equatable {
    /// The order URL, from the `Location` header of newOrder (§7.4).
    public var url: String
    /// `pending`, `ready`, `processing`, `valid` or `invalid` (§7.1.6).
    public var status: String
    /// When the server will drop the order.
    public var expires: Date?
    /// The identifiers ordered.
    public var identifiers: [ACMEIdentifier]
    /// Authorization URLs, one per identifier (§7.5).
    public var authorizations: [String]
    /// URL to POST the CSR to (§7.4).
    public var finalize: String
    /// Certificate URL once `valid` (§7.4.2).
    public var certificate: String?
    /// Why the order failed, when it did.
    public var error: ACMEProblem?
    /// The ARI certificate ID this order renews (RFC 9773 §5).
    public var replaces: String?
    /// The certificate profile chosen.
    public var profile: String?

    /// An order built in code.
    public init(url: String, status: String, expires: Date? = nil, identifiers: [ACMEIdentifier], authorizations: [String],
                finalize: String, certificate: String? = nil, error: ACMEProblem? = nil, replaces: String? = nil, profile: String? = nil) {
        self.url = url
        self.status = status
        self.expires = expires
        self.identifiers = identifiers
        self.authorizations = authorizations
        self.finalize = finalize
        self.certificate = certificate
        self.error = error
        self.replaces = replaces
        self.profile = profile
    }
}

/// The order object as the server sends it.
struct OrderBody: Decodable {
    var status: String
    var expires: String?
    var identifiers: [ACMEIdentifier]?
    var authorizations: [String]?
    var finalize: String
    var certificate: String?
    var error: ACMEProblem?
    var replaces: String?
    var profile: String?

    func order(url: String) -> ACMEOrder {
        ACMEOrder(url: url, status: status, expires: expires.flatMap(Timestamps.rfc3339), identifiers: identifiers ?? [],
                  authorizations: authorizations ?? [], finalize: finalize, certificate: certificate, error: error,
                  replaces: replaces, profile: profile)
    }
}
