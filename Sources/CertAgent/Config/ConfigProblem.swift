/// One thing wrong with a config file: which field, what value, and why.
public struct ConfigProblem: Sendable, Equatable, CustomStringConvertible {
    /// The field as a JSON path, e.g. `certificates[1].domains[0]`; empty for the whole file.
    public let field: String
    /// The offending value as written in the file (JSON text), if there was one.
    public let value: String?
    public let message: String

    public init(field: String, value: String?, message: String) {
        self.field = field
        self.value = value
        self.message = message
    }

    public var description: String {
        let location = field.isEmpty ? "" : field
        switch (location.isEmpty, value) {
        case (true, _): return message
        case (false, let value?): return "\(location) = \(value): \(message)"
        case (false, nil): return "\(location): \(message)"
        }
    }
}

/// A config file that cannot be used, with every problem found in it (not just the first).
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public let file: String
    public let problems: [ConfigProblem]

    public init(file: String, problems: [ConfigProblem]) {
        self.file = file
        self.problems = problems
    }

    public var description: String {
        let count = problems.count == 1 ? "1 problem" : "\(problems.count) problems"
        return (["\(file): \(count):"] + problems.map { "  \(file): \($0)" }).joined(separator: "\n")
    }
}
