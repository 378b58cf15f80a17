import FoundationEssentials

/// The one JSON format of every file the store writes (account records, renewal records, notification and site-check
/// state, issuance facts, revocation notes, the marker) and of `account show --json`: pretty-printed, sorted keys,
/// slashes not escaped, times as ISO 8601 in UTC with fractional seconds, a final newline. Reading accepts times with or
/// without fractional seconds, so files written by earlier versions (account records had whole seconds) still read.
/// The marker alone is written on one line (`compact`).
public enum StoreJSON {
    private static var fractionalStyle: Date.ISO8601FormatStyle { Date.ISO8601FormatStyle(includingFractionalSeconds: true) }
    private static var wholeSecondStyle: Date.ISO8601FormatStyle { Date.ISO8601FormatStyle() }

    /// The encoder: pretty (unless `compact`, one line), sorted keys, no escaped slashes, ISO 8601 times with
    /// fractional seconds.
    public static func encoder(compact: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = compact ? [.sortedKeys, .withoutEscapingSlashes] : [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.formatted(fractionalStyle))
        }
        return encoder
    }

    /// The decoder: ISO 8601 times with or without fractional seconds.
    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = (try? fractionalStyle.parse(text)) ?? (try? wholeSecondStyle.parse(text)) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an ISO 8601 time: \(text)")
            }
            return date
        }
        return decoder
    }

    /// The bytes of a store file holding `value` (ending in a newline); `compact` writes it on one line (the marker).
    public static func encode(_ value: some Encodable, compact: Bool = false) throws -> [UInt8] {
        Array(try encoder(compact: compact).encode(value)) + [0x0A]
    }

    /// `bytes` read as a `T`.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try decoder().decode(type, from: Data(bytes))
    }
}
