import CertCrypto
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// One stored version of a certificate, as checked for serving again.
public struct VersionCheck: Sendable {
    /// Its directory's name in `versions/` (the UTC time it was staged, then random letters: newer sorts later).
    public let version: String
    /// The checks `RollbackCheck` makes: usable, or why not.
    public let outcome: Result<RollbackCandidate, RollbackRefusal>

    public init(version: String, outcome: Result<RollbackCandidate, RollbackRefusal>) {
        self.version = version
        self.outcome = outcome
    }
}

/// A version chosen to be linked as `current` again.
public struct RelinkChoice: Sendable {
    public let version: String
    public let candidate: RollbackCandidate

    /// What the log, `check` and `status` say about it.
    public var description: String {
        "\(version) (certificate \(candidate.leaf.serialHex), valid until \(CertificateStatus.format(candidate.leaf.notAfter)))"
    }
}

/// A `current` link that has gone (deleted by hand, or lost) while a verified, still-valid version is on disk: that
/// version is linked again instead of ordering a new certificate (which would spend the CA's rate limits for nothing).
///
/// Only a *missing* link is recovered; a `current` that is something else (a link elsewhere, a file) is never touched
/// here. The version chosen is the newest that passes every check a rollback makes (`RollbackCheck`: its key matches,
/// its chain verifies, it covers exactly the configured names, it is valid now, not known to be revoked, and not past
/// its latest safe renewal time). The link is written by the store's atomic link swap; the caller holds the
/// certificate's issuance lock, so no issuance commits meanwhile.
public enum CurrentLinkRecovery {
    /// Pure: the newest usable version among `checks`, or nil when none is usable.
    public static func choose(_ checks: [VersionCheck]) -> RelinkChoice? {
        checks.sorted { $0.version > $1.version }.lazy.compactMap { check in
            if case .success(let candidate) = check.outcome { RelinkChoice(version: check.version, candidate: candidate) } else { nil }
        }.first
    }

    /// The version that would be linked as `current` of `certificate` at `now`, when its `current` link is missing and one
    /// is usable; nil otherwise. Reads only (for `check` and `status`).
    public static func candidate(for certificate: CertificateConfig, in store: CertificateStore, now: Date,
                                 rule: LifetimeRenewalRule = LifetimeRenewalRule()) -> RelinkChoice? {
        guard store.currentLinkIsMissing(certificate.name) else { return nil }
        return choose(store.versionNames(certificate.name).map { check($0, of: certificate, in: store, now: now, rule: rule) })
    }

    /// Links the chosen version as `current` when the link is missing and a version is usable; returns it, or nil when
    /// nothing was changed. Call while holding the certificate's issuance lock.
    public static func relinkIfMissing(_ certificate: CertificateConfig, in store: CertificateStore, now: Date,
                                       rule: LifetimeRenewalRule = LifetimeRenewalRule()) throws -> RelinkChoice? {
        guard let choice = candidate(for: certificate, in: store, now: now, rule: rule) else { return nil }
        try store.swapLink(store.keys.link("current", of: certificate.name), to: StoreKeys.linkTarget(version: choice.version))
        return choice
    }

    /// The sentence `check` and `status` show for a certificate whose `current` link is missing but can be recovered.
    public static func note(_ choice: RelinkChoice) -> String {
        "its current link is missing, but the stored version \(choice.description) verifies: it is linked again, without a new order, "
            + "by `certagent issue` now or by the daemon when it next looks (at least daily)"
    }

    /// `RollbackCheck` of one version, its files read without following a link.
    static func check(_ version: String, of certificate: CertificateConfig, in store: CertificateStore, now: Date,
                      rule: LifetimeRenewalRule) -> VersionCheck {
        let files = CertificateFiles(directory: store.keys.version(version, of: certificate.name))
        do {
            func text(_ path: String) throws -> String {
                guard let bytes = try store.read(path) else { throw FileSystemError("read", path: path, reason: "no such file") }
                return String(decoding: bytes, as: UTF8.self)
            }
            let note = try store.read(StoreKeys.revocationNote(in: files)).flatMap { try? StoreJSON.decode(RevocationNote.self, from: $0) }
            return VersionCheck(version: version, outcome: RollbackCheck.evaluate(chainPEM: try text(files.fullChain), keyPEM: try text(files.privateKey),
                                                                                  revocation: note, domains: certificate.domains, now: now, rule: rule))
        } catch {
            return VersionCheck(version: version, outcome: .failure(.unreadable(reason: "\(error)")))
        }
    }
}

extension CertificateStore {
    /// True when certificate `name` has versions but no `current` entry at all (not even a broken link).
    func currentLinkIsMissing(_ name: String) -> Bool {
        var info = stat()
        return lstat(keys.link("current", of: name), &info) != 0 && errno == ENOENT
    }

    /// The names of the committed version directories of `name` (real directories, not links; no staging ones).
    func versionNames(_ name: String) -> [String] {
        let versions = keys.versions(name)
        return ((try? FileManager.default.contentsOfDirectory(atPath: versions)) ?? []).filter { entry in
            var info = stat()
            return StoreLayout.isPlainName(entry) && lstat(keys.version(entry, of: name), &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
        }.sorted()
    }
}
