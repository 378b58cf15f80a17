import ACME
import CertCrypto
import FoundationEssentials
import Logging

/// Why an account command could not do what was asked.
public enum AccountLifecycleError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The store has no account key for this CA, or the CA knows no account for it.
    case noAccount(directoryURL: String)
    /// The CA reports the account deactivated or revoked.
    case unusable(url: String, status: String)
    /// The account key file changed between loading the key and registering it (another process rolled it over or
    /// retired it meanwhile).
    case keyChangedMeanwhile(keyFile: String)

    public var description: String {
        switch self {
        case .noAccount(let directory):
            "there is no account at \(directory) yet: the first `certagent issue` registers one"
        case .unusable(let url, let status):
            "the CA reports the account \(url) as \(status): it cannot be used again; `certagent account deactivate --yes` "
                + "forgets it here and the next issuance registers a new account"
        case .keyChangedMeanwhile(let keyFile):
            "the account key \(keyFile) changed while connecting (an `account rollover` or `account deactivate` ran "
                + "meanwhile): nothing was registered; the next attempt uses the new state"
        }
    }
}

/// The account as `certagent account show` reports it: the CA's view (status, contact) with the store's (key,
/// creation time). The JSON keys are a stable interface; fields that do not apply are left out.
public struct AccountOverview: Codable, Sendable, Equatable {
    /// The CA's directory URL.
    public var directory: String
    /// True when the CA knows an account for the stored key.
    public var exists: Bool
    /// The account URL (also the last known one of a deactivated account).
    public var url: String?
    /// `valid`, `deactivated` or `revoked` as the CA reports it (RFC 8555 §7.1.6); `deactivated` from the store when
    /// the account was deactivated here.
    public var status: String?
    /// The contact URLs the CA holds.
    public var contact: [String]?
    /// The contact URLs the config asks for (`email`).
    public var configuredContact: [String]
    /// The account key's type (`ec256`, …) and RFC 7638 JWK thumbprint.
    public var keyType: String?
    public var keyThumbprint: String?
    /// The sealed account key's file.
    public var keyFile: String?
    /// When the account was registered (or first found) here.
    public var createdAt: Date?
    public var keyRolledOverAt: Date?
    public var deactivatedAt: Date?
    /// What the CA answered when it refused the key (a deactivated or revoked account's).
    public var refusal: String?

    /// The overview in words, one fact a line.
    public var text: String {
        guard exists || deactivatedAt != nil else {
            guard let keyThumbprint else { return "no account at \(directory) yet: the first `certagent issue` registers one" }
            return "the CA at \(directory) knows no account for the key \(keyThumbprint) in \(keyFile ?? "the store"): "
                + "the next `certagent issue` or renewal registers one"
        }
        var lines = ["account: \(url ?? "unknown")", "CA:      \(directory)", "status:  \(status ?? "unknown")"]
        if let contact { lines.append("contact: \(contact.isEmpty ? "none" : contact.joined(separator: ", "))") }
        if contact != nil, contact != configuredContact {
            lines.append("         (the config asks for \(configuredContact.isEmpty ? "none" : configuredContact.joined(separator: ", ")): `certagent account update` sends it)")
        }
        if let keyType, let keyThumbprint { lines.append("key:     \(keyType), thumbprint \(keyThumbprint)") }
        if let keyFile { lines.append("key file: \(keyFile)") }
        if let refusal {
            lines.append("the CA refuses this key (\(refusal)): `certagent account deactivate --yes` forgets it here and the next issuance registers a new account")
        }
        if let createdAt { lines.append("created: \(TimeText.human(createdAt))") }
        if let keyRolledOverAt { lines.append("key rolled over: \(TimeText.human(keyRolledOverAt))") }
        if let deactivatedAt {
            lines.append("deactivated: \(TimeText.human(deactivatedAt)); the next issuance registers a new account")
        }
        return lines.joined(separator: "\n")
    }

    /// The overview as JSON (sorted keys, ISO 8601 times), through the store's one JSON encoder.
    public func json() throws -> String {
        String(decoding: try StoreJSON.encoder().encode(self), as: UTF8.self)
    }
}

extension AccountManager {
    /// Resolves a rollover or deactivation a crash left half done, if any, under `lock()` (waiting for a holder: when
    /// another process is in the middle of one, it is finished by the time the lock is free and nothing is left to do).
    /// Every connection calls it before loading the key; it takes no lock when nothing is pending.
    public func resolvePendingChange(transport: any HTTPTransport, clock: any ACMEClock = SystemACMEClock(), logger: Logger) throws {
        let deactivationPending = record().map { $0.deactivationRequestedAt != nil && $0.deactivatedAt == nil } ?? false
        guard deactivationPending || FileManager.default.fileExists(atPath: rolloverKeyFile) else { return }
        let lock = try self.lock()
        defer { withExtendedLifetime(lock) {} }
        try resolveInterruptedChange(transport: transport, clock: clock, logger: logger)
    }

    /// Resolves what a crash may have left half done — a staged rollover key, a deactivation asked for but not
    /// recorded — before the account key is used. Logs what it did. Call it holding `lock()`.
    func resolveInterruptedChange(transport: any HTTPTransport, clock: any ACMEClock = SystemACMEClock(), logger: Logger) throws {
        if let notice = try resolveInterruptedDeactivation(transport: transport, clock: clock, logger: logger) { logger.notice("\(notice)") }
        if let notice = try resolveInterruptedRollover(transport: transport, clock: clock, logger: logger) { logger.notice("\(notice)") }
    }

    /// The account as the CA and the store know it. Never creates a key or registers an account: without a key it
    /// reports what the store remembers (a deactivated account) or that there is none.
    public func overview(transport: any HTTPTransport, clock: any ACMEClock = SystemACMEClock(), logger: Logger) throws -> AccountOverview {
        let lock = try self.lock()
        defer { withExtendedLifetime(lock) {} }
        try resolveInterruptedChange(transport: transport, clock: clock, logger: logger)
        let record = record()
        var overview = AccountOverview(directory: config.directoryURL, exists: false, configuredContact: configuredContact)
        guard hasKey else {
            if let record, let deactivatedAt = record.deactivatedAt {
                overview.url = record.url
                overview.status = "deactivated"
                overview.createdAt = record.createdAt
                overview.keyRolledOverAt = record.keyRolledOverAt
                overview.deactivatedAt = deactivatedAt
            }
            return overview
        }
        let key = try AccountKeyFile.read(keyFile, masterKey: secrets.masterKey)
        let signer = try AccountKeySigner(key: key)
        overview.keyType = key.type.rawValue
        overview.keyThumbprint = signer.thumbprint
        overview.keyFile = keyFile
        let client = ACMEClient(directoryURL: config.directoryURL, transport: transport, signer: signer, clock: clock)
        let found: ACMEAccount?
        do {
            found = try client.lookUpAccount()
        } catch let error as ACMEError where Self.refusesAsNotValid(error) {
            // The CA refuses the key as a deactivated or revoked account's.
            overview.exists = true
            overview.url = record?.url
            let detail = "\(error)"
            overview.status = detail.contains("revoked") ? "revoked" : "deactivated"
            overview.refusal = detail
            return overview
        }
        guard let found else { return overview }
        // POST-as-GET to the account URL: the CA's current object (a valid account only; others are refused).
        let account = found.status == "valid" ? try client.fetchAccount() : found
        overview.exists = true
        overview.url = account.url
        overview.status = account.status
        overview.contact = account.contact
        if let record, record.url == account.url {
            overview.createdAt = record.createdAt
            overview.keyRolledOverAt = record.keyRolledOverAt
        }
        return overview
    }

    /// Sends the config's contact (`email`) to the CA (RFC 8555 §7.3.2) and records it; returns the account as the CA
    /// answered. The config is the source of truth: an empty `email` removes every contact.
    public func updateContact(transport: any HTTPTransport, clock: any ACMEClock = SystemACMEClock(), logger: Logger) throws -> ACMEAccount {
        let lock = try self.lock()
        defer { withExtendedLifetime(lock) {} }
        try resolveInterruptedChange(transport: transport, clock: clock, logger: logger)
        guard hasKey else { throw AccountLifecycleError.noAccount(directoryURL: config.directoryURL) }
        let key = try accountKey(logger: logger)
        let client = ACMEClient(directoryURL: config.directoryURL, transport: transport, signer: try AccountKeySigner(key: key), clock: clock)
        guard let found = try client.lookUpAccount() else { throw AccountLifecycleError.noAccount(directoryURL: config.directoryURL) }
        guard found.status == "valid" else { throw AccountLifecycleError.unusable(url: found.url, status: found.status) }
        let account = try client.updateAccount(contact: configuredContact)
        var record = record().flatMap { $0.url == found.url ? $0 : nil }
            ?? AccountRecord(url: found.url, directoryURL: config.directoryURL, contact: [], createdAt: clock.now())
        record.contact = configuredContact
        try write(record)
        logger.info("sent the contact to the CA", metadata: ["account": "\(account.url)"])
        return account
    }
}
