import CertCrypto
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// What a rollback did.
public struct RollbackReport: Sendable {
    /// The certificate that is current now (the one that was `previous`).
    public let current: Certificate
    /// The certificate it replaced, now kept as `previous` (a second rollback brings it back), if there was a readable one.
    public let replaced: Certificate?
    /// When the restored certificate falls due for renewal (`RollbackCandidate`).
    public let renewalFrom: Date
    /// By when it is renewed at the latest without renewal information.
    public let renewalBy: Date
    /// True when it was already inside its renewal period: the daemon may replace it at any moment.
    public let isDue: Bool
    /// What its `install` block did, when it has one and it succeeded.
    public let install: InstallReport?
    /// Why deployment failed (it is retried like any failed deployment), if it did.
    public let deployError: String?
}

/// `certagent rollback`: makes the version kept as `previous` current again.
///
/// Under the certificate's issuance lock (so no issuance commits meanwhile), the previous version is read without
/// following links and checked (`RollbackCheck`); then `current` is pointed at it and `previous` at the version that was
/// current, each by the store's atomic link swap — so a second rollback undoes the first, and nothing is deleted (a
/// crash between the two swaps leaves both links on the restored version; the other stays on disk until the next
/// issuance prunes it). The renewal record forgets the time and renewal information drawn for the other certificate,
/// so the policy plans this one from its own lifetime (or the CA's renewal information for it): it is not renewed away
/// at once unless it is already due, which `RollbackReport.isDue` says. Its failure history stays, so the backoff still
/// protects the CA. Then its `install` block deploys it and runs its reload when a file changed.
public enum CertificateRollback {
    /// Rolls `certificate` back in `store` at `now`; throws `RollbackRefusal` (nothing changed) when the previous version
    /// is missing or fails a check, `CertificateBusy` while an issuance holds its lock.
    public static func rollBack(_ certificate: CertificateConfig, in store: CertificateStore, now: Date,
                                rule: LifetimeRenewalRule = LifetimeRenewalRule()) throws -> RollbackReport {
        let name = certificate.name
        let lock = try store.lockForIssuance(name)
        defer { withExtendedLifetime(lock) {} }
        let previous: CertificateFiles
        do {
            guard let found = try store.linkedVersion(name, link: "previous") else { throw RollbackRefusal.noPrevious(name: name) }
            previous = found
        } catch let refusal as RollbackRefusal {
            throw refusal
        } catch {
            throw RollbackRefusal.unreadable(reason: "\(error)")
        }
        let candidate: RollbackCandidate
        do {
            func text(_ path: String) throws -> String {
                guard let bytes = try store.read(path) else { throw FileSystemError("read", path: path, reason: "no such file") }
                return String(decoding: bytes, as: UTF8.self)
            }
            let note = try store.read(StoreKeys.revocationNote(in: previous)).flatMap { try? StoreJSON.decode(RevocationNote.self, from: $0) }
            let result = RollbackCheck.evaluate(chainPEM: try text(previous.fullChain), keyPEM: try text(previous.privateKey),
                                                revocation: note, domains: certificate.domains, now: now, rule: rule)
            candidate = try result.get()
        } catch let refusal as RollbackRefusal {
            throw refusal
        } catch {
            throw RollbackRefusal.unreadable(reason: "\(error)")
        }
        let replaced = (try? store.linkedVersion(name)).flatMap { $0 }.flatMap { try? StoredCertificateState.readLeaf($0) }
        try store.swapCurrentAndPrevious(name)

        let records = RenewalRecordStore(store: store)
        var record = records.load(name).record
        record.recordRollback()
        var install: InstallReport?
        var deployError: String?
        if let config = certificate.install, let files = store.currentFiles(name) {
            do {
                install = try CertificateInstaller.install(files: files, config: config, name: name, domains: certificate.domains)
            } catch {
                deployError = "\(error)"
                record.deployError = deployError
                record.nextDeployAttempt = now.addingTimeInterval(RenewalService.deployRetryDelay)
            }
        }
        try records.save(record, for: name)
        return RollbackReport(current: candidate.leaf, replaced: replaced, renewalFrom: candidate.renewalFrom, renewalBy: candidate.renewalBy,
                              isDue: candidate.isDue(at: now), install: install, deployError: deployError)
    }
}

extension CertificateStore {
    /// Points `current` at the version `previous` points at and `previous` at the one `current` pointed at (each by an
    /// atomic link swap; `current` first). Without a current version, `previous` is removed.
    func swapCurrentAndPrevious(_ name: String) throws {
        guard let previous = try linkedVersion(name, link: "previous") else { throw RollbackRefusal.noPrevious(name: name) }
        let restored = PathText.lastComponent(previous.directory)
        let replaced = (try? linkedVersion(name)).flatMap { $0 }.map { PathText.lastComponent($0.directory) }
        try swapLink(keys.link("current", of: name), to: StoreKeys.linkTarget(version: restored))
        if let replaced, replaced != restored {
            try swapLink(keys.link("previous", of: name), to: StoreKeys.linkTarget(version: replaced))
        } else {
            unlink(keys.link("previous", of: name))
            AtomicFile.syncDirectory(keys.certificate(name))
        }
    }
}

extension RenewalRecord {
    /// Notes that an older certificate was made current again: the renewal time and renewal information drawn for the
    /// one it replaced are forgotten (the policy draws again for this one), and so is a deployment error of that one.
    /// Failures and their time stay, so retries keep backing off.
    public mutating func recordRollback() {
        chosenRenewalTime = nil
        chosenForSerial = nil
        chosenFromWindow = nil
        ariCertificateID = nil
        ariWindow = nil
        ariExplanationURL = nil
        ariFetched = nil
        nextARICheck = nil
        deployError = nil
        nextDeployAttempt = nil
    }
}
