import CertCrypto
import FoundationEssentials

/// What an import found in another client's files: the certificates and accounts to take over, and the certificates it
/// cannot take over with the reason. Built by `CertbotImport` or `LegoImport` from files that were all read and
/// checked; `ImportApplication` checks it against the config and the store and writes it.
public struct ImportPlan: Sendable {
    /// `certbot` or `lego`.
    public let client: String
    /// The client's directory that was read.
    public let sourceDirectory: String
    /// The certificates to take over.
    public var certificates: [ImportedCertificate]
    /// The accounts they were ordered with (one per CA and account).
    public var accounts: [ImportedAccount]
    /// The certificates left with the old client, and why.
    public var skipped: [SkippedCertificate]
    /// How to stop the old client from renewing (its timer or cron job), one step per line.
    public let switchOff: [String]

    public init(client: String, sourceDirectory: String, certificates: [ImportedCertificate], accounts: [ImportedAccount],
                skipped: [SkippedCertificate], switchOff: [String]) {
        self.client = client
        self.sourceDirectory = sourceDirectory
        self.certificates = certificates
        self.accounts = accounts
        self.skipped = skipped
        self.switchOff = switchOff
    }
}

/// One certificate to take over: its current files, read and checked (the key belongs to the leaf, the chain follows
/// it), and the config entry it becomes.
public struct ImportedCertificate: Sendable {
    /// Its name in the config and the store (certbot's lineage name, lego's file name).
    public let name: String
    /// The names the certificate covers, as the leaf lists them (the config's `domains`).
    public let domains: [String]
    /// The webroot of each domain.
    public let webroots: [String: String]
    /// The config's `keyType` for it: the kind of key the old client made at a renewal (certbot's `key_type` and
    /// curve or size), else the current key's type.
    public let keyType: KeyType
    /// certbot's `reuse_key`: the config's `reuseKey`.
    public let reuseKey: Bool
    /// The certificate's private key, as the old client keeps it (checked to belong to `leaf`).
    public let key: PrivateKey
    /// The certificate itself.
    public let leaf: Certificate
    /// The intermediates after the leaf.
    public let chain: [Certificate]
    /// The CA (ACME directory URL) that issued it.
    public let directoryURL: String
    /// The account it was ordered with, when known.
    public let accountURL: String?
    /// The file it was described by (certbot's renewal configuration, lego's certificate).
    public let origin: String
    /// Things worth saying about it (the webroot given on the command line, hooks certbot ran, an expired certificate).
    public let notes: [String]

    public init(name: String, domains: [String], webroots: [String: String], keyType: KeyType, reuseKey: Bool, key: PrivateKey,
                leaf: Certificate, chain: [Certificate], directoryURL: String, accountURL: String?, origin: String, notes: [String]) {
        self.name = name
        self.domains = domains
        self.webroots = webroots
        self.keyType = keyType
        self.reuseKey = reuseKey
        self.key = key
        self.leaf = leaf
        self.chain = chain
        self.directoryURL = directoryURL
        self.accountURL = accountURL
        self.origin = origin
        self.notes = notes
    }

    /// The webroot most domains use: the entry's `webroot`; the others go into `webroots`.
    public var sharedWebroot: String {
        let counts = Dictionary(grouping: domains.compactMap { webroots[$0] }, by: { $0 }).mapValues(\.count)
        return domains.compactMap { webroots[$0] }.max { counts[$0]! < counts[$1]! } ?? ""
    }

    /// The config entry (`certificates[]`) for it; `keyType` written when it differs from `configKeyType`.
    public func entry(configKeyType: String, reload: [String]?) -> CertificateEntry {
        let shared = sharedWebroot
        let others = webroots.filter { $0.value != shared }
        return CertificateEntry(name: name, domains: domains, webroot: shared, webroots: others,
                                keyType: keyType.rawValue == configKeyType ? nil : keyType.rawValue, reuseKey: reuseKey ? true : nil, reload: reload)
    }
}

/// An ACME account to take over: its key and URL at one CA.
public struct ImportedAccount: Sendable {
    /// The CA's directory URL.
    public let directoryURL: String
    /// The account URL (RFC 8555 §7.3, the `Location` of its registration).
    public let url: String
    /// Its contact URLs, when the client kept them.
    public let contact: [String]
    /// The account key (RFC 8555 §6.2): the same key keeps the same account.
    public let key: PrivateKey
    /// The files it was read from.
    public let origin: String

    public init(directoryURL: String, url: String, contact: [String], key: PrivateKey, origin: String) {
        self.directoryURL = directoryURL
        self.url = url
        self.contact = contact
        self.key = key
        self.origin = origin
    }
}

/// A certificate an import leaves where it is, and why.
public struct SkippedCertificate: Sendable, Equatable {
    /// Its name in the old client.
    public let name: String
    /// The names it covers, when they could be read.
    public let domains: [String]
    /// Why it is not taken over.
    public let reason: String
    /// What to do about it (a webroot to pass, a command), when there is something.
    public let suggestion: String?

    public init(name: String, domains: [String], reason: String, suggestion: String? = nil) {
        self.name = name
        self.domains = domains
        self.reason = reason
        self.suggestion = suggestion
    }
}

/// `--webroot` as given to an import: one path for every certificate that needs one, or `NAME=PATH` for one.
public struct ImportWebroots: Sendable, Equatable {
    /// `--webroot PATH`: for every certificate without one.
    public var shared: String?
    /// `--webroot NAME=PATH`: for certificate NAME, over what the old client had.
    public var byName: [String: String]

    public init(shared: String? = nil, byName: [String: String] = [:]) {
        self.shared = shared
        self.byName = byName
    }

    /// Reads the `--webroot` values: `PATH` or `NAME=PATH`, each path absolute.
    public static func parse(_ values: [String]) throws(ImportError) -> ImportWebroots {
        var result = ImportWebroots()
        for value in values {
            let (name, path): (String?, String)
            if let equals = value.firstIndex(of: "="), !value.hasPrefix("/") {
                (name, path) = (String(value[..<equals]), String(value[value.index(after: equals)...]))
            } else {
                (name, path) = (nil, value)
            }
            guard ImportFiles.isPlainAbsolutePath(path) else {
                throw ImportError(file: "the command line", field: "--webroot", value: value, problem: "must be an absolute path, or NAME=/absolute/path")
            }
            if let name {
                guard result.byName[name] == nil else { throw ImportError(file: "the command line", field: "--webroot", value: value, problem: "names \(name) twice") }
                result.byName[name] = path
            } else {
                guard result.shared == nil else { throw ImportError(file: "the command line", field: "--webroot", value: value, problem: "only one --webroot without NAME= may be given") }
                result.shared = path
            }
        }
        return result
    }

    /// The webroot given for certificate `name`.
    public func webroot(for name: String) -> String? { byName[name] ?? shared }
}
