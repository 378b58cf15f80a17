import FoundationEssentials

/// A JSON document the store keeps per certificate, beside its versions (`CertificateDocumentKind`). A missing or
/// unusable document reads as `init()`.
public protocol CertificateDocument: Codable, Sendable {
    /// Which of the certificate's documents this is.
    static var kind: CertificateDocumentKind { get }
    /// The document of a certificate that has none yet.
    init()
}

extension RenewalRecord: CertificateDocument {
    public static var kind: CertificateDocumentKind { .renewal }
}

extension NotificationState: CertificateDocument {
    public static var kind: CertificateDocumentKind { .notification }
}

extension SiteCheckRecord: CertificateDocument {
    public static var kind: CertificateDocumentKind { .siteCheck }
}

/// A per-certificate document as read, and why an existing one could not be used (it then reads as fresh).
public struct LoadedDocument<Document: CertificateDocument>: Sendable {
    public var value: Document
    /// Set when the document existed but was unreadable or corrupt: the caller should log it.
    public var problem: String?

    public init(value: Document, problem: String? = nil) {
        self.value = value
        self.problem = problem
    }
}

/// What renewal, issuance, notification and status need of a store, by what things are rather than where they lie —
/// the seam for a second backend (a store shared by a fleet of servers). `CertificateStore`, the local file system,
/// is the one implementation today; only its `StoreKeys` knows the layout. Certificate versions are handed out as
/// `CertificateFiles` (local paths), which is what web servers and hooks read.
public protocol CertificateStorage: Sendable {
    // MARK: Per-certificate documents

    /// Certificate `name`'s document of type `type`: fresh when there is none, or when it cannot be used (with why).
    func load<Document: CertificateDocument>(_ type: Document.Type, of name: String) -> LoadedDocument<Document>
    /// Writes `document` for certificate `name`, atomically.
    func save<Document: CertificateDocument>(_ document: Document, of name: String) throws
    /// Deletes certificate `name`'s document of `kind`, if any.
    func removeDocument(_ kind: CertificateDocumentKind, of name: String)

    // MARK: Versions

    /// The current version of certificate `name`, nil before the first issuance.
    func currentFiles(_ name: String) -> CertificateFiles?
    /// The version before the current one, if kept.
    func previousFiles(_ name: String) -> CertificateFiles?
    /// Writes a new version of certificate `name` aside, not yet current.
    func stage(_ material: CertificateMaterial, for name: String, now: Date) throws -> CertificateFiles
    /// Makes a verified staged version current in one atomic step; the replaced one becomes the previous.
    @discardableResult
    func commit(_ staged: CertificateFiles, for name: String) throws -> CertificateFiles
    /// Drops a staged version that failed verification.
    func discard(_ staged: CertificateFiles)
    /// How the version `link` (`current`/`previous`) of certificate `name` was obtained, if known.
    func issuanceFacts(of name: String, link: String) -> IssuanceFacts?

    // MARK: Accounts

    /// The account record at the CA whose directory URL is `directoryURL`, nil when there is none or it does not read.
    func accountRecord(directoryURL: String) -> AccountRecord?
    /// Writes `record` as the account record at the CA whose directory URL is `directoryURL`, atomically.
    func saveAccountRecord(_ record: AccountRecord, directoryURL: String) throws

    // MARK: Locks

    /// The exclusive per-certificate lock every issuance holds; `CertificateBusy` at once when another process has it.
    func lockForIssuance(_ name: String) throws -> FileLock
}
