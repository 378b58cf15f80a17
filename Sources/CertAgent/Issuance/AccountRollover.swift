import ACME
import CertCrypto
import FoundationEssentials
import Logging

/// The durable steps of an account key rollover, in order; a test hook runs after each (a throw there stands in for
/// a crash at that point).
public enum AccountRolloverStep: String, Sendable, CaseIterable {
    /// The new key is sealed under the master key in `account-key.pem.rollover`; the CA has not been asked yet.
    case newKeyStaged
    /// The CA answered the keyChange request: the account now answers only to the new key.
    case changedAtCA
    /// The staged key replaced `account-key.pem`; the record is not updated yet.
    case keyReplaced
}

/// What a finished rollover did.
public struct AccountRolloverResult: Sendable, Equatable {
    public let accountURL: String
    public let oldThumbprint: String
    public let newThumbprint: String
    public let keyType: KeyType
}

extension AccountManager {
    /// Rolls the account over to a new key of `keyType` (the current key's type when nil), RFC 8555 §7.3.5, so that a
    /// crash at any point leaves an account that works with one of the two keys:
    /// 1. the new key is sealed and written to `account-key.pem.rollover` (the old key stays in `account-key.pem`);
    /// 2. the CA is asked to switch (keyChange, signed by both keys);
    /// 3. once it confirmed, the staged key is renamed over the old one;
    /// 4. the record notes the new key.
    /// A staged key found later is resolved by `resolveInterruptedRollover` (every connection does it first).
    /// The CA refusing the change (e.g. the new key already belongs to another account) discards the staged key.
    public func rollover(to keyType: KeyType? = nil, transport: any HTTPTransport, clock: any ACMEClock = SystemACMEClock(),
                         logger: Logger, afterStep: (AccountRolloverStep) throws -> Void = { _ in }) throws -> AccountRolloverResult {
        let lock = try self.lock()
        defer { withExtendedLifetime(lock) {} }
        try resolveInterruptedChange(transport: transport, clock: clock, logger: logger)
        guard hasKey else { throw AccountLifecycleError.noAccount(directoryURL: config.directoryURL) }
        let oldKey = try accountKey(logger: logger)
        let oldSigner = try AccountKeySigner(key: oldKey)
        let client = ACMEClient(directoryURL: config.directoryURL, transport: transport, signer: oldSigner, clock: clock)
        guard let account = try client.lookUpAccount() else { throw AccountLifecycleError.noAccount(directoryURL: config.directoryURL) }
        guard account.status == "valid" else { throw AccountLifecycleError.unusable(url: account.url, status: account.status) }

        let newKey = try PrivateKey.generate(keyType ?? oldKey.type)
        let newSigner = try AccountKeySigner(key: newKey)
        try AccountKeyFile.write(newKey, to: rolloverKeyFile, masterKey: secrets.masterKey)
        logger.info("staged the new account key", metadata: ["file": "\(rolloverKeyFile)", "thumbprint": "\(newSigner.thumbprint)"])
        try afterStep(.newKeyStaged)

        do {
            try client.changeKey(to: newSigner)
        } catch let error as ACMEError {
            // The CA answered and said no: it still knows only the old key, so the staged one is of no use.
            if case .problem = error { try SystemRotationFileOperations().remove(rolloverKeyFile) }
            throw error
        }
        // Any other failure (no answer): the staged key stays, and the next connection finds out which key the CA has.
        try afterStep(.changedAtCA)

        try SystemRotationFileOperations().rename(rolloverKeyFile, to: keyFile)
        try afterStep(.keyReplaced)
        try noteKey(newKey, signer: newSigner, url: account.url, rolledOverAt: clock.now())
        logger.notice("rolled the account key over", metadata: [
            "account": "\(account.url)", "old": "\(oldSigner.thumbprint)", "new": "\(newSigner.thumbprint)"])
        return AccountRolloverResult(accountURL: account.url, oldThumbprint: oldSigner.thumbprint,
                                     newThumbprint: newSigner.thumbprint, keyType: newKey.type)
    }

    /// Finishes or undoes a rollover a crash interrupted, when a staged key is found: the CA still knowing the old
    /// key means it never switched (the staged key is removed); the CA knowing only the staged key means it did (the
    /// staged key replaces the old one; so it does when the CA knows neither). Returns a line for the log, nil when nothing was staged.
    func resolveInterruptedRollover(transport: any HTTPTransport, clock: any ACMEClock, logger: Logger) throws -> String? {
        guard FileManager.default.fileExists(atPath: rolloverKeyFile) else { return nil }
        let files = SystemRotationFileOperations()
        let stagedKey: PrivateKey
        do {
            stagedKey = try AccountKeyFile.read(rolloverKeyFile, masterKey: secrets.masterKey)
        } catch {
            // A staged key that does not open was never sent: the write is atomic and comes before the request.
            try files.remove(rolloverKeyFile)
            return "removed \(rolloverKeyFile), a staged account key that does not open (\(error)); the account keeps its key"
        }
        if hasKey {
            let oldKey = try AccountKeyFile.read(keyFile, masterKey: secrets.masterKey)
            let oldClient = ACMEClient(directoryURL: config.directoryURL, transport: transport, signer: try AccountKeySigner(key: oldKey), clock: clock)
            if let account = try oldClient.lookUpAccount() {
                try files.remove(rolloverKeyFile)
                return "an account key rollover was interrupted before the CA switched keys: undone, the account \(account.url) "
                    + "keeps its key; run `certagent account rollover` again"
            }
        }
        let stagedSigner = try AccountKeySigner(key: stagedKey)
        let stagedClient = ACMEClient(directoryURL: config.directoryURL, transport: transport, signer: stagedSigner, clock: clock)
        guard let account = try stagedClient.lookUpAccount() else {
            // The CA knows neither key (it lost its accounts, or the account was never registered): the new key is
            // kept, as the rollover meant to, and the connection registers a new account with it.
            try files.rename(rolloverKeyFile, to: keyFile)
            return "an account key rollover was interrupted and the CA knows neither key: the new key (\(stagedSigner.thumbprint)) "
                + "is kept in \(keyFile) and a new account is registered with it"
        }
        try files.rename(rolloverKeyFile, to: keyFile)
        try noteKey(stagedKey, signer: stagedSigner, url: account.url, rolledOverAt: clock.now())
        return "finished an interrupted account key rollover: the CA had switched the account \(account.url) to the new key "
            + "(\(stagedSigner.thumbprint)), now in \(keyFile)"
    }

    /// Records the key now in use for the account at `url`.
    private func noteKey(_ key: PrivateKey, signer: AccountKeySigner, url: String, rolledOverAt: Date) throws {
        var record = record().flatMap { $0.url == url ? $0 : nil }
            ?? AccountRecord(url: url, directoryURL: config.directoryURL, contact: configuredContact, createdAt: rolledOverAt)
        record.keyType = key.type.rawValue
        record.keyThumbprint = signer.thumbprint
        record.keyRolledOverAt = rolledOverAt
        try write(record)
    }
}
