import ACME

/// Why another client's files cannot be imported: the file, the field in it and the value read, and what is wrong
/// with it. Nothing is written when one is thrown.
public struct ImportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file that was being read (or the directory, when a file is missing from it).
    public let file: String
    /// The field or member, when the problem is in one (`webroot_path`, `[[webroot_map]] example.com`, `uri`).
    public let field: String?
    /// The value read, when there is one.
    public let value: String?
    /// What is wrong, in words.
    public let problem: String

    public init(file: String, field: String? = nil, value: String? = nil, problem: String) {
        self.file = file
        self.field = field
        self.value = value
        self.problem = problem
    }

    public var description: String {
        var text = file + ": "
        if let field { text += field + (value.map { " = \"\(UntrustedText.display($0, limit: 200))\"" } ?? "") + ": " }
        return text + problem
    }
}
