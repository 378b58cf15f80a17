import ACME
import CertCrypto
import FoundationEssentials
import Logging

/// What CertAgent remembers about its ACME account at one CA (`account.json`). Fields added after the first version
/// are optional, so an older record still reads.
public struct AccountRecord: Codable, Sendable, Equatable {
    public var url: String
    public var directoryURL: String
    public var contact: [String]
    /// When this account was registered or first found (reset when the store moves to a new account).
    public var createdAt: Date
    /// The account key's type (`KeyType` raw value: `ec256`, …), as of the last connection.
    public var keyType: String?
    /// The account key's RFC 7638 JWK thumbprint, as of the last connection.
    public var keyThumbprint: String?
    /// When the key was last rolled over (RFC 8555 §7.3.5).
    public var keyRolledOverAt: Date?
    /// Set while a deactivation is asked of the CA: a crash before the answer is resolved at the next connection.
    public var deactivationRequestedAt: Date?
    /// When the CA confirmed the deactivation (RFC 8555 §7.3.6); the key is gone and the next connection registers
    /// a new account.
    public var deactivatedAt: Date?

    public init(url: String, directoryURL: String, contact: [String], createdAt: Date, keyType: String? = nil,
                keyThumbprint: String? = nil, keyRolledOverAt: Date? = nil, deactivationRequestedAt: Date? = nil,
                deactivatedAt: Date? = nil) {
        self.url = url
        self.directoryURL = directoryURL
        self.contact = contact
        self.createdAt = createdAt
        self.keyType = keyType
        self.keyThumbprint = keyThumbprint
        self.keyRolledOverAt = keyRolledOverAt
        self.deactivationRequestedAt = deactivationRequestedAt
        self.deactivatedAt = deactivatedAt
    }
}

/// Errors in setting up the ACME account.
public enum AccountError: Error, Sendable, CustomStringConvertible {
    case termsNotAccepted(termsURL: String, configFile: String)

    public var description: String {
        switch self {
        case .termsNotAccepted(let terms, let file):
            "the CA asks you to agree to its terms of service (\(UntrustedText.display(terms, limit: 300))): read them, then set \"acceptTermsOfService\": true in \(file)"
        }
    }
}

/// Loads or creates the account key and registers (or finds) the account at the CA (RFC 8555 §7.3).
/// The account's later life (show, update, rollover, deactivate) is in `AccountLifecycle`, `AccountRollover` and
/// `AccountDeactivation`.
public struct AccountManager: Sendable {
    /// The account key's file name in each CA's account directory.
    public static let keyFileName = StoreLayout.accountKeyFile

    public let store: CertificateStore
    public let config: AgentConfig
    public let secrets: AgentSecrets
    public let keyFile: String
    /// Where a rollover stages the new key (sealed) until the CA confirms the change.
    public let rolloverKeyFile: String

    public init(store: CertificateStore, config: AgentConfig, secrets: AgentSecrets) {
        self.store = store
        self.config = config
        self.secrets = secrets
        keyFile = store.keys.accountKey(directoryURL: config.directoryURL)
        rolloverKeyFile = store.keys.accountRolloverKey(directoryURL: config.directoryURL)
    }

    /// The contact URLs the config asks for (`mailto:` each `email`).
    public var configuredContact: [String] { config.emails.map { "mailto:" + $0 } }

    /// True when an account key exists in the store (an account may exist at the CA).
    public var hasKey: Bool { FileManager.default.fileExists(atPath: keyFile) }

    /// Takes the account directory's lock (exclusive, waiting for another holder), held while the account is rolled
    /// over, retired, shown or updated, and while a crashed change is resolved — so that no process resolves a
    /// "crashed" rollover that another one is in the middle of. Hold it for the operation; never take it twice in one
    /// call chain (a second `flock` in the same process waits too). A plain connection does not take it: it only
    /// refuses to register a key that changed under it (see `connect`).
    public func lock() throws -> FileLock {
        try AtomicFile.makeDirectory(store.keys.account(directoryURL: config.directoryURL))
        let path = store.keys.accountLock(directoryURL: config.directoryURL)
        do {
            return try FileLock(path: path, mode: .exclusive, wait: true)
        } catch {
            throw FileSystemError("lock", path: path, reason: "\(error)")
        }
    }

    /// Which file the account key is now (device, inode, change time), nil when there is none: a connection made with
    /// an older stamp signs with a key that was rolled over or retired since.
    public func keyStamp() -> AccountKeyStamp? { AccountKeyStamp(path: keyFile) }

    /// The account key, created (EC P-256) on first use and stored as PKCS#8 encrypted under the master key.
    public func accountKey(logger: Logger) throws -> PrivateKey {
        if FileManager.default.fileExists(atPath: keyFile) {
            return try AccountKeyFile.read(keyFile, masterKey: secrets.masterKey)
        }
        logger.info("creating a new ACME account key", metadata: ["file": "\(keyFile)"])
        let key = try PrivateKey.generate(.ec256)
        try AtomicFile.makeDirectory(PathText.parent(keyFile))
        try AccountKeyFile.write(key, to: keyFile, masterKey: secrets.masterKey)
        return key
    }

    /// The external account binding signer, when the config asks for one (RFC 8555 §7.3.4).
    func externalAccountBinding() throws -> ExternalAccountBindingSigner? {
        guard let binding = config.externalAccountBinding else { return nil }
        var value = try secrets.secrets.value(named: binding.hmacKeySecret)
        defer { SecureMemory.cleanse(&value) }
        return try ExternalAccountBindingSigner(keyID: binding.keyID, encodedKey: String(decoding: value, as: UTF8.self))
    }

    /// An ACME client signed with the account key and bound to the account, registering it when the CA does not know it.
    /// `key` is the account key when the caller already loaded it (`accountKey(logger:)`); without it, an interrupted
    /// rollover or deactivation is resolved first (`resolvePendingChange`). A contact changed in the config since
    /// the last connection is pushed to the CA (RFC 8555 §7.3.2) and logged.
    public func connect(transport: any HTTPTransport, clock: any ACMEClock = SystemACMEClock(), key: PrivateKey? = nil,
                        logger: Logger) throws -> ACMEClient {
        if key == nil { try resolvePendingChange(transport: transport, clock: clock, logger: logger) }
        let key = try key ?? accountKey(logger: logger)
        let signer = try AccountKeySigner(key: key)
        let client = ACMEClient(directoryURL: config.directoryURL, transport: transport, signer: signer, clock: clock)
        let contact = configuredContact
        let previous = record()
        let found: ACMEAccount?
        do {
            found = try client.lookUpAccount()
        } catch let error as ACMEError where Self.refusesAsNotValid(error) {
            throw AccountLifecycleError.unusable(url: previous?.url ?? "of this key", status: "deactivated or revoked (\(error))")
        }
        if let found, found.status != "valid" { throw AccountLifecycleError.unusable(url: found.url, status: found.status) }
        if let existing = found {
            logger.debug("using the existing ACME account", metadata: ["account": "\(existing.url)"])
            // The stored record says what was last sent. An account found without one is only recorded: some CAs no
            // longer return (or keep) contacts, so their answer cannot tell a change (`account update` sends it anyway).
            let known = previous?.url == existing.url ? previous?.contact : nil
            var saved = contact
            if let known, known != contact {
                do {
                    _ = try client.updateAccount(contact: contact)
                    logger.notice("sent the changed contact to the CA", metadata: [
                        "account": "\(existing.url)", "contact": "\(contact.isEmpty ? "none" : contact.joined(separator: ", "))"])
                } catch {
                    saved = known   // tried again at the next connection
                    logger.warning("the CA did not take the changed contact; it is sent again at the next connection",
                                   metadata: ["account": "\(existing.url)", "error": "\(error)"])
                }
            }
            try saveRecord(url: existing.url, contact: saved, signer: signer, key: key)
            return client
        }
        // A rollover or deactivation in another process may have replaced the key since it was loaded: registering the
        // old key now would make a second account (with a key meant to be retired).
        guard !FileManager.default.fileExists(atPath: rolloverKeyFile),
              let current = try? AccountKeyFile.read(keyFile, masterKey: secrets.masterKey),
              (try? AccountKeySigner(key: current))?.thumbprint == signer.thumbprint else {
            throw AccountLifecycleError.keyChangedMeanwhile(keyFile: keyFile)
        }
        if let terms = try client.directory().meta?.termsOfService, !config.acceptTermsOfService {
            throw AccountError.termsNotAccepted(termsURL: terms, configFile: config.sourcePath)
        }
        let account = try client.newAccount(contact: contact, termsOfServiceAgreed: config.acceptTermsOfService,
                                            externalAccountBinding: try externalAccountBinding())
        logger.info("registered a new ACME account", metadata: ["account": "\(account.url)"])
        try saveRecord(url: account.url, contact: contact, signer: signer, key: key)
        return client
    }

    /// The stored account record, nil when there is none (or it does not read). Never read through a link: a link in
    /// place of the record is refused here and replaced by the next write.
    public func record() -> AccountRecord? {
        store.accountRecord(directoryURL: config.directoryURL)
    }

    /// Writes `record` atomically (mode 0600).
    func write(_ record: AccountRecord) throws {
        try store.saveAccountRecord(record, directoryURL: config.directoryURL)
    }

    /// Records the account at `url` with `contact` and the key now in use. A different URL is a new account: its
    /// creation time is now and nothing of the previous account's life is carried over.
    private func saveRecord(url: String, contact: [String], signer: AccountKeySigner, key: PrivateKey) throws {
        let previous = record()
        var record = previous?.url == url ? previous! : AccountRecord(url: url, directoryURL: config.directoryURL, contact: contact, createdAt: Date())
        record.contact = contact
        record.directoryURL = config.directoryURL
        record.keyType = key.type.rawValue
        record.keyThumbprint = signer.thumbprint
        record.deactivationRequestedAt = nil
        record.deactivatedAt = nil
        guard record != previous else { return }
        try write(record)
    }
}
