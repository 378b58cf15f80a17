import ACME

/// How a parsed JSON value (from `StrictJSONParser`) is shown in messages, so the config loader can say exactly which
/// field is wrong and why.
extension JSONValue {
    /// The value as it would be written in JSON, shortened for messages (at most 120 characters). Control characters
    /// are escaped as JSON escapes them, so a value never moves the cursor or colours the terminal.
    public var excerpt: String {
        let text: String
        switch self {
        case .null: text = "null"
        case .bool(let value): text = value ? "true" : "false"
        case .number(let value): text = value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
        case .string(let value): text = "\"" + Self.escaped(value.prefix(200)) + "\""
        case .array(let values): text = "[" + values.prefix(20).map(\.excerpt).joined(separator: ", ") + (values.count > 20 ? ", …]" : "]")
        case .object(let members): text = "{" + members.keys.sorted().prefix(20).map { "\"\(Self.escaped($0.prefix(40)))\": …" }.joined(separator: ", ") + (members.count > 20 ? ", …}" : "}")
        }
        return text.count > 120 ? String(text.prefix(117)) + "…" : text
    }

    /// `text` with `"`, `\` and control characters written as JSON escapes.
    private static func escaped(_ text: Substring) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                let category = scalar.properties.generalCategory
                if category == .control || category == .format || category == .lineSeparator || category == .paragraphSeparator {
                    let hex = String(scalar.value, radix: 16)
                    result += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
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
