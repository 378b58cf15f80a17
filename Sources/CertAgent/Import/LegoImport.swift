import ACME
import CertCrypto
import FoundationEssentials

/// Reads lego's directory (`--path`, by default `./.lego`): `certificates/<name>.json` with its `.crt` (the leaf, and
/// the issuer unless lego ran with `--no-bundle`), `.issuer.crt` and `.key`; and the accounts in
/// `accounts/<host_port>/<email>/` (`account.json` with the registration's URI, `keys/<email>.key`, a PEM key).
/// lego keeps neither the webroot nor the full directory URL: `--webroot` gives the first (else each certificate is
/// left out with a suggestion), `--server` the second when the accounts' host is not Let's Encrypt's.
public enum LegoImport {
    /// lego's default `--path` when run from `/root` (its default is `.lego` in the working directory).
    public static let defaultDirectory = "/root/.lego"

    /// The directory URL of the CAs whose account directories lego names by host alone.
    static let knownServers = [
        "acme-v02.api.letsencrypt.org": "https://acme-v02.api.letsencrypt.org/directory",
        "acme-staging-v02.api.letsencrypt.org": "https://acme-staging-v02.api.letsencrypt.org/directory",
    ]

    /// The plan for `directory`. `server` is the ACME directory URL lego used (`--server`), `email` the account when there
    /// are several at it.
    public static func plan(directory: String, webroots: ImportWebroots, server: String? = nil, email: String? = nil,
                            suggest: (String, [String]) -> String? = { _, _ in nil }) throws(ImportError) -> ImportPlan {
        let account = try readAccount(directory: directory, server: server, email: email)
        let certificateDirectory = directory + "/certificates"
        let resources = try ImportFiles.entries(certificateDirectory).filter { $0.hasSuffix(".json") }
        guard !resources.isEmpty else {
            throw ImportError(file: certificateDirectory, problem: "holds no certificate resource (*.json): is \(directory) lego's --path?")
        }
        var certificates: [ImportedCertificate] = []
        var skipped: [SkippedCertificate] = []
        for resource in resources {
            let name = String(resource.dropLast(5))
            let base = certificateDirectory + "/" + name
            let json = try ImportFiles.jsonObject(base + ".json")
            guard case .string(let domain)? = json["domain"], !domain.isEmpty else {
                throw ImportError(file: base + ".json", field: "domain", problem: "is missing: lego writes the certificate's first name there")
            }
            let bundle = try ImportFiles.certificates(base + ".crt")
            let leaf = bundle[0]
            var chain = Array(bundle.dropFirst())
            if chain.isEmpty, ImportFiles.exists(base + ".issuer.crt") { chain = try ImportFiles.certificates(base + ".issuer.crt") }
            guard !chain.isEmpty else { throw ImportError(file: base + ".crt", problem: "holds the leaf alone and there is no \(name).issuer.crt with its chain") }
            let domains = leaf.dnsNames.map { $0.lowercased() }
            guard domains.contains(domain.lowercased()) || domain.hasPrefix("*.") else {
                throw ImportError(file: base + ".json", field: "domain", value: domain, problem: "is not a name of the certificate in \(name).crt (\(domains.joined(separator: ", ")))")
            }
            let key = try ImportFiles.privateKey(base + ".key")
            guard leaf.matches(key) else {
                throw ImportError(file: base + ".key", problem: "is not the private key of the certificate in \(name).crt")
            }
            if let reason = ImportFiles.unsupportedReason(leaf: leaf, domains: domains, client: "lego") {
                skipped.append(SkippedCertificate(name: name, domains: domains, reason: reason))
                continue
            }
            guard let webroot = webroots.webroot(for: name) else {
                let suggested = suggest(name, domains)
                skipped.append(SkippedCertificate(
                    name: name, domains: domains,
                    reason: "lego does not record how it validated (--http.webroot, --http, --tls, --dns), so the webroot is not known",
                    suggestion: "import it with --webroot \(name)=\(suggested ?? "/var/www/html") (the directory your web server serves for \(domains.joined(separator: ", ")) over port 80\(suggested == nil ? "" : ", found in its config")), or --webroot PATH for every certificate"))
                continue
            }
            certificates.append(ImportedCertificate(
                name: name, domains: domains, webroots: Dictionary(uniqueKeysWithValues: domains.map { ($0, webroot) }), keyType: key.type,
                reuseKey: false, key: key, leaf: leaf, chain: chain, directoryURL: account.directoryURL, accountURL: account.url,
                origin: base + ".crt", notes: ["webroot \(webroot) from --webroot"]))
        }
        return ImportPlan(client: "lego", sourceDirectory: directory, certificates: certificates, accounts: [account], skipped: skipped,
                          switchOff: ["lego has no timer of its own: remove the cron job or systemd timer that runs `lego … renew` (see `crontab -l`, /etc/cron.d/, `systemctl list-timers`)",
                                      "lego's files in \(directory) are left as they are: remove them once the web server uses CertAgent's"])
    }

    /// The account lego's certificates were ordered with: the one account in `accounts/`, or the one `server` and `email`
    /// select.
    static func readAccount(directory: String, server: String?, email: String?) throws(ImportError) -> ImportedAccount {
        let accountsDirectory = directory + "/accounts"
        var serverDirectories = try ImportFiles.entries(accountsDirectory).filter { PathSafety.isDirectory(accountsDirectory + "/" + $0) }
        if let server {
            guard let components = URLComponents(string: server), components.scheme == "https" || components.scheme == "http",
                  let host = components.host, !host.isEmpty else {
                throw ImportError(file: "the command line", field: "--server", value: server, problem: "is not an ACME directory URL (https://…/directory)")
            }
            let name = host + (components.port.map { "_\($0)" } ?? "")
            guard serverDirectories.contains(name) else {
                throw ImportError(file: accountsDirectory, field: "--server", value: server,
                                  problem: "lego has no account at this server (it would be in \(name)/; there is \(serverDirectories.isEmpty ? "none" : serverDirectories.joined(separator: ", ")))")
            }
            serverDirectories = [name]
        }
        guard serverDirectories.count == 1 else {
            throw ImportError(file: accountsDirectory, problem: serverDirectories.isEmpty ? "holds no account"
                              : "holds accounts at several servers (\(serverDirectories.joined(separator: ", "))): pass --server with the directory URL of the one to import")
        }
        let serverDirectory = accountsDirectory + "/" + serverDirectories[0]
        let directoryURL: String
        if let server { directoryURL = server } else if let known = knownServers[serverDirectories[0]] { directoryURL = known } else {
            throw ImportError(file: serverDirectory, problem: "lego keeps only the server's host, not its directory URL: pass --server with the URL lego was given (e.g. https://\(serverDirectories[0].replacing("_", with: ":"))/directory)")
        }
        var emails = try ImportFiles.entries(serverDirectory).filter { PathSafety.isDirectory(serverDirectory + "/" + $0) }
        if let email {
            guard emails.contains(email) else {
                throw ImportError(file: serverDirectory, field: "--email", value: email, problem: "lego has no account with this e-mail address there (\(emails.joined(separator: ", ")))")
            }
            emails = [email]
        }
        guard emails.count == 1 else {
            throw ImportError(file: serverDirectory, problem: emails.isEmpty ? "holds no account" : "holds several accounts (\(emails.joined(separator: ", "))): pass --email with the one to import")
        }
        let accountDirectory = serverDirectory + "/" + emails[0]
        let accountFile = accountDirectory + "/account.json"
        let document = try ImportFiles.jsonObject(accountFile)
        guard case .object(let registration)? = document["registration"], case .string(let uri)? = registration["uri"] else {
            throw ImportError(file: accountFile, field: "registration.uri", problem: "is missing: the account was never registered")
        }
        guard let components = URLComponents(string: uri), components.scheme == "https" || components.scheme == "http", components.host != nil else {
            throw ImportError(file: accountFile, field: "registration.uri", value: uri, problem: "is not an account URL")
        }
        var contact: [String] = []
        if case .object(let body)? = registration["body"], case .array(let items)? = body["contact"] {
            for item in items {
                guard case .string(let text) = item else { throw ImportError(file: accountFile, field: "registration.body.contact", problem: "must list strings") }
                contact.append(text)
            }
        }
        if case .object(let body)? = registration["body"], case .string(let status)? = body["status"], status != "valid" {
            throw ImportError(file: accountFile, field: "registration.body.status", value: status, problem: "the account is not valid: nothing can be renewed with it")
        }
        let key = try ImportFiles.privateKey(accountDirectory + "/keys/" + emails[0] + ".key")
        return ImportedAccount(directoryURL: directoryURL, url: uri, contact: contact, key: key, origin: accountDirectory)
    }
}
