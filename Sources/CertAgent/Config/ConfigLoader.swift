import ACME
import CertCrypto
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Reads and validates a CertAgent config file (JSON), reporting every problem at once with its field and value.
public enum ConfigLoader {
    /// The key type used when neither the certificate nor the file names one.
    public static let defaultKeyType: KeyType = .ec256

    /// Where root keeps the store when the config names none and systemd gives no `STATE_DIRECTORY`: the unit's own
    /// `StateDirectory=`, so `sudo certagent issue` and the service always use the same store.
    public static let rootDefaultStorage = "/var/lib/certagent"

    /// The values `maxConcurrentRenewals` and `minimumRenewalIntervalSeconds` may take (also `ConfigSchema`'s).
    static let maxConcurrentRenewalsRange: ClosedRange<Double> = 1...64
    static let minimumRenewalIntervalRange: ClosedRange<Double> = 1...86_400

    /// Loads `path`. `environment` supplies `STATE_DIRECTORY` (set by systemd's `StateDirectory=`) for the default store;
    /// `runningAsRoot` picks `rootDefaultStorage` over a store beside the webroot. The file and its directories must pass
    /// `permissions` (no one but the running user or root may write them) before anything in it is used.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                            runningAsRoot: Bool = geteuid() == 0, permissions: ConfigPermissions = ConfigPermissions()) throws -> AgentConfig {
        let contents: ConfigFileReader.Contents
        do {
            contents = try ConfigFileReader.read(path)
        } catch {
            throw ConfigError(file: path, problems: [ConfigProblem(field: "", value: nil, message: error.message)])
        }
        let checked = try permissions.check(path)
        guard checked.problems.isEmpty else { throw ConfigError(file: path, problems: checked.problems) }
        guard checked.file.device == contents.device, checked.file.inode == contents.inode else {
            throw ConfigError(file: path, problems: [ConfigProblem(field: "", value: nil, message: "the config file was replaced while it was read: try again")])
        }
        return try parse(contents.bytes, path: path, environment: environment, runningAsRoot: runningAsRoot)
    }

    /// Validates config text; `path` names it in messages and anchors the default master key file.
    public static func parse(_ data: Data, path: String, environment: [String: String] = [:],
                             runningAsRoot: Bool = geteuid() == 0) throws -> AgentConfig {
        try parse([UInt8](data), path: path, environment: environment, runningAsRoot: runningAsRoot)
    }

    /// Validates config bytes (strict RFC 8259 JSON, at most 1 MiB); `path` names it in messages.
    public static func parse(_ bytes: [UInt8], path: String, environment: [String: String] = [:],
                             runningAsRoot: Bool = geteuid() == 0) throws -> AgentConfig {
        guard bytes.count <= ConfigFileReader.maximumSize else {
            throw ConfigError(file: path, problems: [ConfigProblem(field: "", value: nil, message: "the config is \(bytes.count) bytes: more than the 1 MiB a config may be")])
        }
        let root: JSONValue
        do {
            root = try StrictJSONParser.parse(bytes)
        } catch {
            throw ConfigError(file: path, problems: [ConfigProblem(field: "", value: nil, message: "is not valid JSON: \(error)")])
        }
        guard case .object(let members) = root else {
            throw ConfigError(file: path, problems: [ConfigProblem(field: "", value: root.excerpt, message: "must be a JSON object")])
        }
        var reader = FieldReader(members, path: "")
        let config = readConfig(&reader, path: path, environment: environment, runningAsRoot: runningAsRoot)
        reader.reportUnknownFields()
        guard reader.problems.isEmpty, let config else { throw ConfigError(file: path, problems: reader.problems) }
        return config
    }

    private static func readConfig(_ reader: inout FieldReader, path: String, environment: [String: String],
                                   runningAsRoot: Bool) -> AgentConfig? {
        readSchemaReference(&reader)
        let emails = (reader.strings("email") ?? []).compactMap { field, value -> String? in
            if let problem = FieldLimits.emailProblem(value) {
                reader.add(field: field, value: JSONValue.string(value).excerpt, message: problem)
                return nil
            }
            return value
        }
        let acceptTerms = reader.bool("acceptTermsOfService") ?? false
        let authorities = readCertificateAuthorities(&reader)
        let directoryURL = authorities?.authorities.first?.directoryURL   // the primary's
        var preferredChain = reader.text("preferredChain", limit: FieldLimits.commonNameCharacters * 4, what: "an issuer's common name")
        if let name = preferredChain, name.count > FieldLimits.commonNameCharacters {
            reader.report("preferredChain", .string(name), "is \(name.count) characters long: an issuer's common name has at most \(FieldLimits.commonNameCharacters) (RFC 5280 ub-common-name), so no chain could match it")
            preferredChain = nil
        }
        let defaultKeyType = readKeyType(&reader, key: "keyType") ?? defaultKeyType
        let profile = readProfile(&reader)
        let certificates = readCertificates(&reader, defaultKeyType: defaultKeyType, defaultProfile: profile, directoryURL: directoryURL)
        let webroots = ResolvedWebroots(certificates)
        let storage = readStorage(&reader, certificates: certificates, webroots: webroots, environment: environment, runningAsRoot: runningAsRoot)
        let masterKeyFile = readMasterKeyFile(&reader, configPath: path, certificates: certificates, webroots: webroots)
        let concurrency = readPositiveNumber(&reader, "maxConcurrentRenewals", range: maxConcurrentRenewalsRange)
        let minimumInterval = readPositiveNumber(&reader, "minimumRenewalIntervalSeconds", range: minimumRenewalIntervalRange)
        let dryRunDirectory = readDirectory(&reader, key: "dryRunDirectory")
        var metricsFile = readMetricsFile(&reader)
        if let path = metricsFile, let storage, PathSafety.isInside(path, directory: storage) {
            reader.report("metricsFile", .string(path), "is inside the store \(storage), which only CertAgent reads (mode 0700): put it where the metrics collector reads, e.g. /var/lib/prometheus/node-exporter/certagent.prom")
            metricsFile = nil
        }
        let notify = NotifyConfigReader.read(&reader)
        let cluster = ClusterConfigReader.read(&reader)
        guard let authorities, let primary = authorities.authorities.first, let directoryURL, let storage, let masterKeyFile else { return nil }
        var config = AgentConfig(sourcePath: path, emails: emails, acceptTermsOfService: acceptTerms, directoryURL: directoryURL,
                                 caFile: primary.caFile, storagePath: storage, certificates: certificates, preferredChain: preferredChain,
                                 externalAccountBinding: primary.externalAccountBinding, masterKeyFile: masterKeyFile)
        config.fallbackAuthorities = Array(authorities.authorities.dropFirst())
        if let fallbackAfterFailures = authorities.fallbackAfterFailures { config.fallbackAfterFailures = fallbackAfterFailures }
        if let concurrency { config.maxConcurrentRenewals = Int(concurrency) }
        if let minimumInterval { config.minimumRenewalInterval = minimumInterval }
        config.dryRunDirectory = dryRunDirectory
        config.metricsFile = metricsFile
        config.notify = notify
        config.profile = profile
        config.cluster = cluster
        return config
    }

    /// `$schema`: the JSON Schema an editor checks the file with (`ConfigSchema`), ignored otherwise. Only a string.
    private static func readSchemaReference(_ reader: inout FieldReader) {
        guard let value = reader.raw("$schema") ?? reader.object["$schema"] else { return }
        guard case .string(let text) = value else {
            reader.report("$schema", value, "must be a string (the schema's URI, e.g. \(ConfigSchema.installedURI)), not \(value.kindName)")
            return
        }
        if let problem = FieldLimits.textProblem(text, limit: FieldLimits.pathBytes, what: "a schema URI") { reader.report("$schema", value, problem) }
    }

    /// `dryRunDirectory` (nil when absent): an https:// URL or a known name (`directory` is read by
    /// `readCertificateAuthorities`).
    private static func readDirectory(_ reader: inout FieldReader, key: String) -> String? {
        guard let value = reader.string(key) else { return nil }
        return resolvedDirectoryURL(value, field: reader.fieldPath(key), reader: &reader)
    }

    /// `metricsFile`: an absolute path whose directory exists; not a directory itself (checked offline).
    private static func readMetricsFile(_ reader: inout FieldReader) -> String? {
        guard let path = reader.path("metricsFile") else { return nil }
        var isDirectory = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory {
            reader.report("metricsFile", .string(path), "is a directory: name the file to write, e.g. \(path.hasSuffix("/") ? path : path + "/")certagent.prom")
            return nil
        }
        let parent = PathText.parent(path)
        guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory), isDirectory else {
            reader.report("metricsFile", .string(path), "is in \(parent), which is not an existing directory (node_exporter's textfile collector reads a directory you create, e.g. /var/lib/prometheus/node-exporter)")
            return nil
        }
        return path
    }

    static func readExternalAccountBinding(_ reader: inout FieldReader) -> ExternalAccountBindingConfig? {
        guard let members = reader.object("eab") else { return nil }
        var eabReader = FieldReader(members, path: reader.fieldPath("eab"))
        let keyID = eabReader.text("kid", limit: FieldLimits.keyIdentifierBytes, what: "a key identifier", required: true)
        let secret = eabReader.string("hmacKeySecret", required: true)
        if let secret, !SecretName.isValid(secret) {
            eabReader.report("hmacKeySecret", .string(secret), "is not a secret name (1–64 characters of A–Z, a–z, 0–9, '.', '_' and '-')")
        }
        if let keyID, keyID.isEmpty { eabReader.report("kid", .string(keyID), "is empty") }
        eabReader.reportUnknownFields()
        reader.absorb(eabReader)
        guard let keyID, let secret, eabReader.problems.isEmpty else { return nil }
        return ExternalAccountBindingConfig(keyID: keyID, hmacKeySecret: secret)
    }

    static func readPositiveNumber(_ reader: inout FieldReader, _ key: String, range: ClosedRange<Double>) -> Double? {
        guard let value = reader.raw(key) else { return nil }
        guard case .number(let number) = value, number == number.rounded(), range.contains(number) else {
            reader.report(key, value, "must be a whole number from \(Int(range.lowerBound)) to \(Int(range.upperBound))")
            return nil
        }
        return number
    }

    /// `masterKeyFile`, or `master.key` beside the config file: never inside a webroot, and checked offline (an existing
    /// one must be a regular file; its directory must exist or be creatable).
    ///
    /// A webroot below the key's directory (`~/master.key` beside `~/public_html`) is allowed: the key itself is not
    /// served, and CertAgent never changes an existing directory's permissions for the key (it creates a missing one
    /// 0700, and a missing directory holds no webroot). The store is different: it is CertAgent's own tree, so a webroot
    /// inside it is refused in `readStorage`.
    private static func readMasterKeyFile(_ reader: inout FieldReader, configPath: String, certificates: [CertificateConfig],
                                          webroots: ResolvedWebroots) -> String? {
        let explicit = reader.path("masterKeyFile")
        if explicit == nil, reader.problems.contains(where: { $0.field == "masterKeyFile" }) { return nil }
        let path = explicit ?? URL(fileURLWithPath: configPath).deletingLastPathComponent().path + "/master.key"
        let field = explicit == nil ? "masterKeyFile (default \(path))" : "masterKeyFile"
        let value = explicit.map { JSONValue.string($0).excerpt }
        if let (webroot, domain, name) = webroots.first(containing: path) {
            reader.add(field: field, value: value, message: "is inside the webroot \(webroot) of \(domain) (certificate \(name)): anyone could download the key that opens every secret; keep it outside every webroot")
            return nil
        }
        if let problem = ReferencedFiles.masterKeyFileProblem(path) {
            reader.add(field: field, value: value, message: problem)
            return nil
        }
        return path
    }

    /// Every certificate's webroots (sorted by domain, certificate by certificate), each resolved (`PathSafety.canonical`)
    /// once: the store and the master key are checked against all of them, and a config may list a thousand.
    struct ResolvedWebroots {
        struct Entry {
            let webroot: String
            let domain: String
            let certificate: String
            let canonical: String
        }
        let entries: [Entry]

        init(_ certificates: [CertificateConfig]) {
            var resolved: [String: String] = [:]
            var entries: [Entry] = []
            for certificate in certificates {
                for (domain, webroot) in certificate.webroots.sorted(by: { $0.key < $1.key }) {
                    let canonical = resolved[webroot] ?? PathSafety.canonical(webroot)
                    resolved[webroot] = canonical
                    entries.append(Entry(webroot: webroot, domain: domain, certificate: certificate.name, canonical: canonical))
                }
            }
            self.entries = entries
        }

        /// The first webroot that `path` lies in, after resolving links.
        func first(containing path: String) -> (webroot: String, domain: String, certificate: String)? {
            let resolved = PathSafety.canonical(path)
            return entries.first { PathSafety.isCanonical(resolved, inside: $0.canonical) }.map { ($0.webroot, $0.domain, $0.certificate) }
        }

        /// The first webroot that lies in `directory`, after resolving links.
        func first(inside directory: String) -> Entry? {
            let resolved = PathSafety.canonical(directory)
            return entries.first { PathSafety.isCanonical($0.canonical, inside: resolved) }
        }
    }

    static func readKeyType(_ reader: inout FieldReader, key: String) -> KeyType? {
        guard let value = reader.string(key) else { return nil }
        guard let type = KeyType(rawValue: value) else {
            let names = KeyType.allCases.map(\.rawValue).joined(separator: ", ")
            reader.report(key, .string(value), "is not a key type (one of: \(names))")
            return nil
        }
        return type
    }

    /// `profile` (top level or per certificate): an ACME profile name, checked against the CA's list when connecting.
    static func readProfile(_ reader: inout FieldReader) -> String? {
        guard let value = reader.string("profile") else { return nil }
        if let problem = CertificateProfile.nameProblem(value) {
            reader.report("profile", .string(value), problem)
            return nil
        }
        return value
    }

    private static func readCertificates(_ reader: inout FieldReader, defaultKeyType: KeyType, defaultProfile: String?,
                                         directoryURL: String?) -> [CertificateConfig] {
        guard let items = reader.array("certificates") else {
            reader.report("certificates", nil, "is required: list at least one certificate")
            return []
        }
        var certificates: [CertificateConfig] = []
        var seenNames: Set<String> = []
        for (index, item) in items.enumerated() {
            let itemPath = "certificates[\(index)]"
            guard case .object(let members) = item else {
                reader.add(field: itemPath, value: item.excerpt, message: "must be an object")
                continue
            }
            var certificateReader = FieldReader(members, path: itemPath)
            let certificate = CertificateConfigReader.read(&certificateReader, defaultKeyType: defaultKeyType, defaultProfile: defaultProfile,
                                                           directoryURL: directoryURL)
            certificateReader.reportUnknownFields()
            if let certificate {
                if seenNames.insert(certificate.name).inserted {
                    certificates.append(certificate)
                } else {
                    certificateReader.report("name", .string(certificate.name), "is used by another certificate: names must be unique")
                }
            }
            reader.absorb(certificateReader)
        }
        if items.isEmpty { reader.report("certificates", .array([]), "is empty: list at least one certificate") }
        return certificates
    }

    private static func readStorage(_ reader: inout FieldReader, certificates: [CertificateConfig], webroots: ResolvedWebroots,
                                    environment: [String: String], runningAsRoot: Bool) -> String? {
        let explicit = reader.path("storage")
        let storage: String
        if let explicit {
            storage = explicit
        } else if reader.problems.contains(where: { $0.field == "storage" }) {
            return nil
        } else if let state = environment["STATE_DIRECTORY"]?.split(separator: ":").first, !state.isEmpty {
            storage = String(state)
        } else if runningAsRoot {
            storage = rootDefaultStorage
        } else if let webroot = certificates.first?.webroots.values.sorted().first {
            // A shared host's public_html lives in the account's home: keep the store beside it, never in it.
            storage = URL(fileURLWithPath: webroot).deletingLastPathComponent().appendingPathComponent("certagent").path
        } else {
            if !certificates.isEmpty {
                reader.report("storage", nil, "is not set and no webroot is known to place it beside: set an absolute path outside every webroot")
            }
            return nil
        }
        let field = explicit == nil ? "storage (default \(storage))" : "storage"
        let value = explicit.map { JSONValue.string($0).excerpt }
        if let (webroot, domain, name) = webroots.first(containing: storage) {
            reader.add(field: field, value: value,
                       message: "is inside the webroot \(webroot) of \(domain) (certificate \(name)): keys there could be downloaded by anyone; keep the store outside every webroot")
            return nil
        }
        // The other way round: a webroot inside the store would have the store's secrets (secrets.sealed, keys) above
        // the web server's files, and the store's permission care applied to the site.
        if let inside = webroots.first(inside: storage) {
            reader.add(field: field, value: value,
                       message: "holds the webroot \(inside.webroot) of \(inside.domain) (certificate \(inside.certificate)): the store with its keys and secrets must not contain a site; give the store a directory of its own, outside every webroot")
            return nil
        }
        if PathSafety.isDirectory(storage) == false, FileManager.default.fileExists(atPath: storage) {
            reader.add(field: field, value: value, message: "exists and is not a directory")
            return nil
        }
        return storage
    }
}
