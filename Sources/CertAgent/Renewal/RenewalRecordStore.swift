import FoundationEssentials

/// A renewal record read from disk, and why it could not be used when it was replaced by a fresh one.
public struct LoadedRenewalRecord: Sendable {
    public var record: RenewalRecord
    /// Set when the file existed but was unreadable or corrupt: the record is fresh, and the caller should log this.
    public var problem: String?
}

/// Keeps one `RenewalRecord` per certificate as JSON in `<certificate dir>/renewal.json`, written atomically
/// with mode 0600 (a temporary a killed write left beside it is removed before the next write). A missing,
/// unreadable or corrupt file, or a symbolic link in its place, yields a fresh record, never a crash.
public struct RenewalRecordStore: Sendable {
    /// The record's file name inside the certificate's directory.
    public static let fileName = "renewal.json"

    private let file: CertificateJSONFile<RenewalRecord>

    /// Records beside the certificates of `store` (`<root>/certificates/<name>/renewal.json`).
    public init(store: CertificateStore) {
        self.init(directoryOf: { store.certificateDirectory($0) })
    }

    /// Records in the directories `directoryOf` names.
    public init(directoryOf: @escaping @Sendable (String) -> String) {
        file = CertificateJSONFile(fileName: Self.fileName, directoryOf: directoryOf)
    }

    /// The record file of certificate `name`.
    public func path(for name: String) -> String { file.path(for: name) }

    /// Reads the record of certificate `name`; a fresh one when there is none or it cannot be used (never through a
    /// symbolic link: a link is reported and replaced by the next save).
    public func load(_ name: String) -> LoadedRenewalRecord {
        let (record, problem) = file.load(name, fresh: { RenewalRecord() })
        return LoadedRenewalRecord(record: record, problem: problem)
    }

    /// Writes the record of certificate `name` (creating its directory, 0700, when needed).
    public func save(_ record: RenewalRecord, for name: String) throws {
        try file.save(record, for: name)
    }

    /// Deletes the record of certificate `name`, if any.
    public func remove(_ name: String) {
        try? FileManager.default.removeItem(atPath: path(for: name))
    }
}
