import FoundationEssentials
import Synchronization

/// Keeps one `SiteCheckRecord` per certificate in `<certificate dir>/site.json` (atomic write, mode 0600). A missing
/// or corrupt file reads as a fresh record. Updates in this process are serialized: the deploy time and the check
/// results are written by different threads.
public struct SiteCheckStore: Sendable {
    /// The file name inside the certificate's directory.
    public static let fileName = "site.json"
    private static let updates = Mutex(())

    private let store: CertificateStore

    public init(store: CertificateStore) { self.store = store }

    private var file: CertificateJSONFile<SiteCheckRecord> {
        CertificateJSONFile(fileName: Self.fileName, directoryOf: { [store] in store.certificateDirectory($0) })
    }

    public func path(for name: String) -> String { file.path(for: name) }

    /// The record of certificate `name` (fresh when there is none or it cannot be used).
    public func load(_ name: String) -> SiteCheckRecord {
        file.load(name, fresh: { SiteCheckRecord() }).value
    }

    /// Reads, changes and writes the record of `name` atomically.
    public func update(_ name: String, _ change: (inout SiteCheckRecord) -> Void) throws {
        try Self.updates.withLock { _ in
            var record = load(name)
            change(&record)
            try file.save(record, for: name)
        }
    }

    /// Notes a successful deploy of a new certificate at `at`.
    public func noteDeploy(_ name: String, at: Date) throws {
        try update(name) { $0.lastDeploy = at }
    }
}
