import ACME

/// Reads typed fields out of a JSON object and records a `ConfigProblem` for each one that is missing,
/// of the wrong kind, or unknown — so one pass reports every problem in the file.
struct FieldReader {
    let object: [String: JSONValue]
    let path: String
    private(set) var problems: [ConfigProblem] = []
    private var known: Set<String> = []

    init(_ object: [String: JSONValue], path: String) {
        self.object = object
        self.path = path
    }

    func fieldPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    mutating func report(_ key: String, _ value: JSONValue?, _ message: String) {
        problems.append(ConfigProblem(field: fieldPath(key), value: value?.excerpt, message: message))
    }

    /// Records a problem at an explicit path (array items, derived fields).
    mutating func add(field: String, value: String?, message: String) {
        problems.append(ConfigProblem(field: field, value: value, message: message))
    }

    mutating func raw(_ key: String) -> JSONValue? {
        known.insert(key)
        if case .null? = object[key] { return nil }
        return object[key]
    }

    mutating func string(_ key: String, required: Bool = false) -> String? {
        guard let value = raw(key) else {
            if required { report(key, nil, "is required") }
            return nil
        }
        guard case .string(let text) = value else {
            report(key, value, "must be a string, not \(value.kindName)")
            return nil
        }
        return text
    }

    /// A string naming a file or directory: absolute, at most PATH_MAX bytes, with no NUL.
    mutating func path(_ key: String, required: Bool = false) -> String? {
        guard let text = string(key, required: required) else { return nil }
        if let problem = FieldLimits.pathProblem(text) {
            report(key, .string(text), problem)
            return nil
        }
        guard text.hasPrefix("/") else {
            report(key, .string(text), "must be an absolute path")
            return nil
        }
        return text
    }

    /// A one-line string of at most `limit` bytes; `what` names it in the message ("a key identifier").
    mutating func text(_ key: String, limit: Int, what: String, required: Bool = false) -> String? {
        guard let text = string(key, required: required) else { return nil }
        if let problem = FieldLimits.textProblem(text, limit: limit, what: what) {
            report(key, .string(text), problem)
            return nil
        }
        return text
    }

    mutating func bool(_ key: String) -> Bool? {
        guard let value = raw(key) else { return nil }
        guard case .bool(let flag) = value else {
            report(key, value, "must be true or false, not \(value.kindName)")
            return nil
        }
        return flag
    }

    /// A string, or an array of strings (for fields such as `email` that take one or several).
    mutating func strings(_ key: String) -> [(path: String, value: String)]? {
        guard let value = raw(key) else { return nil }
        switch value {
        case .string(let text): return [(fieldPath(key), text)]
        case .array(let items):
            var result: [(String, String)] = []
            for (index, item) in items.enumerated() {
                let itemPath = "\(fieldPath(key))[\(index)]"
                guard case .string(let text) = item else {
                    add(field: itemPath, value: item.excerpt, message: "must be a string, not \(item.kindName)")
                    continue
                }
                result.append((itemPath, text))
            }
            return result
        default:
            report(key, value, "must be a string or an array of strings, not \(value.kindName)")
            return nil
        }
    }

    mutating func object(_ key: String) -> [String: JSONValue]? {
        guard let value = raw(key) else { return nil }
        guard case .object(let members) = value else {
            report(key, value, "must be an object, not \(value.kindName)")
            return nil
        }
        return members
    }

    mutating func array(_ key: String) -> [JSONValue]? {
        guard let value = raw(key) else { return nil }
        guard case .array(let items) = value else {
            report(key, value, "must be an array, not \(value.kindName)")
            return nil
        }
        return items
    }

    mutating func absorb(_ other: FieldReader) { problems += other.problems }

    /// Reports every member that no read asked for: a typo such as `webrot` must not be silently ignored.
    mutating func reportUnknownFields() {
        for key in object.keys.sorted() where !known.contains(key) {
            let suggestions = known.sorted().joined(separator: ", ")
            report(key, nil, "is not a known field (known here: \(suggestions))")
        }
    }
}
