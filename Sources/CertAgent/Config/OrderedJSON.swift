import ACME
import FoundationEssentials

/// A JSON value whose object members keep the order they are given in, for writing config text a person reads.
public indirect enum OrderedJSON: Sendable, Equatable {
    case string(String)
    case bool(Bool)
    case number(Double)
    case null
    case array([OrderedJSON])
    case object([Member])

    /// One member of an object.
    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: OrderedJSON

        public init(_ key: String, _ value: OrderedJSON) {
            self.key = key
            self.value = value
        }
    }

    /// An array of strings.
    public static func strings(_ values: [String]) -> OrderedJSON { .array(values.map { .string($0) }) }

    /// The value as `StrictJSONParser` reads it back (member order dropped), to check an edit against.
    var parsed: JSONValue {
        switch self {
        case .string(let text): .string(text)
        case .bool(let flag): .bool(flag)
        case .number(let number): .number(number)
        case .null: .null
        case .array(let items): .array(items.map(\.parsed))
        case .object(let members): .object(Dictionary(members.map { ($0.key, $0.value.parsed) }, uniquingKeysWith: { $1 }))
        }
    }

    // MARK: Rendering

    /// How a config text is laid out.
    struct Style {
        /// One level of indentation.
        var unit: String
        /// What stands between a key and its value (`": "`, or `" : "` as Foundation writes it).
        var separator: String
        /// Everything on one line (for a place in the file written that way).
        var compact = false

        var oneLine: Style {
            var style = self
            style.compact = true
            return style
        }
    }

    /// The value as JSON text for a place indented by `indent`: objects one member a line, arrays of strings on one line.
    func rendered(indent: String, style: Style) -> String {
        switch self {
        case .string(let text): return Self.encoded(text)
        case .bool(let flag): return flag ? "true" : "false"
        case .number(let number):
            // Whole numbers without a fraction (`4`, not `4.0`); others as Swift writes them (`0.01`).
            return number == number.rounded() && abs(number) < 1e15 ? String(Int(number)) : String(number)
        case .null: return "null"
        case .array(let items):
            if style.compact || items.allSatisfy({ if case .string = $0 { true } else { false } }) {
                return "[" + items.map { $0.rendered(indent: indent, style: style) }.joined(separator: ", ") + "]"
            }
            let inner = indent + style.unit
            return "[\n" + items.map { inner + $0.rendered(indent: inner, style: style) }.joined(separator: ",\n") + "\n" + indent + "]"
        case .object(let members):
            guard !members.isEmpty else { return "{}" }
            if style.compact {
                return "{" + members.map { Self.encoded($0.key) + style.separator + $0.value.rendered(indent: indent, style: style) }.joined(separator: ", ") + "}"
            }
            let inner = indent + style.unit
            return "{\n" + members.map { inner + Self.encoded($0.key) + style.separator + $0.value.rendered(indent: inner, style: style) }
                .joined(separator: ",\n") + "\n" + indent + "}"
        }
    }

    /// A string as a JSON string literal (Foundation's encoder: the project's one JSON encoding), slashes unescaped.
    static func encoded(_ text: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let data = (try? encoder.encode(text)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// The fields `certagent init` writes for one certificate, in the order they are written.
public struct CertificateEntry: Sendable, Equatable {
    public var name: String
    public var domains: [String]
    public var webroot: String
    /// `webroots`: the domains served from another directory than `webroot` (written in the order of `domains`).
    public var webroots: [String: String]
    /// Set when the certificate's key type differs from the config's top-level one.
    public var keyType: String?
    /// `reuseKey`, when set.
    public var reuseKey: Bool?
    /// The `install.reload` command, when there is one.
    public var reload: [String]?

    public init(name: String, domains: [String], webroot: String, webroots: [String: String] = [:], keyType: String? = nil,
                reuseKey: Bool? = nil, reload: [String]? = nil) {
        self.name = name
        self.domains = domains
        self.webroot = webroot
        self.webroots = webroots
        self.keyType = keyType
        self.reuseKey = reuseKey
        self.reload = reload
    }

    /// The entry as a `certificates[]` object.
    public var json: OrderedJSON {
        var members: [OrderedJSON.Member] = [.init("name", .string(name)), .init("domains", .strings(domains)), .init("webroot", .string(webroot))]
        let others = domains.compactMap { domain in webroots[domain].map { OrderedJSON.Member(domain, .string($0)) } }
        if !others.isEmpty { members.append(.init("webroots", .object(others))) }
        if let keyType { members.append(.init("keyType", .string(keyType))) }
        if let reuseKey { members.append(.init("reuseKey", .bool(reuseKey))) }
        if let reload { members.append(.init("install", .object([.init("reload", .strings(reload))]))) }
        return .object(members)
    }
}
