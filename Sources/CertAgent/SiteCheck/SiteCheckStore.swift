import FoundationEssentials
import Synchronization

/// Keeps one `SiteCheckRecord` per certificate through the store (`site.json`, atomic write, mode 0600). A missing
/// or corrupt file reads as a fresh record. Updates in this process are serialized: the deploy time and the check
/// results are written by different threads.
public struct SiteCheckStore: Sendable {
    private static let updates = Mutex(())

    private let storage: any CertificateStorage

    public init(store: any CertificateStorage) { storage = store }

    /// The record of certificate `name` (fresh when there is none or it cannot be used).
    public func load(_ name: String) -> SiteCheckRecord {
        storage.load(SiteCheckRecord.self, of: name).value
    }

    /// Reads, changes and writes the record of `name` atomically.
    public func update(_ name: String, _ change: (inout SiteCheckRecord) -> Void) throws {
        try Self.updates.withLock { _ in
            var record = load(name)
            change(&record)
            try storage.save(record, of: name)
        }
    }

    /// Notes a successful deploy of a new certificate at `at`.
    public func noteDeploy(_ name: String, at: Date) throws {
        try update(name) { $0.lastDeploy = at }
    }
}
