import FoundationEssentials

/// One JSON document per certificate, `<certificate dir>/<fileName>` (renewal.json, notify.json, site.json): read
/// without following a link, written atomically with mode 0600 (the directory made 0700 when needed), in one format —
/// sorted keys, ISO 8601 times with fractional seconds. A missing, unreadable or corrupt file reads as `fresh`, with
/// the reason for the caller to log; a link in its place is replaced by the next save.
struct CertificateJSONFile<Value: Codable>: Sendable {
    let fileName: String
    let directoryOf: @Sendable (String) -> String

    /// The file of certificate `name`.
    func path(for name: String) -> String { directoryOf(name) + "/" + fileName }

    /// The document of certificate `name`, or `fresh` and why an existing file could not be used.
    func load(_ name: String, fresh: () -> Value) -> (value: Value, problem: String?) {
        let path = path(for: name)
        do {
            guard let bytes = try StoreFileReader.readFile(path) else { return (fresh(), nil) }
            return (try CertificateJSONFormat.decoder().decode(Value.self, from: Data(bytes)), nil)
        } catch {
            return (fresh(), "cannot use \(path), starting afresh: \(error)")
        }
    }

    /// Writes the document of certificate `name`.
    func save(_ value: Value, for name: String) throws {
        try AtomicFile.makeDirectory(directoryOf(name))
        let data = try CertificateJSONFormat.encoder().encode(value)
        try AtomicFile.write(Array(data) + [0x0A], to: path(for: name), mode: 0o600)
    }
}

/// The one format of the per-certificate JSON files: sorted keys, ISO 8601 times with fractional seconds.
enum CertificateJSONFormat {
    private static var dateStyle: Date.ISO8601FormatStyle { Date.ISO8601FormatStyle(includingFractionalSeconds: true) }

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
