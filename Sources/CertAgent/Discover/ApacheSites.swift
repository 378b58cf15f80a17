import ACME
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// The sites (`<VirtualHost>` blocks) `apachectl -S` lists, read from the files and lines it names. Relative paths are
/// resolved against `ServerRoot`; `${VAR}` in paths is replaced from `environment` (Apache reads the same variables
/// from its environment and from `Define`). A virtual host without `DocumentRoot` serves the main one.
enum ApacheSites {
    /// Reads every virtual host `dump` names through `readFile` (path → text, nil when unreadable). Hosts that cannot
    /// be read are returned as problems, the others as sites.
    static func sites(dump: ApacheVirtualHostDump, environment: [String: String],
                      readFile: (String) -> String?) -> (sites: [ServedSite], problems: [String]) {
        var sites: [ServedSite] = []
        var problems: [String] = []
        var texts: [String: String?] = [:]
        let serverRoot = dump.serverRoot ?? "/etc/apache2"
        for definition in dump.definitions {
            if texts[definition.file] == nil { texts[definition.file] = .some(readFile(definition.file)) }
            guard let text = texts[definition.file] ?? nil else {
                problems.append("\(UntrustedText.display(definition.file)): cannot be read (apachectl -S names a virtual host at line \(definition.line))")
                continue
            }
            do {
                var host = try ApacheConfigParser.virtualHost(in: text, file: definition.file, line: definition.line)
                let resolve = { (path: String) in resolvePath(path, serverRoot: serverRoot, environment: environment) }
                host.directives = try expandIncludes(host.directives, resolve: resolve, readFile: readFile, depth: 0)
                sites.append(site(host, definition: definition, isDefault: dump.defaults.contains(definition),
                                  mainDocumentRoot: dump.mainDocumentRoot, resolve: resolve))
            } catch {
                problems.append(error.description)
            }
        }
        return (sites, problems)
    }

    static func site(_ host: (addresses: [String], directives: [ApacheConfigParser.Directive]), definition: ApacheVirtualHostDump.Definition,
                     isDefault: Bool, mainDocumentRoot: String?, resolve: (String) -> String) -> ServedSite {
        let own = host.directives.filter(\.isHostWide)
        func last(_ name: String) -> [String]? { own.last { $0.name == name }?.arguments }

        var names: [String] = []
        if let serverName = last("servername")?.first { names.append(hostName(serverName)) }
        names += own.filter { $0.name == "serveralias" }.flatMap(\.arguments).map { $0.lowercased() }
        let sslOn = last("sslengine")?.first?.lowercased() == "on"
        let listeners = host.addresses.map { address in
            let port = self.port(of: address)
            return ServedSite.Listener(port: port, tls: sslOn || port == 443, isDefault: isDefault || address.lowercased().hasPrefix("_default_"))
        }
        var certificates: [ServedSite.CertificatePair] = []
        if listeners.contains(where: \.tls) {
            // Apache takes one certificate per key type, each SSLCertificateFile paired with the key file in the same order.
            let files = own.filter { $0.name == "sslcertificatefile" }.compactMap(\.arguments.first).map(resolve)
            let keys = own.filter { $0.name == "sslcertificatekeyfile" }.compactMap(\.arguments.first).map(resolve)
            for (index, file) in files.enumerated() {
                certificates.append(ServedSite.CertificatePair(certificate: file, key: index < keys.count ? keys[index] : nil))
            }
        }
        let documentRoot = last("documentroot")?.first.map(resolve) ?? mainDocumentRoot
        var site = ServedSite(server: .apache, file: definition.file, line: definition.line, names: names, listeners: listeners, certificates: certificates)
        site.challengePath = challengePath(own, documentRoot: documentRoot, resolve: resolve, redirectHost: site.redirectHost)
        return site
    }

    /// How deep `Include` may nest inside a virtual host (a loop must end).
    static let maximumIncludeDepth = 8

    /// `directives` with each host-wide `Include`/`IncludeOptional` replaced by the directives of the files it names (a
    /// path, or a pattern in its last component: `sites/*.conf`), read through `readFile` in sorted order; an `Include`
    /// that names no readable file is an error as it is for Apache, an `IncludeOptional` is skipped.
    static func expandIncludes(_ directives: [ApacheConfigParser.Directive], resolve: (String) -> String, readFile: (String) -> String?,
                               depth: Int, listDirectory: (String) -> [String] = listDirectory) throws(ApacheConfigError) -> [ApacheConfigParser.Directive] {
        var result: [ApacheConfigParser.Directive] = []
        for directive in directives {
            guard directive.name == "include" || directive.name == "includeoptional", directive.isHostWide, let written = directive.arguments.first else {
                result.append(directive)
                continue
            }
            let pattern = resolve(written)
            guard depth < maximumIncludeDepth else {
                throw ApacheConfigError(file: pattern, line: directive.line, message: "includes nest more than \(maximumIncludeDepth) deep (a loop?)")
            }
            let parent = PathText.parent(pattern)
            let files = pattern.contains(where: { "*?[".contains($0) })
                ? listDirectory(parent).map { (parent == "/" ? "" : parent) + "/" + $0 }.filter { fnmatch(pattern, $0, FNM_PATHNAME) == 0 }.sorted()
                : [pattern]
            for file in files {
                guard let text = readFile(file) else {
                    if directive.name == "include", !pattern.contains(where: { "*?[".contains($0) }) {
                        throw ApacheConfigError(file: file, line: 0, message: "cannot be read (a virtual host includes it at line \(directive.line))")
                    }
                    continue
                }
                let included = try ApacheConfigParser.directives(in: text, file: file).map { inner in
                    var inner = inner
                    inner.sections = directive.sections + inner.sections
                    return inner
                }
                result += try expandIncludes(included, resolve: resolve, readFile: readFile, depth: depth + 1, listDirectory: listDirectory)
            }
        }
        return result
    }

    static func listDirectory(_ path: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    }

    /// `ServerName [scheme://]name[:port]` → the name.
    static func hostName(_ written: String) -> String {
        var name = Substring(written.lowercased())
        if let scheme = name.firstRange(of: "://") { name = name[scheme.upperBound...] }
        if name.hasPrefix("[") {
            if let close = name.firstIndex(of: "]") { name = name[...close] }
        } else if let colon = name.firstIndex(of: ":") {
            name = name[..<colon]
        }
        return String(name)
    }

    /// `*:443`, `_default_:443`, `[::1]:80`, `192.0.2.1` (no port: the port the address was opened with, taken as 80).
    static func port(of address: String) -> Int {
        if let close = address.lastIndex(of: "]") {
            let rest = address[address.index(after: close)...]
            return rest.hasPrefix(":") ? Int(rest.dropFirst()) ?? 80 : 80
        }
        if let colon = address.lastIndex(of: ":") { return Int(address[address.index(after: colon)...]) ?? 80 }
        return 80
    }

    /// What serves `/.well-known/acme-challenge/`: an `Alias` of that path (a webroot when it ends in
    /// `.well-known/acme-challenge/`), a `ProxyPass` of it or of `/`, a redirect of everything, else the DocumentRoot.
    private static func challengePath(_ directives: [ApacheConfigParser.Directive], documentRoot: String?,
                                      resolve: (String) -> String, redirectHost: (String) -> String?) -> ServedSite.ChallengePath {
        let challenge = "/.well-known/acme-challenge"
        for directive in directives where directive.name == "alias" || directive.name == "aliasmatch" {
            guard directive.arguments.count >= 2, directive.arguments[0].replacing("\\", with: "").contains(".well-known/acme-challenge") else { continue }
            var target = resolve(directive.arguments[1])
            while target.count > 1, target.hasSuffix("/") { target.removeLast() }
            if directive.name == "alias", target.hasSuffix(challenge), !target.contains("$") {
                return .webroot(String(target.dropLast(challenge.count)), fromChallengeLocation: true)
            }
            return .passedOn("\(directive.name == "alias" ? "Alias" : "AliasMatch") \(directive.arguments.joined(separator: " "))")
        }
        for directive in directives where directive.name == "proxypass" {
            guard let path = directive.arguments.first, directive.arguments.count >= 2 else { continue }
            if path.hasPrefix(challenge) && directive.arguments[1] == "!" { break }   // excluded from the proxy: served from files
            if path == "/" || path.hasPrefix(challenge) { return .passedOn("ProxyPass \(directive.arguments.joined(separator: " "))") }
        }
        for directive in directives where ["redirect", "redirectpermanent", "redirectmatch", "redirecttemp"].contains(directive.name) {
            let words = directive.arguments.filter { !["permanent", "temp", "seeother", "gone"].contains($0.lowercased()) && Int($0) == nil }
            guard let path = words.first else { continue }
            if path == "/" || path == "^/" || path.hasPrefix("^/(") || path.hasPrefix("^/?") || path == "^" || path == "(.*)" || path == "^(.*)$" {
                return .redirected(host: words.dropFirst().first.flatMap(redirectHost))
            }
        }
        let rewriting = directives.contains { $0.name == "rewriteengine" && $0.arguments.first?.lowercased() == "on" }
        if rewriting, let rule = directives.first(where: { $0.name == "rewriterule" && ($0.arguments.dropFirst().first?.hasPrefix("https://") ?? false) }) {
            return .redirected(host: redirectHost(rule.arguments[1]))
        }
        guard let documentRoot else { return .none }
        if documentRoot.contains("${") { return .passedOn("DocumentRoot \(documentRoot) (a variable Apache's environment sets)") }
        return .webroot(documentRoot, fromChallengeLocation: false)
    }

    /// `path` with `${VAR}` replaced from `environment`, and relative to `serverRoot` when not absolute.
    static func resolvePath(_ path: String, serverRoot: String, environment: [String: String]) -> String {
        var result = ""
        var rest = Substring(path)
        while let start = rest.firstRange(of: "${"), let end = rest[start.upperBound...].firstIndex(of: "}") {
            let name = String(rest[start.upperBound..<end])
            result += rest[..<start.lowerBound]
            result += environment[name] ?? "${\(name)}"
            rest = rest[rest.index(after: end)...]
        }
        result += rest
        guard !result.hasPrefix("/"), !result.isEmpty, !result.hasPrefix("${") else { return result }
        return (serverRoot.hasSuffix("/") ? serverRoot : serverRoot + "/") + result
    }
}
