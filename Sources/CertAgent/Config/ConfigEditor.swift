#if canImport(Glibc)
import Glibc
#endif

/// Why the config could not be edited.
public enum ConfigRemovalError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No entry of `certificates` has this name.
    case noSuchCertificate(name: String, file: String)
    /// Removing it would leave `certificates` empty, which no config may be.
    case onlyCertificate(name: String, file: String)
    /// The text is not a config object with a `certificates` array (it was valid when loaded: it changed since).
    case unexpectedShape(file: String, reason: String)
    /// The file changed between reading and rewriting it.
    case changedMeanwhile(file: String)
    /// The rewrite could not be done (nothing was changed).
    case fileSystem(file: String, reason: String)

    public var description: String {
        switch self {
        case .noSuchCertificate(let name, let file): "\(file) has no certificate named \(name)"
        case .onlyCertificate(let name, let file):
            "\(name) is the only certificate in \(file), and a config lists at least one: add the next site first, "
                + "or stop the daemon and remove the config and the store yourself"
        case .unexpectedShape(let file, let reason): "cannot edit \(file): \(reason); it was not changed"
        case .changedMeanwhile(let file): "\(file) was changed by someone else while it was being edited: it was left as it is, try again"
        case .fileSystem(let file, let reason): "cannot rewrite \(file): \(reason); it was not changed"
        }
    }
}

/// Edits the config file as text, so everything the admin wrote stays as written — member order, indentation, line
/// breaks, escapes — except the one change asked for.
///
/// `removingCertificate` cuts one element of the top-level `certificates` array out of the text, with the separator
/// that went with it, at byte positions found by `JSONTextSpans` (on text `StrictJSONParser` accepts). The result is
/// checked by parsing it again: it must equal the original document with that one element removed, or nothing is
/// written. `replaceFile` writes it atomically (`AtomicFile`), keeping the file's owner, group and mode.
public enum ConfigEditor {
    /// The config text `bytes` without the entry of `certificates` named `name` (its `name`, or its first domain when
    /// it has none, as the loader reads it). `file` names the config in messages.
    public static func removingCertificate(named name: String, from bytes: [UInt8], file: String) throws(ConfigRemovalError) -> [UInt8] {
        let original: JSONValue
        do { original = try StrictJSONParser.parse(bytes) } catch {
            throw .unexpectedShape(file: file, reason: "it is not valid JSON (\(error))")
        }
        guard case .object(var members) = original, case .array(var items)? = members["certificates"] else {
            throw .unexpectedShape(file: file, reason: "it has no \"certificates\" array")
        }
        guard let index = items.firstIndex(where: { certificateName(of: $0) == name }) else {
            throw .noSuchCertificate(name: name, file: file)
        }
        guard items.count > 1 else { throw .onlyCertificate(name: name, file: file) }
        guard let spans = JSONTextSpans.elements(ofTopLevelArray: "certificates", in: bytes), spans.count == items.count else {
            throw .unexpectedShape(file: file, reason: "the \"certificates\" array could not be located in the text")
        }
        // The element with the separator that belongs to it: the comma and space after it up to the next element, or,
        // for the last one, from the end of the one before it (so the array never ends with a comma).
        let cut = index + 1 < spans.count ? spans[index].lowerBound ..< spans[index + 1].lowerBound
                                          : spans[index - 1].upperBound ..< spans[index].upperBound
        var edited = bytes
        edited.removeSubrange(cut)
        items.remove(at: index)
        members["certificates"] = .array(items)
        guard let reparsed = try? StrictJSONParser.parse(edited), reparsed == .object(members) else {
            throw .unexpectedShape(file: file, reason: "the edited text would not be the same config without \(name)")
        }
        return edited
    }

    /// Prepares removing certificate `name` from the config at `path` (read now, symbolic links followed); nothing is
    /// written until `ConfigEdit.write()`.
    public static func prepareRemoval(ofCertificate name: String, configAt path: String) throws(ConfigRemovalError) -> ConfigEdit {
        let original: [UInt8]
        do { original = try RegularFileReader.read(path, limit: ConfigFileReader.maximumSize).bytes } catch {
            throw .fileSystem(file: path, reason: "it cannot be read")
        }
        return ConfigEdit(path: path, original: original, edited: try removingCertificate(named: name, from: original, file: path))
    }

    /// The name of one `certificates` entry as the loader reads it: `name`, else the first domain in lower case.
    static func certificateName(of entry: JSONValue) -> String? {
        guard case .object(let members) = entry else { return nil }
        if case .string(let name)? = members["name"] { return name }
        if case .array(let domains)? = members["domains"], case .string(let first)? = domains.first { return first.lowercased() }
        return nil
    }

    /// Replaces the config at `path` (symbolic links followed: the file they lead to is rewritten, the links stay) with
    /// `bytes`, atomically, keeping its owner, group and mode — provided it still holds exactly `original`.
    public static func replaceFile(at path: String, with bytes: [UInt8], expecting original: [UInt8]) throws(ConfigRemovalError) {
        guard let resolved = realpath(path, nil) else {
            throw .fileSystem(file: path, reason: FileErrorWords.reason(errno))
        }
        let target = String(cString: resolved)
        free(resolved)
        let current: RegularFileReader.File
        do { current = try RegularFileReader.read(target, limit: ConfigFileReader.maximumSize) } catch {
            throw .fileSystem(file: path, reason: "it cannot be read again")
        }
        guard current.bytes == original else { throw .changedMeanwhile(file: path) }
        var info = stat()
        guard lstat(target, &info) == 0 else { throw .fileSystem(file: path, reason: FileErrorWords.reason(errno)) }
        let owner = info.st_uid == geteuid() ? nil : info.st_uid
        let group = info.st_gid == getegid() ? nil : info.st_gid
        do {
            try AtomicFile.write(bytes, to: target, mode: info.st_mode & 0o7777, owner: owner, group: group)
        } catch {
            throw .fileSystem(file: path, reason: "\(error)")
        }
    }
}

/// A change to the config file, prepared and checked, not yet written.
public struct ConfigEdit: Sendable {
    /// The config file.
    public let path: String
    let original: [UInt8]
    let edited: [UInt8]

    /// Writes the change (`ConfigEditor.replaceFile`): atomically, keeping owner, group and mode, and only if the file
    /// still holds what was read.
    public func write() throws(ConfigRemovalError) {
        try ConfigEditor.replaceFile(at: path, with: edited, expecting: original)
    }
}

/// Byte positions of values in JSON text that `StrictJSONParser` accepts (it is not a validator: parse first).
enum JSONTextSpans {
    /// The byte range of each element of the array that is the value of `key` in the top-level object, in order;
    /// nil when the text is not an object with such an array.
    static func elements(ofTopLevelArray key: String, in bytes: [UInt8]) -> [Range<Int>]? {
        var scanner = SpanScanner(bytes: bytes)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { scanner.offset = 3 }
        scanner.skipWhitespace()
        guard scanner.consume(UInt8(ascii: "{")) else { return nil }
        var found: [Range<Int>]?
        scanner.skipWhitespace()
        if scanner.consume(UInt8(ascii: "}")) { return nil }
        while scanner.offset < bytes.count {
            let keyStart = scanner.offset
            guard scanner.skipString() else { return nil }
            guard case .string(let member)? = try? StrictJSONParser.parse(Array(bytes[keyStart ..< scanner.offset])) else { return nil }
            scanner.skipWhitespace()
            guard scanner.consume(UInt8(ascii: ":")) else { return nil }
            scanner.skipWhitespace()
            if member == key {
                guard let items = scanner.arrayElements() else { return nil }
                found = items
            } else {
                guard scanner.skipValue() else { return nil }
            }
            scanner.skipWhitespace()
            if scanner.consume(UInt8(ascii: ",")) {
                scanner.skipWhitespace()
                continue
            }
            guard scanner.consume(UInt8(ascii: "}")) else { return nil }
            return found
        }
        return nil
    }

    private struct SpanScanner {
        let bytes: [UInt8]
        var offset = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func skipWhitespace() {
            while offset < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[offset]) { offset += 1 }
        }

        mutating func consume(_ byte: UInt8) -> Bool {
            guard offset < bytes.count, bytes[offset] == byte else { return false }
            offset += 1
            return true
        }

        /// Skips a string starting at `offset` (its escapes included).
        mutating func skipString() -> Bool {
            guard consume(UInt8(ascii: "\"")) else { return false }
            while offset < bytes.count {
                switch bytes[offset] {
                case UInt8(ascii: "\\"): offset += 2
                case UInt8(ascii: "\""):
                    offset += 1
                    return true
                default: offset += 1
                }
            }
            return false
        }

        /// Skips any value: strings whole, brackets counted, everything else up to the next separator.
        mutating func skipValue() -> Bool {
            guard offset < bytes.count else { return false }
            switch bytes[offset] {
            case UInt8(ascii: "\""): return skipString()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0
                while offset < bytes.count {
                    switch bytes[offset] {
                    case UInt8(ascii: "\""):
                        guard skipString() else { return false }
                        continue
                    case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        depth -= 1
                        if depth == 0 {
                            offset += 1
                            return true
                        }
                    default: break
                    }
                    offset += 1
                }
                return false
            default:
                let start = offset
                while offset < bytes.count, ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D].contains(bytes[offset]) {
                    offset += 1
                }
                return offset > start
            }
        }

        /// The ranges of the elements of the array starting at `offset`, which is skipped.
        mutating func arrayElements() -> [Range<Int>]? {
            guard consume(UInt8(ascii: "[")) else { return nil }
            var ranges: [Range<Int>] = []
            skipWhitespace()
            if consume(UInt8(ascii: "]")) { return ranges }
            while offset < bytes.count {
                let start = offset
                guard skipValue() else { return nil }
                ranges.append(start ..< offset)
                skipWhitespace()
                if consume(UInt8(ascii: "]")) { return ranges }
                guard consume(UInt8(ascii: ",")) else { return nil }
                skipWhitespace()
            }
            return nil
        }
    }
}
