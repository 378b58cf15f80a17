/// The sites (`server {}` blocks of `http {}`) in nginx's parsed configuration, with the values they inherit from
/// `http {}` (`ssl_certificate`, `ssl_certificate_key`, `root`). Relative certificate paths are resolved against the
/// main configuration file's directory (nginx's conf prefix), relative roots against `prefix` (nginx's `-p`).
enum NginxSites {
    /// Debian's nginx prefix (`nginx -V`: `--prefix=/usr/share/nginx`).
    static let defaultPrefix = "/usr/share/nginx"
    /// The locations that pass requests on instead of serving files.
    static let passingDirectives = ["proxy_pass", "fastcgi_pass", "uwsgi_pass", "scgi_pass", "grpc_pass", "memcached_pass"]

    static func sites(in directives: [NginxDirective], mainFile: String, prefix: String = defaultPrefix) -> [ServedSite] {
        let configDirectory = PathText.parent(mainFile)
        var sites: [ServedSite] = []
        for http in directives where http.name == "http" {
            let inherited = Inherited(block: http, configDirectory: configDirectory, prefix: prefix)
            for server in http.children("server") {
                sites.append(site(server, inherited: inherited, configDirectory: configDirectory, prefix: prefix))
            }
        }
        return sites
    }

    /// What a `server {}` takes from `http {}` when it does not set it itself.
    private struct Inherited {
        var certificates: [String]
        var keys: [String]
        var root: String?

        init(block: NginxDirective, configDirectory: String, prefix: String) {
            certificates = block.children("ssl_certificate").compactMap(\.arguments.first).map { resolve($0, against: configDirectory) }
            keys = block.children("ssl_certificate_key").compactMap(\.arguments.first).map { resolve($0, against: configDirectory) }
            root = block.children("root").last?.arguments.first.map { resolve($0, against: prefix) }
        }
    }

    private static func site(_ server: NginxDirective, inherited: Inherited, configDirectory: String, prefix: String) -> ServedSite {
        let names = server.children("server_name").flatMap(\.arguments).map { $0.lowercased() }.filter { !$0.isEmpty }
        let sslOn = server.children("ssl").contains { $0.arguments.first == "on" }
        var listeners = server.children("listen").compactMap { listener($0.arguments, sslOn: sslOn) }
        if server.children("listen").isEmpty { listeners = [ServedSite.Listener(port: 80, tls: sslOn)] }

        var certificates: [ServedSite.CertificatePair] = []
        if listeners.contains(where: \.tls) {
            let own = Inherited(block: server, configDirectory: configDirectory, prefix: prefix)
            let files = own.certificates.isEmpty ? inherited.certificates : own.certificates
            let keys = own.certificates.isEmpty ? inherited.keys : (own.keys.isEmpty ? inherited.keys : own.keys)
            for (index, file) in files.enumerated() {
                certificates.append(ServedSite.CertificatePair(certificate: file, key: index < keys.count ? keys[index] : nil))
            }
        }
        let root = server.children("root").last?.arguments.first.map { resolve($0, against: prefix) } ?? inherited.root
        return ServedSite(server: .nginx, file: server.file, line: server.line, names: names, listeners: listeners,
                          certificates: certificates, challengePath: challengePath(server, names: names, root: root, prefix: prefix))
    }

    /// One `listen` directive: its port (80 when only an address is given), TLS (`ssl`, `quic`, or `ssl on` in the
    /// server), default (`default_server`, `default`); nil for a UNIX socket.
    static func listener(_ arguments: [String], sslOn: Bool = false) -> ServedSite.Listener? {
        guard let address = arguments.first, !address.hasPrefix("unix:") else { return nil }
        let port: Int
        if let value = Int(address) {
            port = value
        } else if let close = address.lastIndex(of: "]") {
            let rest = address[address.index(after: close)...]
            port = rest.hasPrefix(":") ? Int(rest.dropFirst()) ?? 80 : 80
        } else if let colon = address.lastIndex(of: ":") {
            port = Int(address[address.index(after: colon)...]) ?? 80
        } else {
            port = 80
        }
        let flags = Set(arguments.dropFirst())
        return ServedSite.Listener(port: port, tls: sslOn || flags.contains("ssl") || flags.contains("quic"),
                                   isDefault: flags.contains("default_server") || flags.contains("default"))
    }

    /// What serves `/.well-known/acme-challenge/` in `server`: an acme-challenge location first (its `root`, an
    /// `alias` to a `.well-known/acme-challenge` directory, or the server's root), then a server-wide redirect, then
    /// `location /`, then the server's root.
    private static func challengePath(_ server: NginxDirective, names: [String], root: String?, prefix: String) -> ServedSite.ChallengePath {
        let locations = allLocations(in: server)
        if let location = locations.first(where: isChallengeLocation) {
            return served(by: location, root: root, prefix: prefix, challengeLocation: true, names: names)
        }
        if let redirect = server.children("return").first(where: isRedirect) {
            return .redirected(host: redirectTarget(redirect, names: names))
        }
        if let rewrite = server.children("rewrite").first(where: isRedirectingRewrite) {
            return .redirected(host: rewrite.arguments.count > 1 ? ServedSite(server: .nginx, file: "", line: 0, names: names, listeners: []).redirectHost(rewrite.arguments[1]) : nil)
        }
        if let slash = locations.first(where: { ($0.arguments.last == "/") && ($0.arguments.count == 1 || $0.arguments.first == "^~") }) {
            return served(by: slash, root: root, prefix: prefix, challengeLocation: false, names: names)
        }
        return webroot(root, challengeLocation: false)
    }

    private static func served(by location: NginxDirective, root: String?, prefix: String, challengeLocation: Bool, names: [String]) -> ServedSite.ChallengePath {
        if let passing = (location.block ?? []).first(where: { passingDirectives.contains($0.name) }) {
            return .passedOn("\(passing.name) \(passing.arguments.joined(separator: " "))")
        }
        if let redirect = location.children("return").first(where: isRedirect) { return .redirected(host: redirectTarget(redirect, names: names)) }
        if let returned = location.children("return").first {
            return .passedOn("return \(returned.arguments.joined(separator: " "))")
        }
        if let alias = location.children("alias").last?.arguments.first {
            var directory = alias
            while directory.count > 1, directory.hasSuffix("/") { directory.removeLast() }
            let suffix = "/.well-known/acme-challenge"
            guard directory.hasSuffix(suffix), !directory.contains("$") else { return .passedOn("alias \(alias)") }
            return .webroot(String(directory.dropLast(suffix.count)), fromChallengeLocation: challengeLocation)
        }
        let own = location.children("root").last?.arguments.first.map { resolve($0, against: prefix) }
        return webroot(own ?? root, challengeLocation: challengeLocation)
    }

    private static func webroot(_ root: String?, challengeLocation: Bool) -> ServedSite.ChallengePath {
        guard let root else { return .none }
        if root.contains("$") { return .passedOn("root \(root) (a variable picks the directory)") }
        return .webroot(root, fromChallengeLocation: challengeLocation)
    }

    /// Every `location` in `block`, nested ones included, in order.
    private static func allLocations(in block: NginxDirective) -> [NginxDirective] {
        block.children("location").flatMap { [$0] + allLocations(in: $0) }
    }

    /// `location /.well-known/acme-challenge/`, `^~ …`, `= …` or a regular expression naming that path.
    static func isChallengeLocation(_ location: NginxDirective) -> Bool {
        guard let path = location.arguments.last else { return false }
        return path.replacing("\\", with: "").contains(".well-known/acme-challenge")
    }

    /// `return 301 https://…` (any 3xx with a URL) or `return https://…`.
    private static func isRedirect(_ directive: NginxDirective) -> Bool {
        guard let first = directive.arguments.first else { return false }
        if let code = Int(first) { return (300..<400).contains(code) }
        return first.hasPrefix("http://") || first.hasPrefix("https://") || first.hasPrefix("$scheme")
    }

    /// The host `return`'s URL sends to (`ServedSite.redirectHost`).
    private static func redirectTarget(_ directive: NginxDirective, names: [String]) -> String? {
        guard let url = directive.arguments.last else { return nil }
        return ServedSite(server: .nginx, file: "", line: 0, names: names, listeners: []).redirectHost(url)
    }

    /// `rewrite ^ https://$host$request_uri permanent;` at the server level.
    private static func isRedirectingRewrite(_ directive: NginxDirective) -> Bool {
        guard directive.arguments.count >= 2 else { return false }
        return directive.arguments[1].hasPrefix("https://") || directive.arguments.dropFirst(2).contains { $0 == "permanent" || $0 == "redirect" }
    }

    /// `path` as nginx reads it: absolute as written, else below `directory`.
    static func resolve(_ path: String, against directory: String) -> String {
        guard !path.hasPrefix("/"), !path.isEmpty, !path.hasPrefix("$"), !path.hasPrefix("data:"), !path.hasPrefix("engine:") else { return path }
        return (directory.hasSuffix("/") ? directory : directory + "/") + path
    }
}
