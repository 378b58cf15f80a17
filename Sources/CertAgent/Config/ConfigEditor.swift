import ACME

/// Writes and edits config text the way a person would, so everything the admin wrote stays as written — member
/// order, indentation, line breaks, escapes — except the one change asked for: a new config has its keys in a readable
/// order; an added certificate goes after the last one, laid out like it; a changed field replaces only its value; a
/// removed certificate is cut out with its separator. No edit re-serialises the whole file.
///
/// Every edit works at byte positions found by `JSONTextLayout` in text `StrictJSONParser` accepted, and is checked by
/// parsing its result again: it must equal the original document with exactly the change applied, or it throws
/// `ConfigEditError` and nothing is written. `ConfigFileWrite` writes the result.
public enum ConfigEditor {
    /// The text of a new config: `settings` in the order given, then `certificates` with the one entry; two-space
    /// indentation, as in `config.example.json`.
    public static func newConfig(settings: [OrderedJSON.Member], certificate: CertificateEntry) -> String {
        let style = OrderedJSON.Style(unit: "  ", separator: ": ")
        return OrderedJSON.object(settings + [.init("certificates", .array([certificate.json]))]).rendered(indent: "", style: style) + "\n"
    }

    /// `text` with `certificate` appended to its `certificates` array, laid out like the entries already there.
    /// `file` names the config in errors.
    public static func adding(_ certificate: CertificateEntry, to text: String, file: String) throws(ConfigEditError) -> String {
        let document = try Document(Array(text.utf8), file: file)
        let array = try document.certificates()
        var expected = document.certificatesParsed
        expected.append(certificate.json.parsed)
        let edited = document.appending(certificate.json, toArrayAt: array)
        return try document.checked(edited, certificates: expected, change: "with \(certificate.name) added")
    }

    /// `text` with fields of `certificates[index]` set: each change names a key path inside the entry (`["domains"]`,
    /// `["install", "reload"]`) and its value is replaced where present, else added at the end of its object (a missing
    /// object on the way is added holding it); the entry's other members stay as written. `file` names the config in
    /// errors.
    public static func updating(certificateAt index: Int, setting changes: [(path: [String], value: OrderedJSON)], in text: String,
                                file: String) throws(ConfigEditError) -> String {
        var text = text
        for change in changes {
            let document = try Document(Array(text.utf8), file: file)
            let entries = document.layout.elements(ofArrayAt: try document.certificates().lowerBound)
            guard index < entries.count, document.layout.bytes[entries[index].lowerBound] == UInt8(ascii: "{") else {
                throw .unexpectedShape(file: file, reason: "it has no object at certificates[\(index)]")
            }
            var expected = document.certificatesParsed
            expected[index] = setting(change.path, to: change.value.parsed, in: expected[index])
            let edited = document.setting(change.path, to: change.value, inObjectAt: entries[index])
            text = try document.checked(edited, certificates: expected, change: "with \(change.path.joined(separator: ".")) of certificates[\(index)] set")
        }
        return text
    }

    /// The config text `bytes` without the entry of `certificates` named `name` (its `name`, or its first domain when
    /// it has none, as the loader reads it). `file` names the config in errors.
    public static func removingCertificate(named name: String, from bytes: [UInt8], file: String) throws(ConfigEditError) -> [UInt8] {
        let document = try Document(bytes, file: file)
        let array = try document.certificates()
        var expected = document.certificatesParsed
        guard let index = expected.firstIndex(where: { certificateName(of: $0) == name }) else {
            throw .noSuchCertificate(name: name, file: file)
        }
        guard expected.count > 1 else { throw .onlyCertificate(name: name, file: file) }
        let spans = document.layout.elements(ofArrayAt: array.lowerBound)
        guard spans.count == expected.count else {
            throw .unexpectedShape(file: file, reason: "the \"certificates\" array could not be located in the text")
        }
        // The element with the separator that belongs to it: the comma and space after it up to the next element, or,
        // for the last one, from the end of the one before it (so the array never ends with a comma).
        let cut = index + 1 < spans.count ? spans[index].lowerBound ..< spans[index + 1].lowerBound
                                          : spans[index - 1].upperBound ..< spans[index].upperBound
        var edited = bytes
        edited.removeSubrange(cut)
        expected.remove(at: index)
        return Array(try document.checked(String(decoding: edited, as: UTF8.self), certificates: expected, change: "without \(name)").utf8)
    }

    /// Prepares removing certificate `name` from the config at `path` (read now, symbolic links followed); nothing is
    /// written until `ConfigEdit.write()`.
    public static func prepareRemoval(ofCertificate name: String, configAt path: String) throws(ConfigEditError) -> ConfigEdit {
        let existing: ExistingConfigFile
        do {
            guard let found = try ExistingConfigFile.read(path) else { throw ConfigEditError.fileSystem(file: path, reason: "it does not exist") }
            existing = found
        } catch let error as ConfigEditError {
            throw error
        } catch {
            throw .fileSystem(file: path, reason: "it cannot be read")
        }
        let edited = try removingCertificate(named: name, from: existing.bytes, file: path)
        return ConfigEdit(path: path, file: ConfigFileWrite(existing: existing), edited: edited)
    }

    /// The `name` of every entry of `certificates` in the config `bytes`, as the loader reads it.
    public static func names(in bytes: [UInt8]) -> [String] {
        guard case .object(let root)? = try? StrictJSONParser.parse(bytes), case .array(let entries)? = root["certificates"] else { return [] }
        return entries.compactMap(certificateName(of:))
    }

    /// The name of one `certificates` entry as the loader reads it: `name`, else the first domain in lower case (an
    /// IPv6 address's colons as `-`).
    static func certificateName(of entry: JSONValue) -> String? {
        guard case .object(let members) = entry else { return nil }
        if case .string(let name)? = members["name"] { return name }
        if case .array(let domains)? = members["domains"], case .string(let first)? = domains.first { return IPAddressEntry.defaultCertificateName(for: first) }
        return nil
    }

    /// `value` with the member at `path` set to `new` (objects missing on the way made), as `Document.setting` edits text.
    private static func setting(_ path: [String], to new: JSONValue, in value: JSONValue) -> JSONValue {
        guard let key = path.first else { return new }
        var members: [String: JSONValue] = [:]
        if case .object(let existing) = value { members = existing }
        members[key] = setting(Array(path.dropFirst()), to: new, in: members[key] ?? .object([:]))
        return .object(members)
    }

    // MARK: Layout

    /// A parsed config text with its layout, and the style its writer used.
    private struct Document {
        let file: String
        let parsed: [String: JSONValue]
        let layout: JSONTextLayout
        let rootMembers: [JSONTextLayout.Member]
        let style: OrderedJSON.Style

        init(_ bytes: [UInt8], file: String) throws(ConfigEditError) {
            self.file = file
            let value: JSONValue
            do { value = try StrictJSONParser.parse(bytes) } catch {
                throw .unexpectedShape(file: file, reason: "it is not valid JSON (\(error))")
            }
            guard case .object(let members) = value else { throw .unexpectedShape(file: file, reason: "it is not a JSON object") }
            parsed = members
            layout = JSONTextLayout(bytes)
            let root = layout.root
            rootMembers = layout.members(ofObjectAt: root.lowerBound)
            var style = OrderedJSON.Style(unit: "  ", separator: ": ")
            if let first = rootMembers.first {
                let rootIndent = layout.indentation(ofLineAt: root.lowerBound)
                let memberIndent = layout.indentation(ofLineAt: first.keyStart)
                if layout.hasLineBreak(from: root.lowerBound, to: first.keyStart), memberIndent.count > rootIndent.count {
                    style.unit = String(memberIndent.dropFirst(rootIndent.count))
                }
                // The separator exactly as written between the first key and its value.
                let written = layout.text(first.keyEnd ..< first.value.lowerBound)
                if !written.contains("\n") { style.separator = written }
            }
            self.style = style
        }

        /// The parsed entries of `certificates` (`certificates()` has checked there is such an array).
        var certificatesParsed: [JSONValue] {
            if case .array(let items)? = parsed["certificates"] { items } else { [] }
        }

        /// Where the `certificates` array is in the text.
        func certificates() throws(ConfigEditError) -> Range<Int> {
            guard case .array? = parsed["certificates"], let member = rootMembers.first(where: { $0.key == "certificates" }),
                  layout.bytes[member.value.lowerBound] == UInt8(ascii: "[") else {
                throw .unexpectedShape(file: file, reason: "it has no \"certificates\" array")
            }
            return member.value
        }

        /// `edited`, provided it parses to this document with `certificates` replaced by `expected`.
        func checked(_ edited: String, certificates expected: [JSONValue], change: String) throws(ConfigEditError) -> String {
            var members = parsed
            members["certificates"] = .array(expected)
            guard let reparsed = try? StrictJSONParser.parse(Array(edited.utf8)), reparsed == .object(members) else {
                throw .unexpectedShape(file: file, reason: "the edited text would not be the same config \(change)")
            }
            return edited
        }

        /// Appends `value` as the last element of the array at `array`.
        func appending(_ value: OrderedJSON, toArrayAt array: Range<Int>) -> String {
            let elements = layout.elements(ofArrayAt: array.lowerBound)
            let arrayIndent = layout.indentation(ofLineAt: array.lowerBound)
            guard let last = elements.last else {
                let indent = arrayIndent + style.unit
                let insertion = "\n" + indent + value.rendered(indent: indent, style: style) + "\n" + arrayIndent
                return splice(insertion, replacing: array.lowerBound + 1 ..< array.upperBound - 1)
            }
            let multiline = layout.hasLineBreak(from: array.lowerBound, to: elements[0].lowerBound)
            let indent = multiline ? layout.indentation(ofLineAt: last.lowerBound) : arrayIndent
            let insertion = (multiline ? ",\n" + indent : ", ") + value.rendered(indent: indent, style: multiline ? style : style.oneLine)
            return splice(insertion, replacing: last.upperBound ..< last.upperBound)
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
            if let existing {
                let indent = layout.indentation(ofLineAt: existing.keyStart)
                let multiline = layout.hasLineBreak(from: object.lowerBound, to: members[0].keyStart)
                return splice(value.rendered(indent: indent, style: multiline ? style : style.oneLine), replacing: existing.value)
            }
            let objectIndent = layout.indentation(ofLineAt: object.lowerBound)
            let key = OrderedJSON.encoded(path[0])
            guard let last = members.last else {
                let indent = objectIndent + style.unit
                let text = "\n" + indent + key + style.separator + value.rendered(indent: indent, style: style) + "\n" + objectIndent
                return splice(text, replacing: object.lowerBound + 1 ..< object.upperBound - 1)
            }
            let multiline = layout.hasLineBreak(from: object.lowerBound, to: members[0].keyStart)
            let indent = multiline ? layout.indentation(ofLineAt: last.keyStart) : objectIndent
            let text = (multiline ? ",\n" + indent : ", ") + key + style.separator + value.rendered(indent: indent, style: multiline ? style : style.oneLine)
            return splice(text, replacing: last.value.upperBound ..< last.value.upperBound)
        }

        private func splice(_ text: String, replacing range: Range<Int>) -> String {
            layout.text(0 ..< range.lowerBound) + text + layout.text(range.upperBound ..< layout.bytes.count)
        }
    }
}

/// A removal from the config file, prepared and checked, not yet written.
public struct ConfigEdit: Sendable {
    /// The config file, as given.
    public let path: String
    let file: ConfigFileWrite
    let edited: [UInt8]

    /// Writes the change (`ConfigFileWrite`): atomically, keeping owner, group and mode, and only if the file still
    /// holds what was read.
    public func write() throws(ConfigEditError) {
        try file.write(edited)
    }
}
