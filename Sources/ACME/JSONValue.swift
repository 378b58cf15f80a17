import FoundationEssentials

/// A JSON value: built in code for request bodies (encoded with sorted keys, so they are deterministic), and what the
/// agent's strict parser reads a config or store document into. The one JSON value type of the package.
public enum JSONValue: Encodable, Sendable, Equatable {
    case null
    case bool(Bool)
    /// A JSON number; an integral value within ±2⁵³ is written without a fraction (`4`, not `4.0`).
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// A JSON number holding an integer (RFC 8555 §7.6 `reason`, for example).
    public static func int(_ value: Int) -> JSONValue { .number(Double(value)) }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let v): try container.encode(v)
        case .number(let v):
            if v == v.rounded(), abs(v) <= 9_007_199_254_740_992 { try container.encode(Int64(v)) } else { try container.encode(v) }
        case .string(let v): try container.encode(v)
        case .array(let v): try container.encode(v)
        case .object(let v): try container.encode(v)
        }
    }

    /// The compact UTF-8 JSON text.
    func bytes() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self))
    }

    /// A JWK (RFC 7517) as a JSON object of strings.
    static func jwk(_ members: [String: String]) -> JSONValue {
        .object(members.mapValues { .string($0) })
    }
}
