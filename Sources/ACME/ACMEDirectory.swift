/// The directory object (RFC 8555 §7.1.1), with `renewalInfo` (RFC 9773 §4) and `meta.profiles`
/// (the ACME profiles extension). Unknown members are ignored.
public struct ACMEDirectory: Sendable, Decodable, Equatable {
    /// URL for fresh nonces (§7.2).
    public var newNonce: String
    /// URL for account creation and lookup (§7.3).
    public var newAccount: String
    /// URL for new orders (§7.4).
    public var newOrder: String
    /// URL for certificate revocation (§7.6).
    public var revokeCert: String?
    /// URL for account key rollover (§7.3.5).
    public var keyChange: String?
    /// Base URL of ACME Renewal Information (RFC 9773 §4).
    public var renewalInfo: String?
    /// Server metadata (§7.1.1).
    public var meta: Meta?

    /// The directory's `meta` object (RFC 8555 §7.1.1).
    public struct Meta: Sendable, Decodable, Equatable {
        /// URL of the current terms of service.
        public var termsOfService: String?
        /// The CA's website.
        public var website: String?
        /// Domain names the CA recognises in CAA records (RFC 8659).
        public var caaIdentities: [String]?
        /// Whether new accounts need an external account binding (§7.3.4).
        public var externalAccountRequired: Bool?
        /// Certificate profiles offered: name -> description (profiles extension).
        public var profiles: [String: String]?

        /// Metadata built in code.
        public init(termsOfService: String? = nil, website: String? = nil, caaIdentities: [String]? = nil,
                    externalAccountRequired: Bool? = nil, profiles: [String: String]? = nil) {
            self.termsOfService = termsOfService
            self.website = website
            self.caaIdentities = caaIdentities
            self.externalAccountRequired = externalAccountRequired
            self.profiles = profiles
        }
    }

    /// A directory built in code.
    public init(newNonce: String, newAccount: String, newOrder: String, revokeCert: String? = nil,
                keyChange: String? = nil, renewalInfo: String? = nil, meta: Meta? = nil) {
        self.newNonce = newNonce
        self.newAccount = newAccount
        self.newOrder = newOrder
        self.revokeCert = revokeCert
        self.keyChange = keyChange
        self.renewalInfo = renewalInfo
        self.meta = meta
    }
}
