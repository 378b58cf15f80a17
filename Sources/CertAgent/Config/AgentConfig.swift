import CertCrypto
import FoundationEssentials

/// Well-known ACME directories that may be named instead of written out.
public enum KnownDirectory: String, CaseIterable, Sendable {
    case letsencrypt
    case letsencryptStaging = "letsencrypt-staging"

    public var url: String {
        switch self {
        case .letsencrypt: "https://acme-v02.api.letsencrypt.org/directory"
        case .letsencryptStaging: "https://acme-staging-v02.api.letsencrypt.org/directory"
        }
    }
}

/// The validated configuration CertAgent runs from. Built only by `ConfigLoader`, so every value here has been checked.
public struct AgentConfig: Sendable, Equatable {
    /// The file it was read from (for messages).
    public var sourcePath: String
    /// Contact e-mail addresses given to the CA (RFC 8555 §7.3 `contact`, as `mailto:`).
    public var emails: [String]
    /// The admin agreed to the CA's terms of service (RFC 8555 §7.3 `termsOfServiceAgreed`).
    public var acceptTermsOfService: Bool
    /// The ACME directory URL (HTTPS).
    public var directoryURL: String
    /// A PEM file of CA certificates to trust for the ACME server instead of the system store.
    public var caFile: String?
    /// The directory holding the account, keys and certificates: never inside a webroot.
    public var storagePath: String
    /// The certificates to keep issued.
    public var certificates: [CertificateConfig]
    /// The most orders run at once: by the daemon, and by `issue` and `renew` over several certificates.
    public var maxConcurrentRenewals: Int = AgentConfig.defaultMaxConcurrentRenewals
    /// Four orders at once: a batch takes about a quarter of the time, and a CA sees no more than a browser's worth of
    /// connections from one host.
    public static let defaultMaxConcurrentRenewals = 4
    /// The least time between two renewal jobs of one certificate (a guard against loops; lower only for tests).
    public var minimumRenewalInterval: TimeInterval = 60
    /// Common name of the issuer to prefer at the top of the chain, when the CA offers alternate chains.
    public var preferredChain: String?
    /// External account binding for CAs that require it (RFC 8555 §7.3.4).
    public var externalAccountBinding: ExternalAccountBindingConfig?
    /// The CAs after the primary (`directory` list entries 2, 3, …), tried in order when the primary keeps failing.
    public var fallbackAuthorities: [CertificateAuthorityConfig] = []
    /// Consecutive failures of one certificate at one CA before that renewal moves on to the next CA
    /// (`fallbackAfterFailures`; only with a second CA).
    public var fallbackAfterFailures: Int = AgentConfig.defaultFallbackAfterFailures
    /// The master key file (when no systemd credential provides the key): beside the config file unless set.
    public var masterKeyFile: String
    /// The staging directory `renew --dry-run` orders from when `directoryURL` has no known one (`dryRunDirectory`).
    public var dryRunDirectory: String?
    /// Where the daemon writes the Prometheus text exposition after every pass (`metricsFile`; nil: not written).
    public var metricsFile: String?
    /// Whom to tell when something goes wrong (`notify`); nil: nobody.
    public var notify: NotifyConfig? = nil
    /// The top-level `profile`: the ACME profile every certificate is ordered under unless it names its own (already
    /// applied to each `CertificateConfig.profile`); nil: none, the CA's default.
    public var profile: String? = nil
    /// The `cluster` block: this server is one node of a fleet sharing its certificates through etcd; nil: a single
    /// server, as without fleet mode.
    public var cluster: ClusterConfig? = nil

    /// The sealed secrets file in the store.
    public var secretsFile: String { StoreKeys(root: storagePath).secrets }

    /// The certificate named `name`, if configured.
    public func certificate(named name: String) -> CertificateConfig? {
        certificates.first { $0.name == name }
    }
}

/// One certificate: its names and where each name's webroot is.
public struct CertificateConfig: Sendable, Equatable {
    /// A short name, used as the directory name in the store.
    public var name: String
    /// Every DNS name and IP address (canonical text, `IPAddressEntry`) the certificate covers; the first DNS name is
    /// the subject's common name. `identifiers` gives them as the order carries them.
    public var domains: [String]
    /// The webroot serving each domain (`http://<domain>/.well-known/acme-challenge/` maps below it; for an address,
    /// `http://<address>/…`, IPv6 in brackets).
    public var webroots: [String: String]
    public var keyType: KeyType
    /// Where to copy the files after each renewal, and what to run then (none: serve from the store).
    public var install: InstallConfig?
    /// This certificate's own `notify` (replacing the top-level block, or off); nil: the top-level block applies.
    public var notify: CertificateNotify? = nil
    /// Where the site check connects instead of port 443 of each name (`address`: host:port, ip:port, [v6]:port).
    public var address: SiteAddress? = nil
    /// Keep the private key across renewals (`reuseKey`, for DANE/TLSA records or key pinning); default a new key each time.
    public var reuseKey: Bool = false
    /// The ACME profile its orders name (the directory's `meta.profiles`): its own `profile`, else the top-level one;
    /// nil: none, the CA's default.
    public var profile: String? = nil
}

/// The CA-issued key identifier and the name of the secret holding its HMAC key (RFC 8555 §7.3.4).
public struct ExternalAccountBindingConfig: Sendable, Equatable {
    /// The key identifier the CA gave (`kid`).
    public var keyID: String
    /// The name of the secret (`certagent secret set NAME`) holding the base64url HMAC key the CA gave.
    public var hmacKeySecret: String
}
