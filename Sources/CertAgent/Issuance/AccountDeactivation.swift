import ACME
import CertCrypto
import FoundationEssentials
import Logging

/// The durable steps of a deactivation, in order; a test hook runs after each (a throw there stands in for a crash).
public enum AccountDeactivationStep: String, Sendable, CaseIterable {
    /// The record notes that a deactivation is being asked for; the CA has not been asked yet.
    case requestNoted
    /// The CA confirmed: the account is deactivated; the key is still in the store.
    case deactivatedAtCA
    /// The account key is removed; the record does not say `deactivatedAt` yet.
    case keyRemoved
}

extension AccountManager {
    /// Deactivates the account at the CA for good (RFC 8555 §7.3.6), then forgets its key: the store's record says
    /// when, and the next connection registers a new account with a new key (a CA will not take a deactivated
    /// account's key for a new one). An account the CA already reports deactivated or revoked is only forgotten.
    /// Returns the record as it stands afterwards.
    @discardableResult
    public func deactivate(transport: any HTTPTransport, clock: any ACMEClock = SystemACMEClock(), logger: Logger,
                           afterStep: (AccountDeactivationStep) throws -> Void = { _ in }) throws -> AccountRecord {
        let lock = try self.lock()
        defer { withExtendedLifetime(lock) {} }
        try resolveInterruptedChange(transport: transport, clock: clock, logger: logger)
        guard hasKey else { throw AccountLifecycleError.noAccount(directoryURL: config.directoryURL) }
        let client = ACMEClient(directoryURL: config.directoryURL, transport: transport,
                                signer: try AccountKeySigner(key: try accountKey(logger: logger)), clock: clock)
        let found: ACMEAccount?
        do {
            found = try client.lookUpAccount()
        } catch let error as ACMEError where Self.refusesAsNotValid(error) {
            return try forgetDeactivated(url: record()?.url, at: clock.now(), logger: logger)
        }
        guard let account = found else { throw AccountLifecycleError.noAccount(directoryURL: config.directoryURL) }
        if account.status != "valid" { return try forgetDeactivated(url: account.url, at: clock.now(), logger: logger) }

        var record = record().flatMap { $0.url == account.url ? $0 : nil }
            ?? AccountRecord(url: account.url, directoryURL: config.directoryURL, contact: account.contact, createdAt: clock.now())
        record.deactivationRequestedAt = clock.now()
        try write(record)
        try afterStep(.requestNoted)
        let answer = try client.deactivateAccount()
        logger.notice("the CA deactivated the account", metadata: ["account": "\(answer.url)", "status": "\(answer.status)"])
        try afterStep(.deactivatedAtCA)
        return try forgetDeactivated(url: account.url, at: clock.now(), logger: logger, afterStep: afterStep)
    }

    /// Removes the key of the deactivated account at `url`, then records the deactivation (in that order: a record
    /// saying `deactivatedAt` beside a key means the key is a new one).
    private func forgetDeactivated(url: String?, at now: Date, logger: Logger,
                                   afterStep: (AccountDeactivationStep) throws -> Void = { _ in }) throws -> AccountRecord {
        try SystemRotationFileOperations().remove(keyFile)
        try afterStep(.keyRemoved)
        var record = record() ?? AccountRecord(url: url ?? "", directoryURL: config.directoryURL, contact: [], createdAt: now)
        if let url { record.url = url }
        record.deactivationRequestedAt = nil
        record.deactivatedAt = now
        try write(record)
        logger.info("forgot the deactivated account's key", metadata: ["file": "\(keyFile)"])
        return record
    }

    /// Finishes a deactivation a crash interrupted: the record says one was asked for but not that it was confirmed.
    /// The CA still taking the key as a valid account means it never happened (the note is cleared); otherwise the
    /// key is forgotten. Returns a line for the log, nil when nothing was pending.
    func resolveInterruptedDeactivation(transport: any HTTPTransport, clock: any ACMEClock, logger: Logger) throws -> String? {
        guard var record = record(), record.deactivationRequestedAt != nil, record.deactivatedAt == nil else { return nil }
        guard hasKey else {
            // The key was already removed: only the record was left to write.
            record.deactivationRequestedAt = nil
            record.deactivatedAt = clock.now()
            try write(record)
            return "finished recording the deactivation of the account \(record.url)"
        }
        let client = ACMEClient(directoryURL: config.directoryURL, transport: transport,
                                signer: try AccountKeySigner(key: try AccountKeyFile.read(keyFile, masterKey: secrets.masterKey)), clock: clock)
        let account: ACMEAccount?
        do {
            account = try client.lookUpAccount()
        } catch let error as ACMEError where Self.refusesAsNotValid(error) {
            account = nil
        }
        if let account, account.status == "valid" {
            record.deactivationRequestedAt = nil
            try write(record)
            return "an account deactivation was interrupted before the CA took it: the account \(account.url) is still active"
        }
        _ = try forgetDeactivated(url: record.url, at: clock.now(), logger: logger)
        return "finished an interrupted account deactivation: the CA reports the account \(record.url) "
            + "\(account?.status ?? "gone"); the next issuance registers a new account"
    }

    /// True for the answer a CA gives a deactivated or revoked account's key: `unauthorized` (Boulder, Pebble for
    /// requests by `kid`).
    static func refusesAsNotValid(_ error: ACMEError) -> Bool {
        if case .problem(let problem, _, _) = error { return problem.kind == .unauthorized }
        return false
    }
}
