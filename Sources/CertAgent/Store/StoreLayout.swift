/// The names CertAgent itself writes in its store, directory by directory. Whatever else is found there belongs to
/// someone else: CertAgent never walks into it, changes its mode or reads it.
///
/// ```
/// <root>/.certagent-store                        the marker (StoreMarker)
/// <root>/.lock                                   StoreLock
/// <root>/daemon.pid                              the running daemon's PID (DaemonPIDFile)
/// <root>/secrets.sealed, secrets.sealed.next     the sealed secrets (and a rotation's staged copy)
/// <root>/accounts/<ca>/account.json, account-key.pem, account-key.pem.next
/// <root>/accounts/<ca>/account-key.pem.rollover(.next)  a key rollover's staged new key (and a rotation's copy of it)
/// <root>/accounts/<ca>/.account.lock               held while the account key is used to connect, rolled over or retired
/// <root>/certificates/<name>/renewal.json, notify.json, site.json, challenges.inflight, .issuing.lock
/// <root>/certificates/<name>/current, previous   links to versions/<id> (current.new, previous.new while swapped)
/// <root>/certificates/<name>/versions/<id>/      privkey.pem, csr.pem, cert.pem, chain.pem, fullchain.pem, revoked.json, issuance.json
/// <root>/certificates/<name>/versions/.staging-<id>/
/// ```
/// plus `AtomicFile`'s temporary files (`.<name>.tmp-…`) beside any of those files, and the master key file (and its
/// `.next`) when the config places it directly in the store.
public enum StoreLayout {
    /// A directory of the layout, by what it holds.
    public enum Level: Sendable, Equatable {
        case root, accounts, account, certificates, certificate, versions, version
    }

    /// What one entry of a layout directory is meant to be.
    public enum Entry: Sendable, Equatable {
        /// A directory of the layout.
        case directory(Level)
        /// A regular file.
        case file
        /// `current` / `previous` (and their `.new` while being swapped): a link to `versions/<id>`.
        case versionLink
        /// An `AtomicFile` temporary of one of this directory's files.
        case temporary
        /// A directory CertAgent does not own but leaves alone without a word (`lost+found` of a dedicated file system).
        case tolerated
    }

    /// The marker's file name.
    public static let markerName = ".certagent-store"
    static let accounts = "accounts"
    static let certificates = "certificates"
    static let versions = "versions"
    static let stagingPrefix = ".staging-"

    /// The running daemon's PID file in the store's root (`DaemonPIDFile`).
    static let daemonPIDFile = "daemon.pid"
    /// The sealed secrets' file name in the store's root (`SecretsFile`).
    static let secretsFile = "secrets.sealed"
    /// The journal of published challenge files in a certificate's directory (`ChallengeJournal`).
    static let challengeJournalFile = "challenges.inflight"
    /// The lock every issuance of a certificate holds, in its directory (`lockForIssuance`).
    static let issuanceLockFile = ".issuing.lock"
    /// How a version was obtained, in its directory (`IssuanceFacts`).
    static let issuanceFactsFile = "issuance.json"
    /// The note beside a revoked version (`RevocationNote`).
    static let revocationNoteFile = "revoked.json"

    static let rootFiles: Set<String> = [markerName, StoreLock.fileName, DaemonPIDFile.fileName, secretsFile, secretsFile + ".next"]
    /// The account record's file name in each CA's account directory (`AccountRecord`).
    public static let accountRecordFile = "account.json"
    /// The account key's file name in each CA's account directory (`AccountKeyFile`).
    public static let accountKeyFile = "account-key.pem"
    /// The new account key a rollover stages (sealed) before asking the CA to switch (`AccountRollover`).
    public static let accountRolloverKeyFile = "account-key.pem.rollover"
    /// The lock of one CA's account directory (`AccountManager.lock()`).
    public static let accountLockFile = ".account.lock"
    static let accountFiles: Set<String> = [accountRecordFile, accountKeyFile, accountKeyFile + ".next",
                                            accountRolloverKeyFile, accountRolloverKeyFile + ".next", accountLockFile]
    static let certificateFiles: Set<String> = Set(CertificateDocumentKind.allCases.map(\.fileName)).union([challengeJournalFile, issuanceLockFile])
    /// The links of a certificate directory.
    public static let versionLinks: Set<String> = ["current", "previous", "current.new", "previous.new"]
    static let versionFiles: Set<String> = ["privkey.pem", "csr.pem", "cert.pem", "chain.pem", "fullchain.pem", revocationNoteFile, issuanceFactsFile]

    /// What `name` is in a directory of `level`, or nil when it is not CertAgent's. `extraRootFiles` names more files
    /// of the store's root (the master key file, when the config puts it there).
    public static func entry(_ name: String, in level: Level, extraRootFiles: Set<String> = []) -> Entry? {
        let files: Set<String>
        switch level {
        case .root:
            if name == accounts { return .directory(.accounts) }
            if name == certificates { return .directory(.certificates) }
            if name == "lost+found" { return .tolerated }
            files = rootFiles.union(extraRootFiles)
        case .accounts:
            return isPlainName(name) ? .directory(.account) : nil
        case .certificates:
            return isPlainName(name) ? .directory(.certificate) : nil
        case .account:
            files = accountFiles
        case .certificate:
            if name == versions { return .directory(.versions) }
            if versionLinks.contains(name) { return .versionLink }
            files = certificateFiles
        case .versions:
            return isPlainName(name) || (name.hasPrefix(stagingPrefix) && isPlainName(String(name.dropFirst(stagingPrefix.count))))
                ? .directory(.version) : nil
        case .version:
            files = versionFiles
        }
        if files.contains(name) { return .file }
        if let target = AtomicFile.temporaryTarget(name), files.contains(target) { return .temporary }
        return nil
    }

    /// A name CertAgent makes for an account, certificate or version directory: A–Z a–z 0–9 `.` `_` `-`, not starting
    /// with `.` (so never `.` or `..`).
    static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 255 && !name.hasPrefix(".")
            && name.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a") ... UInt8(ascii: "z"), UInt8(ascii: "A") ... UInt8(ascii: "Z"), UInt8(ascii: "0") ... UInt8(ascii: "9"),
                     UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"): true
                default: false
                }
            }
    }
}
