/// An account object (RFC 8555 §7.1.2) and the URL that names it (the `kid` of later requests).
public struct ACMEAccount: Sendable, Equatable {
    /// The account URL, from the `Location` header (§7.3).
    public var url: String
    /// `valid`, `deactivated` or `revoked` (§7.1.6).
    public var status: String
    /// Contact URLs, e.g. `mailto:admin@example.org` (§7.3).
    public var contact: [String]

    /// An account built in code.
    public init(url: String, status: String, contact: [String] = []) {
        self.url = url
        self.status = status
        self.contact = contact
    }
}

/// The account object as the server sends it.
struct AccountBody: Decodable {
    var status: String?
    var contact: [String]?
}
