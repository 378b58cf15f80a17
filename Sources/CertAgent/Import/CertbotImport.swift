import ACME
import CertCrypto
import FoundationEssentials

/// Reads certbot's configuration directory (`/etc/letsencrypt`): every `renewal/*.conf`, the current files each names
/// (`live/<name>/` → `archive/<name>/`), and the accounts they were ordered with (`accounts/<server>/<id>/`:
/// `private_key.json`, a JWK, and `regr.json`, the registration's URI). Everything read is checked; a bad file is an
/// `ImportError` and nothing is planned.
public enum CertbotImport {
    /// certbot's configuration directory on Debian.
    public static let defaultDirectory = "/etc/letsencrypt"

    /// The plan for `directory`. `webroots` (`--webroot`) gives a webroot to certificates certbot renews another way
    /// (nginx, apache, standalone plugins); `suggest` proposes one for those left out.
    public static func plan(directory: String, webroots: ImportWebroots = ImportWebroots(),
                            suggest: (String, [String]) -> String? = { _, _ in nil }) throws(ImportError) -> ImportPlan {
        let renewalDirectory = directory + "/renewal"
        let files = try ImportFiles.entries(renewalDirectory).filter { $0.hasSuffix(".conf") }
        guard !files.isEmpty else {
            throw ImportError(file: renewalDirectory, problem: "holds no renewal configuration (*.conf): is \(directory) certbot's configuration directory?")
        }
        var certificates: [ImportedCertificate] = []
        var skipped: [SkippedCertificate] = []
        var accounts: [String: ImportedAccount] = [:]
        for file in files {
            let path = renewalDirectory + "/" + file
            let renewal = try CertbotRenewalFile.parse(try ImportFiles.text(path), path: path)
            let lineage = try CertbotLineage.read(renewal)
            let domains = lineage.leaf.dnsNames.map { $0.lowercased() }
            if let problem = ImportFiles.unsupportedReason(leaf: lineage.leaf, domains: domains, client: "certbot (\(renewal.authenticator))") {
                skipped.append(SkippedCertificate(name: renewal.name, domains: domains, reason: problem))
                continue
            }
            var notes: [String] = []
            var webrootOf: [String: String] = [:]
            let named = webroots.byName[renewal.name]
            if named == nil, renewal.isWebroot, domains.allSatisfy({ renewal.webroot(for: $0) != nil }) {
                for domain in domains { webrootOf[domain] = renewal.webroot(for: domain) }
            } else if let given = named ?? webroots.shared {
                for domain in domains { webrootOf[domain] = given }
                notes.append("webroot \(given) from --webroot (certbot renewed it with \(renewal.authenticator))")
            } else {
                let reason = renewal.isWebroot
                    ? "certbot's renewal configuration gives no webroot for \(domains.filter { renewal.webroot(for: $0) == nil }.joined(separator: ", ")) (webroot_path lists \(renewal.webrootPaths.count), [[webroot_map]] does not name them)"
                    : Self.authenticatorExplanation(renewal.authenticator)
                let webroot = suggest(renewal.name, domains)
                skipped.append(SkippedCertificate(name: renewal.name, domains: domains, reason: reason,
                                                  suggestion: "import it with --webroot \(renewal.name)=\(webroot ?? "/var/www/html") (the directory your web server serves for \(domains.joined(separator: ", ")) over port 80\(webroot == nil ? "" : ", found in its config")); CertAgent answers HTTP-01 by writing files there"))
                continue
            }
            let keyType = renewal.configuredKeyType ?? lineage.key.type
            if renewal.configuredKeyType == nil, renewal.keyType != nil {
                notes.append("certbot's key settings (\(renewal.keySettingsText)) are not a key type CertAgent makes: renewals make \(keyType.rawValue) keys, the type of the current key")
            } else if keyType != lineage.key.type {
                notes.append("the current key is \(lineage.key.type.rawValue); certbot's key settings (\(renewal.keySettingsText)) ask for \(keyType.rawValue), so the next renewal makes a new \(keyType.rawValue) key")
            }
            if !renewal.hooks.isEmpty {
                notes.append("certbot ran " + renewal.hooks.keys.sorted().map { "\($0) \"\(renewal.hooks[$0]!)\"" }.joined(separator: ", ")
                             + ": CertAgent runs install.reload after a renewal instead")
            }
            let account = try readAccount(directory: directory, renewal: renewal)
            accounts[renewal.server + " " + renewal.account] = account
            certificates.append(ImportedCertificate(
                name: renewal.name, domains: domains, webroots: webrootOf, keyType: keyType, reuseKey: renewal.reuseKey,
                key: lineage.key, leaf: lineage.leaf, chain: lineage.chain, directoryURL: renewal.server, accountURL: account.url,
                origin: path, notes: notes))
        }
        return ImportPlan(client: "certbot", sourceDirectory: directory, certificates: certificates,
                          accounts: accounts.keys.sorted().map { accounts[$0]! }, skipped: skipped,
                          switchOff: ["systemctl disable --now certbot.timer   (Debian's package renews from this timer)",
                                      "rm /etc/cron.d/certbot                  (if it exists: the timer's cron fallback)",
                                      "certbot's files in \(directory) are left as they are: remove them once the web server uses CertAgent's"])
    }

    /// Why certbot's `authenticator` is not taken over as it is.
    static func authenticatorExplanation(_ authenticator: String) -> String {
        switch authenticator {
        case "nginx", "apache":
            return "certbot renews it with its \(authenticator) plugin, which edits the \(authenticator) configuration for each renewal; CertAgent never edits the web server's configuration and answers HTTP-01 through the site's webroot instead"
        case "standalone":
            return "certbot renews it with its standalone plugin, which runs its own web server on port 80 for the validation; CertAgent answers HTTP-01 through the webroot your web server serves instead"
        case "manual":
            return "certbot renews it with the manual plugin (a person or script answers each challenge); CertAgent answers HTTP-01 by itself through a webroot"
        default:
            if authenticator.hasPrefix("dns") {
                return "certbot renews it with the DNS plugin \(authenticator) (DNS-01); CertAgent validates with HTTP-01 through a webroot only"
            }
            return "certbot renews it with the \(authenticator) plugin; CertAgent answers HTTP-01 through a webroot only"
        }
    }

    /// The account `renewal` names, from `accounts/<server without scheme>/<id>/`.
    static func readAccount(directory: String, renewal: CertbotRenewalFile) throws(ImportError) -> ImportedAccount {
        let serverPath = renewal.server.split(separator: "://", maxSplits: 1).last.map(String.init) ?? renewal.server
        let accountDirectory = directory + "/accounts/" + serverPath + "/" + renewal.account
        guard ImportFiles.exists(accountDirectory) else {
            throw ImportError(file: renewal.path, field: "[renewalparams] account", value: renewal.account,
                              problem: "names no account: \(accountDirectory) does not exist")
        }
        let keyFile = accountDirectory + "/private_key.json"
        var jwk: [String: String] = [:]
        for (member, value) in try ImportFiles.jsonObject(keyFile) {
            guard case .string(let text) = value else { throw ImportError(file: keyFile, field: member, problem: "must be a string") }
            jwk[member] = text
        }
        let key: PrivateKey
        do { key = try PrivateKey(jwk: jwk) } catch {
            throw ImportError(file: keyFile, problem: "\(error)")
        }
        let registrationFile = accountDirectory + "/regr.json"
        let registration = try ImportFiles.jsonObject(registrationFile)
        guard case .string(let uri)? = registration["uri"] else {
            throw ImportError(file: registrationFile, field: "uri", problem: "is missing: certbot writes the account's URL there")
        }
        guard let components = URLComponents(string: uri), components.scheme == "https" || components.scheme == "http", components.host != nil else {
            throw ImportError(file: registrationFile, field: "uri", value: uri, problem: "is not an account URL")
        }
        var contact: [String] = []
        if case .object(let body)? = registration["body"], case .array(let items)? = body["contact"] {
            for item in items {
                guard case .string(let text) = item else { throw ImportError(file: registrationFile, field: "body.contact", problem: "must list strings") }
                contact.append(text)
            }
        }
        return ImportedAccount(directoryURL: renewal.server, url: uri, contact: contact, key: key, origin: accountDirectory)
    }
}

/// The current files of one certbot lineage, read through the paths its renewal configuration names and checked: the
/// private key belongs to the leaf, `fullchain` is `cert` followed by `chain`.
struct CertbotLineage {
    let key: PrivateKey
    let leaf: Certificate
    let chain: [Certificate]

    static func read(_ renewal: CertbotRenewalFile) throws(ImportError) -> CertbotLineage {
        let certificates = try ImportFiles.certificates(renewal.certificatePath, field: nil)
        guard certificates.count == 1 else {
            throw ImportError(file: renewal.certificatePath, problem: "holds \(certificates.count) certificates where certbot writes the leaf alone")
        }
        let leaf = certificates[0]
        let chain = try ImportFiles.certificates(renewal.chainPath)
        let fullChain = try ImportFiles.certificates(renewal.fullChainPath)
        guard fullChain == [leaf] + chain else {
            throw ImportError(file: renewal.fullChainPath, problem: "is not \(renewal.certificatePath) followed by \(renewal.chainPath)")
        }
        let key = try ImportFiles.privateKey(renewal.privateKeyPath)
        guard leaf.matches(key) else {
            throw ImportError(file: renewal.privateKeyPath, problem: "is not the private key of the certificate in \(renewal.certificatePath)")
        }
        return CertbotLineage(key: key, leaf: leaf, chain: chain)
    }
}
