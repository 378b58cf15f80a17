/// One site a web server's configuration defines — an nginx `server {}` block or an Apache `<VirtualHost>` — with
/// what `certagent discover` needs from it: its names, where it listens, the certificates it serves and where the
/// files for `/.well-known/acme-challenge/` would come from. Every string in it comes from the server's
/// configuration: untrusted text, escaped (`UntrustedText`) wherever it is shown.
public struct ServedSite: Sendable, Equatable {
    /// One address the site listens on.
    public struct Listener: Sendable, Equatable {
        /// The TCP port (80 when only an address is written).
        public var port: Int
        /// True when TLS is spoken on it (`listen … ssl`, `ssl on`, `SSLEngine on`).
        public var tls: Bool
        /// True when it is the port's default site (`default_server`, Apache's first virtual host of the address).
        public var isDefault: Bool

        public init(port: Int, tls: Bool, isDefault: Bool = false) {
            self.port = port
            self.tls = tls
            self.isDefault = isDefault
        }
    }

    /// One certificate served, with its key (nginx may serve an RSA and an ECDSA certificate side by side).
    public struct CertificatePair: Sendable, Equatable {
        /// The certificate file (the leaf, usually followed by its chain).
        public var certificate: String
        /// The private key file; nil when none is named (Apache then reads it from the certificate file).
        public var key: String?

        public init(certificate: String, key: String?) {
            self.certificate = certificate
            self.key = key
        }
    }

    /// What answers `/.well-known/acme-challenge/` on this site, as found in its configuration.
    public enum ChallengePath: Sendable, Equatable {
        /// A directory whose `.well-known/acme-challenge/` the requests are served from: a webroot for HTTP-01
        /// (an acme-challenge `location` with `root`, or an `Alias` ending in `.well-known/acme-challenge/`; else
        /// the site's `root`/`DocumentRoot`). `fromChallengeLocation` says it was an acme-challenge block.
        case webroot(String, fromChallengeLocation: Bool)
        /// Every request is redirected (`return 301 https://…`, `Redirect /`): the CA follows to the HTTPS site of
        /// `host`, or of the same name when the redirect keeps it (`$host`, `%{HTTP_HOST}`) or cannot be told (nil).
        case redirected(host: String?)
        /// Requests go elsewhere (`proxy_pass`, `ProxyPass /`, an `alias` into another layout): why, in words.
        case passedOn(String)
        /// Nothing says where files come from.
        case none
    }

    /// The web server whose configuration defines it.
    public var server: WebServerKind
    /// The configuration file the block is in.
    public var file: String
    /// The line the block starts at.
    public var line: Int
    /// `server_name`, or `ServerName` then `ServerAlias`, as written (lowercased), wildcards and regular expressions included.
    public var names: [String]
    /// Where it listens.
    public var listeners: [Listener]
    /// The certificates it serves (none for a site without TLS).
    public var certificates: [CertificatePair]
    /// What answers `/.well-known/acme-challenge/` on it.
    public var challengePath: ChallengePath

    public init(server: WebServerKind, file: String, line: Int, names: [String], listeners: [Listener],
                certificates: [CertificatePair] = [], challengePath: ChallengePath = .none) {
        self.server = server
        self.file = file
        self.line = line
        self.names = names
        self.listeners = listeners
        self.certificates = certificates
        self.challengePath = challengePath
    }

    /// Where it is defined, for the admin: `/etc/nginx/sites-enabled/shop:12`.
    public var location: String { "\(file):\(line)" }

    /// True when it listens on `port` with (`tls`) or without TLS.
    func listens(on port: Int, tls: Bool) -> Bool { listeners.contains { $0.port == port && $0.tls == tls } }

    /// True when it is the default site of `port`.
    func isDefault(on port: Int) -> Bool { listeners.contains { $0.port == port && $0.isDefault } }

    /// How well `name` matches one of its names, nginx's order (`server_names`): an exact name, the longest leading
    /// wildcard (`*.example.com`, `.example.com`), the longest trailing wildcard (`www.*`); nil when none matches.
    /// Regular expressions (`~…`) are not evaluated. Higher is better.
    func match(_ name: String) -> Int? {
        let wanted = name.lowercased()
        var best: Int?
        for written in names {
            var score: Int?
            if written == wanted {
                score = 3_000
            } else if written.hasPrefix("*."), wanted.hasSuffix(written.dropFirst()), wanted.count > written.count - 1 {
                score = 2_000 + written.count
            } else if written.hasPrefix("."), wanted == written.dropFirst() || wanted.hasSuffix(written) {
                score = 2_000 + written.count
            } else if written.hasSuffix(".*"), wanted.hasPrefix(written.dropLast()), wanted.count > written.count - 1 {
                score = 1_000 + written.count
            }
            if let score, score > (best ?? -1) { best = score }
        }
        return best
    }

    /// The host a redirect's target URL names (`https://HOST[:port]/…`): nil when it keeps the request's host
    /// (`$host`, `$http_host`, `%{HTTP_HOST}`) or is built in a way not evaluated here; `$server_name` and
    /// `%{SERVER_NAME}` are the site's first name.
    func redirectHost(_ target: String) -> String? {
        guard let scheme = target.firstRange(of: "://") else { return nil }
        let authority = target[scheme.upperBound...].prefix { $0 != "/" }
        if authority.hasPrefix("$server_name") || authority.hasPrefix("%{SERVER_NAME}") { return names.first }
        guard !authority.hasPrefix("$"), !authority.hasPrefix("%{") else { return nil }
        let literal = authority.prefix { $0 != "$" && $0 != "%" }   // `https://www.example.com$request_uri`
        let host = literal.hasPrefix("[") ? String(literal.prefix { $0 != "]" }) + "]" : String(literal.prefix { $0 != ":" })
        return host.isEmpty ? nil : host.lowercased()
    }

    /// The site that answers `name` on `port` (with or without TLS) among `sites` of one server: the best name match
    /// (`match`), else the port's default site, else the first site on the port — how nginx and Apache choose.
    static func answering(_ name: String, port: Int, tls: Bool, among sites: [ServedSite]) -> ServedSite? {
        let candidates = sites.filter { $0.listens(on: port, tls: tls) }
        let scored = candidates.compactMap { site in site.match(name).map { (site, $0) } }
        if let best = scored.max(by: { $0.1 < $1.1 }) { return best.0 }
        return candidates.first { $0.isDefault(on: port) } ?? candidates.first
    }
}
