import CertCrypto
import Foundation

/// Reads and validates a CertAgent config file (JSON), reporting every problem at once with its field and value.
public enum ConfigLoader {
    /// The key type used when neither the certificate nor the file names one.
    public static let defaultKeyType: KeyType = .ec256

    /// Where root keeps the store when the config names none and systemd gives no `STATE_DIRECTORY`: the unit's own
    /// `StateDirectory=`, so `sudo certagent issue` and the service always use the same store.
    public static let rootDefaultStorage = "/var/lib/certagent"

    /// Loads `path`. `environment` supplies `STATE_DIRECTORY` (set by systemd's `StateDirectory=`) for the default store;
    /// `runningAsRoot` picks `rootDefaultStorage` over a store beside the webroot.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                            runningAsRoot: Bool = geteuid() == 0) throws -> AgentConfig {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigError(file: path, problems: [ConfigProblem(field: "", value: nil, message: "cannot be read: \(describe(error))")])
        }
        return try parse(data, path: path, environment: environment, runningAsRoot: runningAsRoot)
    }

    /// Validates config text; `path` names it in messages and anchors relative paths.
    public static func parse(_ data: Data, path: String, environment: [String: String] = [:],
                             runningAsRoot: Bool = geteuid() == 0) throws -> AgentConfig {
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw ConfigError(file: path, problems: [ConfigProblem(field: "", value: nil, message: "is not valid JSON: \(describe(error))")])
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
        let emails = (reader.strings("email") ?? []).compactMap { field, value -> String? in
            guard isPlausibleEmail(value) else {
                reader.add(field: field, value: JSONValue.string(value).excerpt, message: "is not an e-mail address (expected name@example.com)")
                return nil
            }
            return value
        }
        let acceptTerms = reader.bool("acceptTermsOfService") ?? false
        let directoryURL = readDirectory(&reader)
        let caFile = reader.string("caFile")
        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            reader.report("caFile", .string(caFile), "is not a readable file")
        }
        let preferredChain = reader.string("preferredChain")
        let defaultKeyType = readKeyType(&reader, key: "keyType") ?? defaultKeyType
        let certificates = readCertificates(&reader, defaultKeyType: defaultKeyType)
        let storage = readStorage(&reader, certificates: certificates, environment: environment, runningAsRoot: runningAsRoot)
        let binding = readExternalAccountBinding(&reader)
        let masterKeyFile = readMasterKeyFile(&reader, configPath: path)
        let concurrency = readPositiveNumber(&reader, "maxConcurrentRenewals", range: 1...64)
        let minimumInterval = readPositiveNumber(&reader, "minimumRenewalIntervalSeconds", range: 1...86_400)
        guard let directoryURL, let storage, let masterKeyFile else { return nil }
        var config = AgentConfig(sourcePath: path, emails: emails, acceptTermsOfService: acceptTerms, directoryURL: directoryURL,
                                 caFile: caFile, storagePath: storage, certificates: certificates, preferredChain: preferredChain,
                                 externalAccountBinding: binding, masterKeyFile: masterKeyFile)
        if let concurrency { config.maxConcurrentRenewals = Int(concurrency) }
        if let minimumInterval { config.minimumRenewalInterval = minimumInterval }
        return config
    }

    private static func readDirectory(_ reader: inout FieldReader) -> String? {
        guard let value = reader.string("directory") else { return KnownDirectory.letsencrypt.url }
        if let known = KnownDirectory(rawValue: value) { return known.url }
        guard value.hasPrefix("https://"), URL(string: value)?.host != nil else {
            let names = KnownDirectory.allCases.map(\.rawValue).joined(separator: ", ")
            reader.report("directory", .string(value), "must be an https:// URL of an ACME directory or one of: \(names)")
            return nil
        }
        return value
    }

    private static func readExternalAccountBinding(_ reader: inout FieldReader) -> ExternalAccountBindingConfig? {
        guard let members = reader.object("eab") else { return nil }
        var eabReader = FieldReader(members, path: reader.fieldPath("eab"))
        let keyID = eabReader.string("kid", required: true)
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

    private static func readPositiveNumber(_ reader: inout FieldReader, _ key: String, range: ClosedRange<Double>) -> Double? {
        guard let value = reader.raw(key) else { return nil }
        guard case .number(let number) = value, number == number.rounded(), range.contains(number) else {
            reader.report(key, value, "must be a whole number from \(Int(range.lowerBound)) to \(Int(range.upperBound))")
            return nil
        }
        return number
    }

    /// `masterKeyFile`, or `master.key` beside the config file.
    private static func readMasterKeyFile(_ reader: inout FieldReader, configPath: String) -> String? {
        if let path = reader.string("masterKeyFile") {
            guard path.hasPrefix("/") else {
                reader.report("masterKeyFile", .string(path), "must be an absolute path")
                return nil
            }
            return path
        }
        let directory = URL(fileURLWithPath: configPath).deletingLastPathComponent().path
        return directory + "/master.key"
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

    private static func readCertificates(_ reader: inout FieldReader, defaultKeyType: KeyType) -> [CertificateConfig] {
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
            let certificate = CertificateConfigReader.read(&certificateReader, defaultKeyType: defaultKeyType)
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

    private static func readStorage(_ reader: inout FieldReader, certificates: [CertificateConfig], environment: [String: String],
                                    runningAsRoot: Bool) -> String? {
        let explicit = reader.string("storage")
        let storage: String
        if let explicit {
            guard explicit.hasPrefix("/") else {
                reader.report("storage", .string(explicit), "must be an absolute path")
                return nil
            }
            storage = explicit
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
        for certificate in certificates {
            for (domain, webroot) in certificate.webroots.sorted(by: { $0.key < $1.key }) where PathSafety.isInside(storage, directory: webroot) {
                let field = explicit == nil ? "storage (default \(storage))" : "storage"
                reader.add(field: field, value: explicit.map { "\"\($0)\"" },
                                       message: "is inside the webroot \(webroot) of \(domain) (certificate \(certificate.name)): keys there could be downloaded by anyone; keep the store outside every webroot")
                return nil
            }
        }
        if PathSafety.isDirectory(storage) == false, FileManager.default.fileExists(atPath: storage) {
            reader.add(field: "storage", value: "\"\(storage)\"", message: "exists and is not a directory")
            return nil
        }
        return storage
    }

    static func isPlausibleEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix(".") else { return false }
        return !text.contains(where: { $0.isWhitespace || $0 == "," || $0 == ":" || $0 == "<" || $0 == ">" })
    }

    static func describe(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            if let underlying = context.underlyingError { return "\(underlying)" }
            return context.debugDescription
        }
        return (error as NSError).localizedDescription
    }
}
