import Foundation

/// A JSON value whose object members keep the order they are given in, for writing config text a person reads.
public indirect enum OrderedJSON: Sendable, Equatable {
    case string(String)
    case bool(Bool)
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
}

/// The fields `certagent init` writes for one certificate, in the order they are written.
public struct CertificateEntry: Sendable, Equatable {
    public var name: String
    public var domains: [String]
    public var webroot: String
    /// Set when the certificate's key type differs from the config's top-level one.
    public var keyType: String?
    /// The `install.reload` command, when there is one.
    public var reload: [String]?

    public init(name: String, domains: [String], webroot: String, keyType: String? = nil, reload: [String]? = nil) {
        self.name = name
        self.domains = domains
        self.webroot = webroot
        self.keyType = keyType
        self.reload = reload
    }

    /// The entry as a `certificates[]` object.
    public var json: OrderedJSON {
        var members: [OrderedJSON.Member] = [.init("name", .string(name)), .init("domains", .strings(domains)), .init("webroot", .string(webroot))]
        if let keyType { members.append(.init("keyType", .string(keyType))) }
        if let reload { members.append(.init("install", .object([.init("reload", .strings(reload))]))) }
        return .object(members)
    }
}

/// Why a config text could not be edited.
public struct ConfigEditError: Error, Sendable, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// Writes and edits config text the way a person would: a new config with its keys in a readable order, and changes
/// to an existing one made in place — an added certificate goes after the last one, a changed field replaces only its
/// value — so every other entry keeps its key order, layout and spelling (no re-serialisation of the whole file).
public enum ConfigFileEditor {
    /// The text of a new config: `settings` in the order given, then `certificates` with the one entry; two-space
    /// indentation, as in `config.example.json`.
    public static func newConfig(settings: [OrderedJSON.Member], certificate: CertificateEntry) -> String {
        let style = Style(unit: "  ", separator: ": ")
        return render(.object(settings + [.init("certificates", .array([certificate.json]))]), indent: "", style: style) + "\n"
    }

    /// `text` with `certificate` appended to its `certificates` array, laid out like the entries already there.
    public static func adding(_ certificate: CertificateEntry, to text: String) throws(ConfigEditError) -> String {
        let document = try Document(text)
        guard let certificates = document.rootMembers.first(where: { $0.key == "certificates" }),
              document.layout.bytes[certificates.value.lowerBound] == UInt8(ascii: "[") else {
            throw ConfigEditError("has no \"certificates\" array to add to")
        }
        return document.appending(certificate.json, toArrayAt: certificates.value)
    }

    /// `text` with fields of `certificates[index]` set: each change names a key path inside the entry (`["domains"]`,
    /// `["install", "reload"]`) and its value is replaced where present, else added at the end of its object (a missing
    /// object on the way is added holding it); the entry's other members stay as written.
    public static func updating(certificateAt index: Int, setting changes: [(path: [String], value: OrderedJSON)], in text: String) throws(ConfigEditError) -> String {
        var text = text
        for change in changes {
            let document = try Document(text)
            guard let certificates = document.rootMembers.first(where: { $0.key == "certificates" }),
                  document.layout.bytes[certificates.value.lowerBound] == UInt8(ascii: "[") else {
                throw ConfigEditError("has no \"certificates\" array")
            }
            let entries = document.layout.elements(ofArrayAt: certificates.value.lowerBound)
            guard index < entries.count, document.layout.bytes[entries[index].lowerBound] == UInt8(ascii: "{") else {
                throw ConfigEditError("has no object at certificates[\(index)]")
            }
            text = document.setting(change.path, to: change.value, inObjectAt: entries[index])
        }
        return text
    }

    /// The `name` of every entry of `certificates` in the config `bytes`, as written (an entry without one is named by
    /// its first domain, as the loader does).
    public static func names(in bytes: [UInt8]) -> [String] {
        guard case .object(let root)? = try? StrictJSONParser.parse(bytes), case .array(let entries)? = root["certificates"] else { return [] }
        return entries.compactMap { entry in
            guard case .object(let members) = entry else { return nil }
            if case .string(let name)? = members["name"] { return name }
            if case .array(let domains)? = members["domains"], case .string(let first)? = domains.first { return first.lowercased() }
            return nil
        }
    }

    // MARK: Layout

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

    /// A parsed text with its layout, and the style its writer used.
    private struct Document {
        let layout: JSONTextLayout
        let rootMembers: [JSONTextLayout.Member]
        let style: Style

        init(_ text: String) throws(ConfigEditError) {
            let bytes = Array(text.utf8)
            do { _ = try StrictJSONParser.parse(bytes) } catch { throw ConfigEditError("is not valid JSON: \(error)") }
            layout = JSONTextLayout(bytes)
            let root = layout.root
            guard root.lowerBound < bytes.count, bytes[root.lowerBound] == UInt8(ascii: "{") else { throw ConfigEditError("must be a JSON object") }
            rootMembers = layout.members(ofObjectAt: root.lowerBound)
            var style = Style(unit: "  ", separator: ": ")
            if let first = rootMembers.first {
                let rootIndent = layout.indentation(ofLineAt: root.lowerBound)
                let memberIndent = layout.indentation(ofLineAt: first.keyStart)
                if layout.hasLineBreak(from: root.lowerBound, to: first.keyStart), memberIndent.count > rootIndent.count {
                    style.unit = String(memberIndent.dropFirst(rootIndent.count))
                }
                // The separator exactly as written between the first key and its value.
                var keyEnd = first.keyStart + 1
                while keyEnd < bytes.count, bytes[keyEnd] != UInt8(ascii: "\"") { keyEnd += bytes[keyEnd] == UInt8(ascii: "\\") ? 2 : 1 }
                let written = layout.text(keyEnd + 1 ..< first.value.lowerBound)
                if !written.contains("\n") { style.separator = written }
            }
            self.style = style
        }

        /// Appends `value` as the last element of the array at `array`.
        func appending(_ value: OrderedJSON, toArrayAt array: Range<Int>) -> String {
            let elements = layout.elements(ofArrayAt: array.lowerBound)
            let arrayIndent = layout.indentation(ofLineAt: array.lowerBound)
            let insertion: String
            let at: Int
            if let last = elements.last {
                let multiline = layout.hasLineBreak(from: array.lowerBound, to: elements[0].lowerBound)
                let indent = multiline ? layout.indentation(ofLineAt: last.lowerBound) : arrayIndent
                insertion = (multiline ? ",\n" + indent : ", ") + render(value, indent: indent, style: multiline ? style : style.oneLine)
                at = last.upperBound
            } else {
                let indent = arrayIndent + style.unit
                insertion = "\n" + indent + render(value, indent: indent, style: style) + "\n" + arrayIndent
                at = array.lowerBound + 1
                return splice(insertion, replacing: at ..< array.upperBound - 1)
            }
            return splice(insertion, replacing: at ..< at)
        }

        /// Sets the member at `path` below the object at `object`: its value replaced where the key exists, else added
        /// at the end of its object.
        func setting(_ path: [String], to value: OrderedJSON, inObjectAt object: Range<Int>) -> String {
            let members = layout.members(ofObjectAt: object.lowerBound)
            let existing = members.first { $0.key == path[0] }
            if path.count > 1 {
                if let existing, layout.bytes[existing.value.lowerBound] == UInt8(ascii: "{") {
                    return setting(Array(path.dropFirst()), to: value, inObjectAt: existing.value)
                }
                let nested = path.dropFirst().reversed().reduce(value) { inner, key in .object([.init(key, inner)]) }
                return setting([path[0]], to: nested, inObjectAt: object)
            }
            let member = OrderedJSON.Member(path[0], value)
            if let existing {
                let indent = layout.indentation(ofLineAt: existing.keyStart)
                let multiline = layout.hasLineBreak(from: object.lowerBound, to: members[0].keyStart)
                return splice(render(member.value, indent: indent, style: multiline ? style : style.oneLine), replacing: existing.value)
            }
            let objectIndent = layout.indentation(ofLineAt: object.lowerBound)
            let key = ConfigFileEditor.encoded(member.key)
            guard let last = members.last else {
                let indent = objectIndent + style.unit
                let text = "\n" + indent + key + style.separator + render(member.value, indent: indent, style: style) + "\n" + objectIndent
                return splice(text, replacing: object.lowerBound + 1 ..< object.upperBound - 1)
            }
            let multiline = layout.hasLineBreak(from: object.lowerBound, to: members[0].keyStart)
            let indent = multiline ? layout.indentation(ofLineAt: last.keyStart) : objectIndent
            let text = (multiline ? ",\n" + indent : ", ") + key + style.separator + render(member.value, indent: indent, style: multiline ? style : style.oneLine)
            return splice(text, replacing: last.value.upperBound ..< last.value.upperBound)
        }

        private func splice(_ text: String, replacing range: Range<Int>) -> String {
            layout.text(0 ..< range.lowerBound) + text + layout.text(range.upperBound ..< layout.bytes.count)
        }
    }

    // MARK: Rendering

    /// `value` as JSON text for a place indented by `indent`: objects one member a line, arrays of strings on one line.
    static func render(_ value: OrderedJSON, indent: String, style: Style) -> String {
        switch value {
        case .string(let text): return encoded(text)
        case .bool(let flag): return flag ? "true" : "false"
        case .array(let items):
            if style.compact || items.allSatisfy({ if case .string = $0 { true } else { false } }) {
                return "[" + items.map { render($0, indent: indent, style: style) }.joined(separator: ", ") + "]"
            }
            let inner = indent + style.unit
            return "[\n" + items.map { inner + render($0, indent: inner, style: style) }.joined(separator: ",\n") + "\n" + indent + "]"
        case .object(let members):
            guard !members.isEmpty else { return "{}" }
            if style.compact {
                return "{" + members.map { encoded($0.key) + style.separator + render($0.value, indent: indent, style: style) }.joined(separator: ", ") + "}"
            }
            let inner = indent + style.unit
            return "{\n" + members.map { inner + encoded($0.key) + style.separator + render($0.value, indent: inner, style: style) }
                .joined(separator: ",\n") + "\n" + indent + "}"
        }
    }

    /// A string as a JSON string literal (Foundation's encoder: the project's one JSON encoding), slashes unescaped.
    static func encoded(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed, .withoutEscapingSlashes])) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
