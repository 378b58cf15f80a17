import CertCrypto
import FoundationEssentials

/// The sealed secrets file's text, one line of JSON:
/// ```
/// {"format":"certagent-secrets","version":1,"check":"<base64>","secrets":{"<name>":"<base64>",…}}
/// ```
/// Each secret is `SecretBox.seal(value, key: secrets key, associatedData: "certagent-secret:" + name)` (so a value
/// moved to another name fails to open); `check` seals a constant under associated data "certagent-key-check", so a
/// wrong master key is told apart from damage, even when there are no secrets. Names are sorted bytewise, base64 is
/// standard with padding, and a file is accepted only in exactly this form: any edit, even whitespace or a
/// duplicated name, is refused rather than half-trusted.
enum SecretsFileFormat {
    static let formatName = "certagent-secrets"
    static let version = 1
    static let checkPlaintext = Array("certagent-key-check v1".utf8)
    static let checkAssociatedData = Array("certagent-key-check".utf8)

    static func associatedData(for name: String) -> [UInt8] { Array(("certagent-secret:" + name).utf8) }

    /// The canonical file text for `check` and `sealed` values.
    static func encode(check: [UInt8], sealed: [String: [UInt8]]) -> [UInt8] {
        let entries = sealed.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }.map { name in
            "\"\(name)\":\"\(base64(sealed[name]!))\""
        }
        let text = "{\"format\":\"\(formatName)\",\"version\":\(version),\"check\":\"\(base64(check))\","
            + "\"secrets\":{\(entries.joined(separator: ","))}}\n"
        return Array(text.utf8)
    }

    /// A new file's text for plaintext `values` under `key` (fresh nonces throughout).
    static func seal(values: [String: [UInt8]], key: KeyBytes) throws -> [UInt8] {
        var sealed: [String: [UInt8]] = [:]
        for (name, value) in values { sealed[name] = try seal(value, name: name, key: key) }
        return encode(check: try sealCheck(key: key), sealed: sealed)
    }

    static func seal(_ value: [UInt8], name: String, key: KeyBytes) throws -> [UInt8] {
        try SecretBox.seal(value, key: key.bytes, associatedData: associatedData(for: name))
    }

    static func sealCheck(key: KeyBytes) throws -> [UInt8] {
        try SecretBox.seal(checkPlaintext, key: key.bytes, associatedData: checkAssociatedData)
    }

    /// Decrypts one verified sealed value.
    static func open(_ sealed: [UInt8], name: String, key: KeyBytes, path: String) throws -> [UInt8] {
        do {
            return try SecretBox.open(sealed, key: key.bytes, associatedData: associatedData(for: name))
        } catch {
            throw SecretsError.tampered(path: path, name: name)
        }
    }

    /// Parses `bytes`, checks the form, the key check and every sealed value; returns the sealed values and the check.
    static func decode(_ bytes: [UInt8], path: String, key: KeyBytes) throws -> (check: [UInt8], sealed: [String: [UInt8]]) {
        func malformed(_ detail: String) -> SecretsError { .malformed(path: path, detail: detail) }
        guard !bytes.isEmpty else { throw malformed("the file is empty") }
        guard let parsed = try? StrictJSONParser.parse(bytes) else {
            throw malformed("not valid JSON (\(bytes.count) bytes; truncated?)")
        }
        guard case .object(let object) = parsed else { throw malformed("not a JSON object") }
        guard case .string(formatName)? = object["format"] else { throw malformed("\"format\" is not \"\(formatName)\"") }
        guard case .number(let number)? = object["version"], let fileVersion = Int(exactly: number) else {
            throw malformed("\"version\" is not a number")
        }
        guard fileVersion == version else { throw SecretsError.unsupportedVersion(path: path, version: fileVersion) }
        let unexpected = Set(object.keys).subtracting(["format", "version", "check", "secrets"])
        guard unexpected.isEmpty else { throw malformed("unexpected field(s) \(unexpected.sorted().map { SecretName.quoted($0) }.joined(separator: ", "))") }
        guard case .string(let checkText)? = object["check"], let check = decodeBase64(checkText) else {
            throw malformed("\"check\" is missing or not base64")
        }
        guard case .object(let entries)? = object["secrets"] else { throw malformed("\"secrets\" is missing or not an object") }
        var sealed: [String: [UInt8]] = [:]
        for (name, value) in entries {
            guard SecretName.isValid(name) else { throw malformed("invalid secret name \(SecretName.quoted(name))") }
            guard case .string(let text) = value, let data = decodeBase64(text) else {
                throw malformed("the value of \(SecretName.quoted(name)) is not base64")
            }
            sealed[name] = data
        }
        guard encode(check: check, sealed: sealed) == bytes else {
            throw malformed("not in the exact form CertAgent writes (edited by hand, or damaged)")
        }
        do {
            var plaintext = try SecretBox.open(check, key: key.bytes, associatedData: checkAssociatedData)
            defer { SecureMemory.cleanse(&plaintext) }
            guard plaintext == checkPlaintext else { throw SecretsError.wrongMasterKey(path: path) }
        } catch {
            throw SecretsError.wrongMasterKey(path: path)
        }
        for name in sealed.keys.sorted() {
            var plaintext = try open(sealed[name]!, name: name, key: key, path: path)
            SecureMemory.cleanse(&plaintext)
        }
        return (check, sealed)
    }

    private static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    private static func decodeBase64(_ text: String) -> [UInt8]? {
        guard let data = Data(base64Encoded: text) else { return nil }
        return Array(data)
    }
}
