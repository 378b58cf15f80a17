import FoundationEssentials

/// The one place that knows where each thing lives in the local store: every path under the store's root is built
/// here (the names themselves are `StoreLayout`'s). As in certmagic's KeyBuilder, the rest of CertAgent asks the store
/// for a thing by what it is — a certificate's renewal record, an account's key, the daemon's PID file — and never
/// joins a path below the root itself; a second backend keeps its own keys behind `CertificateStorage`.
///
/// ```
/// <root>/.certagent-store, .lock, daemon.pid, secrets.sealed
/// <root>/accounts/<ca>/account.json, account-key.pem, account-key.pem.rollover, .account.lock
/// <root>/certificates/<name>/renewal.json, notify.json, site.json, challenges.inflight, .issuing.lock
/// <root>/certificates/<name>/current, previous -> versions/<id>
/// <root>/certificates/<name>/versions/<id>/ (CertificateFiles, issuance.json, revoked.json)
/// ```
public struct StoreKeys: Sendable, Equatable {
    /// The store's root directory.
    public let root: String

    public init(root: String) { self.root = root }

    // MARK: The root

    /// The marker that says the directory is CertAgent's (`StoreMarker`).
    public var marker: String { root + "/" + StoreLayout.markerName }
    /// The store-wide lock file (`StoreLock`).
    public var storeLock: String { root + "/" + StoreLock.fileName }
    /// The running daemon's PID file (`DaemonPIDFile`).
    public var daemonPID: String { root + "/" + DaemonPIDFile.fileName }
    /// The sealed secrets (`SecretsFile`).
    public var secrets: String { root + "/" + StoreLayout.secretsFile }

    // MARK: Accounts

    /// The directory holding one directory per CA account.
    public var accounts: String { root + "/" + StoreLayout.accounts }

    /// The directory for the account at the CA whose directory URL is `directoryURL` (one account per CA).
    public func account(directoryURL: String) -> String { accounts + "/" + Self.accountDirectoryName(directoryURL) }
    /// The account record (`AccountRecord`) of the CA at `directoryURL`.
    public func accountRecord(directoryURL: String) -> String { account(directoryURL: directoryURL) + "/" + StoreLayout.accountRecordFile }
    /// The account key (sealed) of the CA at `directoryURL`.
    public func accountKey(directoryURL: String) -> String { account(directoryURL: directoryURL) + "/" + StoreLayout.accountKeyFile }
    /// The new key a rollover stages (sealed) for the CA at `directoryURL`.
    public func accountRolloverKey(directoryURL: String) -> String { account(directoryURL: directoryURL) + "/" + StoreLayout.accountRolloverKeyFile }
    /// The lock of the account directory of the CA at `directoryURL`.
    public func accountLock(directoryURL: String) -> String { account(directoryURL: directoryURL) + "/" + StoreLayout.accountLockFile }

    /// The account key and a rollover's staged key in the account directory named `directoryName` (an entry of
    /// `accounts`), whether or not they exist.
    func accountKeys(inDirectoryNamed directoryName: String) -> [String] {
        [StoreLayout.accountKeyFile, StoreLayout.accountRolloverKeyFile].map { accounts + "/" + directoryName + "/" + $0 }
    }

    /// The account directory's name for a CA directory URL: host, port and path joined with `_`, every character other
    /// than A–Z a–z 0–9 `.` `-` `_` replaced by `_`.
    static func accountDirectoryName(_ directoryURL: String) -> String {
        let components = URLComponents(string: directoryURL)
        var name = components?.host ?? "ca"
        if let port = components?.port { name += "_\(port)" }
        let path = (components?.path ?? "").split(separator: "/").joined(separator: "_")
        if !path.isEmpty { name += "_" + path }
        return String(name.unicodeScalars.map { scalar -> Character in
            let allowed = scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "._-".unicodeScalars.contains(scalar))
            return allowed ? Character(scalar) : "_"
        })
    }

    // MARK: Certificates

    /// The directory holding one directory per certificate.
    public var certificates: String { root + "/" + StoreLayout.certificates }
    /// The directory holding everything of certificate `name`.
    public func certificate(_ name: String) -> String { certificates + "/" + name }
    /// The per-certificate JSON document of `kind` for certificate `name`.
    public func document(_ kind: CertificateDocumentKind, of name: String) -> String { certificate(name) + "/" + kind.fileName }
    /// The journal of challenge files published for certificate `name` and not yet removed.
    public func challengeJournal(_ name: String) -> String { certificate(name) + "/" + StoreLayout.challengeJournalFile }
    /// The lock every issuance of certificate `name` holds.
    public func issuanceLock(_ name: String) -> String { certificate(name) + "/" + StoreLayout.issuanceLockFile }
    /// The link `link` (`current`, `previous`, or their `.new` while swapped) of certificate `name`.
    public func link(_ link: String, of name: String) -> String { certificate(name) + "/" + link }
    /// The directory of certificate `name`'s versions.
    public func versions(_ name: String) -> String { certificate(name) + "/" + StoreLayout.versions }
    /// The version `id` of certificate `name`.
    public func version(_ id: String, of name: String) -> String { versions(name) + "/" + id }
    /// What a link of certificate `name` holds to point at version `id` (relative, so the store can move).
    static func linkTarget(version id: String) -> String { StoreLayout.versions + "/" + id }

    /// The issuance facts (`IssuanceFacts`) of the version `files` points into.
    public static func issuanceFacts(in files: CertificateFiles) -> String { files.directory + "/" + StoreLayout.issuanceFactsFile }
    /// The revocation note (`RevocationNote`) of the version `files` points into.
    public static func revocationNote(in files: CertificateFiles) -> String { files.directory + "/" + StoreLayout.revocationNoteFile }
}

/// The JSON documents kept per certificate, beside its versions.
public enum CertificateDocumentKind: Sendable, CaseIterable {
    /// `renewal.json`: the renewal record (`RenewalRecord`).
    case renewal
    /// `notify.json`: what was notified (`NotificationState`).
    case notification
    /// `site.json`: the site checks (`SiteCheckRecord`).
    case siteCheck

    /// The document's file name in the certificate's directory.
    public var fileName: String {
        switch self {
        case .renewal: "renewal.json"
        case .notification: "notify.json"
        case .siteCheck: "site.json"
        }
    }
}
