import CertCrypto
import FoundationEssentials

/// One certificate file a web server serves, as `certagent discover` reports it: the sites serving it, the names it
/// holds and the names they serve, who issued it and until when, which client seems to manage it, and for each name
/// the webroot HTTP-01 would use (or why there is none).
public struct DiscoveredCertificate: Sendable, Equatable, Encodable {
    /// A site serving the certificate.
    public struct Site: Sendable, Equatable, Encodable {
        /// `nginx` or `apache` (`WebServerKind`).
        public var server: String
        /// `file:line` of its block.
        public var location: String
        /// The names it answers to, as written.
        public var names: [String]
    }

    /// The webroot found for one name, and what in the configuration says so.
    public struct Webroot: Sendable, Equatable, Encodable {
        /// The directory whose `.well-known/acme-challenge/` the CA's request is served from.
        public var path: String
        /// `file:line` of the site answering the name on port 80 (or, behind its redirect, on 443).
        public var site: String
        /// `acme-challenge location`, `root`, or either of them `behind the redirect to HTTPS`.
        public var via: String
    }

    /// The certificate file as the server's configuration names it.
    public var certificateFile: String
    /// The key file (nil: none named; Apache then reads the key from the certificate file).
    public var keyFile: String?
    /// The sites serving it, in the order found.
    public var sites: [Site]
    /// The names the sites answer to (`server_name`, `ServerName`/`ServerAlias`), as written.
    public var servedNames: [String]
    /// The certificate's subjectAltNames (DNS names and IP addresses); empty when it could not be read.
    public var certificateNames: [String] = []
    /// The certificate's subject and issuer, as one-line distinguished names.
    public var subject: String?
    public var issuer: String?
    /// When it expires.
    public var notAfter: Date?
    /// True when the certificate is its own issuer (a snake-oil or test certificate).
    public var selfSigned = false
    /// Why the certificate file could not be read, when it could not.
    public var problem: String?
    /// Which client seems to renew it.
    public var managedBy: ManagingClient = .none
    /// Served names the certificate does not cover (a browser warns on them).
    public var uncoveredNames: [String] = []
    /// Each name HTTP-01 could be proved for through a webroot.
    public var webroots: [String: Webroot] = [:]
    /// Each name without a webroot, with the reason.
    public var noWebroot: [String: String] = [:]
    /// The names looked at, in order: the certificate's, then the served ones it lacks.
    public var names: [String] = []

    /// True when nothing seems to renew it: the certificates `--config` writes entries for.
    public var isUnmanaged: Bool { managedBy == .none }

    /// The names that have a webroot, in `names` order.
    public var namesWithWebroot: [String] { names.filter { webroots[$0] != nil } }
}
