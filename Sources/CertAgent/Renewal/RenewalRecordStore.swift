import Foundation

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

    private let directoryOf: @Sendable (String) -> String

    /// Records beside the certificates of `store` (`<root>/certificates/<name>/renewal.json`).
    public init(store: CertificateStore) {
        directoryOf = { store.certificateDirectory($0) }
    }

    /// Records in the directories `directoryOf` names.
    public init(directoryOf: @escaping @Sendable (String) -> String) {
        self.directoryOf = directoryOf
    }

    /// The record file of certificate `name`.
    public func path(for name: String) -> String { directoryOf(name) + "/" + Self.fileName }

    /// Reads the record of certificate `name`; a fresh one when there is none or it cannot be used.
    public func load(_ name: String) -> LoadedRenewalRecord {
        let path = path(for: name)
        do {
            // Never through a symbolic link: a link is reported and replaced by the next save.
            guard let bytes = try StoreFileReader.readFile(path) else { return LoadedRenewalRecord(record: RenewalRecord()) }
            let record = try Self.decoder().decode(RenewalRecord.self, from: Data(bytes))
            return LoadedRenewalRecord(record: record)
        } catch {
            return LoadedRenewalRecord(record: RenewalRecord(), problem: "cannot use \(path), starting afresh: \(error)")
        }
    }

    /// Writes the record of certificate `name` (creating its directory, 0700, when needed).
    public func save(_ record: RenewalRecord, for name: String) throws {
        try AtomicFile.makeDirectory(directoryOf(name))
        let data = try Self.encoder().encode(record)
        try AtomicFile.write(Array(data) + [0x0A], to: path(for: name), mode: 0o600)
    }

    /// Deletes the record of certificate `name`, if any.
    public func remove(_ name: String) {
        try? FileManager.default.removeItem(atPath: path(for: name))
    }

    // MARK: Format

    private static let dateStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.formatted(dateStyle))
        }
        return encoder
    }

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = try? dateStyle.parse(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an ISO 8601 time: \(text)")
            }
            return date
        }
        return decoder
    }
}
