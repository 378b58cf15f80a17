import Foundation

/// A parsed JSON document, kept loose so the config loader can say exactly which field is wrong and why.
public enum JSONValue: Sendable, Equatable, Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    /// The value as it would be written in JSON, shortened for messages.
    public var excerpt: String {
        let text: String
        switch self {
        case .null: text = "null"
        case .bool(let value): text = value ? "true" : "false"
        case .number(let value): text = value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
        case .string(let value): text = "\"" + value.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"") + "\""
        case .array(let values): text = "[" + values.map(\.excerpt).joined(separator: ", ") + "]"
        case .object(let members): text = "{" + members.keys.sorted().map { "\"\($0)\": …" }.joined(separator: ", ") + "}"
        }
        return text.count > 120 ? String(text.prefix(117)) + "…" : text
    }

    /// What kind of JSON value this is, for messages ("a string", "an array", …).
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
