import FoundationEssentials

/// A renewal record read from the store, and why it could not be used when it was replaced by a fresh one.
public struct LoadedRenewalRecord: Sendable {
    public var record: RenewalRecord
    /// Set when the file existed but was unreadable or corrupt: the record is fresh, and the caller should log this.
    public var problem: String?
}

/// One `RenewalRecord` per certificate (`renewal.json` in the local store), kept by the store
/// (`CertificateStorage.load`/`save`): written atomically with mode 0600; a missing, unreadable or corrupt file, or a
/// symbolic link in its place, yields a fresh record, never a crash.
public struct RenewalRecordStore: Sendable {
    private let storage: any CertificateStorage

    /// The records of `store`.
    public init(store: any CertificateStorage) { storage = store }

    /// Reads the record of certificate `name`; a fresh one when there is none or it cannot be used (never through a
    /// symbolic link: a link is reported and replaced by the next save).
    public func load(_ name: String) -> LoadedRenewalRecord {
        let loaded = storage.load(RenewalRecord.self, of: name)
        return LoadedRenewalRecord(record: loaded.value, problem: loaded.problem)
    }

    /// Whether certificate `name`'s record says an order was in flight (`RenewalRecord.inFlightSince`), decoding that
    /// field alone: start-up asks it of every certificate, and a whole record (with its certificate summary) costs
    /// several times as much to decode. A missing or unreadable record says no, as `load` then gives a fresh one.
    public func hasOrderInFlight(_ name: String) -> Bool {
        storage.load(InFlightMark.self, of: name).value.inFlightSince != nil
    }

    /// The one field of a renewal record that `hasOrderInFlight` reads.
    private struct InFlightMark: CertificateDocument {
        static var kind: CertificateDocumentKind { .renewal }
        var inFlightSince: Date?
        init() {}
    }

    /// Writes the record of certificate `name` (creating its directory, 0700, when needed).
    public func save(_ record: RenewalRecord, for name: String) throws {
        try storage.save(record, of: name)
    }

    /// Deletes the record of certificate `name`, if any.
    public func remove(_ name: String) {
        storage.removeDocument(.renewal, of: name)
    }
}
