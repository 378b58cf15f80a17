import CertCrypto
import FoundationEssentials

/// One of certbot's renewal configurations (`renewal/<name>.conf`, configobj's INI dialect): where the lineage's
/// current files are, and how certbot renews it — `[renewalparams]` with `server`, `account`, `authenticator`,
/// `webroot_path`, `[[webroot_map]]`, `key_type`, `elliptic_curve`, `rsa_key_size`, `reuse_key` and the hooks.
/// Every value is checked as it is read: a bad one is an `ImportError` naming the file, the field and the value.
public struct CertbotRenewalFile: Sendable, Equatable {
    /// The file read.
    public let path: String
    /// The lineage's name (the file's name without `.conf`; certbot's `live/<name>`).
    public let name: String
    /// `cert`, `privkey`, `chain`, `fullchain`: the lineage's current files (links into `archive/` in `live/<name>`).
    public let certificatePath: String
    public let privateKeyPath: String
    public let chainPath: String
    public let fullChainPath: String
    /// `server`: the ACME directory URL.
    public let server: String
    /// `account`: the account's id (a directory in `accounts/<server>/`).
    public let account: String
    /// `authenticator`: `webroot`, `nginx`, `apache`, `standalone`, `manual`, a `dns-…` plugin.
    public let authenticator: String
    /// `webroot_path`: the webroots given with `-w`, in order.
    public let webrootPaths: [String]
    /// `[[webroot_map]]`: the webroot of each domain.
    public let webrootMap: [String: String]
    /// `key_type`: `rsa` or `ecdsa`, when written.
    public let keyType: String?
    /// `elliptic_curve`: `secp256r1`, `secp384r1`, `secp521r1`, when written.
    public let ellipticCurve: String?
    /// `rsa_key_size`, when written.
    public let rsaKeySize: Int?
    /// `reuse_key`: renewals keep the private key.
    public let reuseKey: Bool
    /// The hooks certbot runs around a renewal (`pre_hook`, `post_hook`, `renew_hook`, the last being `--deploy-hook`).
    public let hooks: [String: String]

    /// True when certbot renews it through a webroot (`authenticator = webroot`).
    public var isWebroot: Bool { authenticator == "webroot" }

    /// Reads the renewal configuration `text` of the file at `path`.
    public static func parse(_ text: String, path: String) throws(ImportError) -> CertbotRenewalFile {
        let sections = try ConfigObjText.parse(text, path: path)
        let fileName = String(path.split(separator: "/").last ?? "")
        let name = fileName.hasSuffix(".conf") ? String(fileName.dropLast(5)) : fileName
        let top = sections[""] ?? [:]
        let params = sections["renewalparams"] ?? [:]
        guard sections["renewalparams"] != nil else {
            throw ImportError(file: path, field: "[renewalparams]", problem: "is missing: this is not a certbot renewal configuration")
        }
        func required(_ values: [String: ConfigObjText.Value], _ key: String, section: String = "") throws(ImportError) -> String {
            let field = section.isEmpty ? key : "[\(section)] \(key)"
            guard let value = values[key] else { throw ImportError(file: path, field: field, problem: "is missing") }
            guard let text = value.scalar, !text.isEmpty else { throw ImportError(file: path, field: field, value: value.raw, problem: "must be one non-empty value") }
            return text
        }
        func absolutePath(_ key: String) throws(ImportError) -> String {
            let value = try required(top, key)
            guard ImportFiles.isPlainAbsolutePath(value) else {
                throw ImportError(file: path, field: key, value: value, problem: "must be an absolute path")
            }
            return value
        }
        let server = try required(params, "server", section: "renewalparams")
        guard let components = URLComponents(string: server), components.scheme == "https" || components.scheme == "http",
              let host = components.host, !host.isEmpty else {
            throw ImportError(file: path, field: "[renewalparams] server", value: server, problem: "is not an ACME directory URL (https://…)")
        }
        let account = try required(params, "account", section: "renewalparams")
        guard account.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)) }) else {
            throw ImportError(file: path, field: "[renewalparams] account", value: account, problem: "is not an account id (letters and digits)")
        }
        let authenticator = try required(params, "authenticator", section: "renewalparams")

        var webrootPaths: [String] = []
        if let value = params["webroot_path"] {
            for item in value.list {
                guard ImportFiles.isPlainAbsolutePath(item) else {
                    throw ImportError(file: path, field: "[renewalparams] webroot_path", value: item, problem: "must be an absolute path")
                }
                webrootPaths.append(item)
            }
        }
        var webrootMap: [String: String] = [:]
        for (domain, value) in sections["renewalparams.webroot_map"] ?? [:] {
            let field = "[[webroot_map]] \(domain)"
            guard let webroot = value.scalar, ImportFiles.isPlainAbsolutePath(webroot) else {
                throw ImportError(file: path, field: field, value: value.raw, problem: "must be an absolute path")
            }
            guard DomainName.problem(with: domain.lowercased()) == nil else {
                throw ImportError(file: path, field: "[[webroot_map]]", value: domain, problem: "is not a domain name")
            }
            webrootMap[domain.lowercased()] = webroot
        }

        let keyType = try params["key_type"].map { value throws(ImportError) -> String in
            guard let text = value.scalar, ["rsa", "ecdsa"].contains(text) else {
                throw ImportError(file: path, field: "[renewalparams] key_type", value: value.raw, problem: "must be rsa or ecdsa")
            }
            return text
        }
        let curve = try params["elliptic_curve"].map { value throws(ImportError) -> String in
            guard let text = value.scalar, ["secp256r1", "secp384r1", "secp521r1"].contains(text) else {
                throw ImportError(file: path, field: "[renewalparams] elliptic_curve", value: value.raw, problem: "must be secp256r1, secp384r1 or secp521r1")
            }
            return text
        }
        let rsaKeySize = try params["rsa_key_size"].map { value throws(ImportError) -> Int in
            guard let text = value.scalar, let bits = Int(text), (1024...16384).contains(bits) else {
                throw ImportError(file: path, field: "[renewalparams] rsa_key_size", value: value.raw, problem: "must be a number of bits such as 2048")
            }
            return bits
        }
        let reuseKey = try params["reuse_key"].map { value throws(ImportError) -> Bool in
            switch value.scalar?.lowercased() {
            case "true", "yes", "on", "1": return true
            case "false", "no", "off", "0": return false
            default: throw ImportError(file: path, field: "[renewalparams] reuse_key", value: value.raw, problem: "must be True or False")
            }
        } ?? false
        var hooks: [String: String] = [:]
        for key in ["pre_hook", "post_hook", "renew_hook"] {
            if let value = params[key]?.raw, !value.isEmpty { hooks[key] = value }
        }
        return CertbotRenewalFile(
            path: path, name: name, certificatePath: try absolutePath("cert"), privateKeyPath: try absolutePath("privkey"),
            chainPath: try absolutePath("chain"), fullChainPath: try absolutePath("fullchain"), server: server, account: account,
            authenticator: authenticator, webrootPaths: webrootPaths, webrootMap: webrootMap, keyType: keyType, ellipticCurve: curve,
            rsaKeySize: rsaKeySize, reuseKey: reuseKey, hooks: hooks)
    }

    /// The key type certbot makes at a renewal, as CertAgent names it: `key_type` with `elliptic_curve` (default
    /// secp256r1) or `rsa_key_size` (default 2048). Nil when `key_type` is not written (the current key's type then
    /// says it) or names a key CertAgent does not make (P-521, an RSA size other than 2048, 3072, 4096).
    public var configuredKeyType: KeyType? {
        switch keyType {
        case "ecdsa":
            switch ellipticCurve ?? "secp256r1" {
            case "secp256r1": return .ec256
            case "secp384r1": return .ec384
            default: return nil
            }
        case "rsa":
            return KeyType(rawValue: "rsa\(rsaKeySize ?? 2048)")
        default:
            return nil
        }
    }

    /// certbot's key settings as written, for messages.
    var keySettingsText: String {
        ["key_type": keyType, "elliptic_curve": ellipticCurve, "rsa_key_size": rsaKeySize.map(String.init)]
            .compactMap { key, value in value.map { "\(key) = \($0)" } }.sorted().joined(separator: ", ")
    }

    /// The webroot certbot used for `domain` (lower case): its `[[webroot_map]]` entry, else the only `webroot_path`.
    public func webroot(for domain: String) -> String? {
        if let mapped = webrootMap[domain] { return mapped }
        return webrootPaths.count == 1 ? webrootPaths[0] : nil
    }
}

/// The subset of configobj's INI dialect certbot writes: `key = value` lines, `#` comments, `[section]` and
/// `[[subsection]]` headers, values quoted with `"` or `'` or bare, lists separated by commas. Sections are keyed by
/// their dotted path (`renewalparams.webroot_map`), the top level by "".
enum ConfigObjText {
    /// One value as written.
    struct Value: Sendable, Equatable {
        /// The text after `=`, trimmed, comment removed.
        let raw: String
        /// The items of a list (`a, b,`), unquoted, empty ones dropped.
        var list: [String] { ConfigObjText.items(raw).filter { !$0.isEmpty } }
        /// The single value, unquoted; nil when it is a list of several.
        var scalar: String? {
            let items = ConfigObjText.items(raw)
            return items.count == 1 ? items[0] : (items.isEmpty ? "" : nil)
        }
    }

    static func parse(_ text: String, path: String) throws(ImportError) -> [String: [String: Value]] {
        var sections: [String: [String: Value]] = ["": [:]]
        var stack: [String] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingWhitespace()
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let lineField = "line \(index + 1)"
            if trimmed.hasPrefix("[") {
                let depth = trimmed.prefix { $0 == "[" }.count
                let closing = trimmed.reversed().prefix { $0 == "]" }.count
                let name = trimmed.dropFirst(depth).dropLast(closing).trimmingWhitespace()
                guard closing == depth, !name.isEmpty, !name.contains("["), !name.contains("]"), depth <= stack.count + 1 else {
                    throw ImportError(file: path, field: lineField, value: trimmed, problem: "is not a [section] header certbot writes")
                }
                stack = Array(stack.prefix(depth - 1)) + [name]
                let key = stack.joined(separator: ".")
                guard sections[key] == nil else { throw ImportError(file: path, field: lineField, value: trimmed, problem: "repeats a section") }
                sections[key] = [:]
                continue
            }
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw ImportError(file: path, field: lineField, value: trimmed, problem: "is neither `key = value` nor a [section] header")
            }
            let key = trimmed[..<equals].trimmingWhitespace()
            let value = uncommented(trimmed[trimmed.index(after: equals)...].trimmingWhitespace())
            guard !key.isEmpty else { throw ImportError(file: path, field: lineField, value: trimmed, problem: "has no key before =") }
            let section = stack.joined(separator: ".")
            guard sections[section]?[key] == nil else {
                throw ImportError(file: path, field: (section.isEmpty ? "" : "[\(section)] ") + key, problem: "is given twice")
            }
            sections[section, default: [:]][key] = Value(raw: value)
        }
        return sections
    }

    /// `text` without a trailing `# comment` outside quotes.
    private static func uncommented(_ text: String) -> String {
        var quote: Character? = nil
        for index in text.indices {
            let character = text[index]
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == "#" {
                return text[..<index].trimmingWhitespace()
            }
        }
        return text
    }

    /// The comma-separated items of `raw`, each trimmed and unquoted (commas inside quotes kept).
    static func items(_ raw: String) -> [String] {
        guard !raw.isEmpty else { return [] }
        var items: [String] = []
        var current = ""
        var quote: Character? = nil
        var wasQuoted = false
        for character in raw {
            if let open = quote {
                if character == open { quote = nil } else { current.append(character) }
            } else if character == "\"" || character == "'" {
                quote = character
                wasQuoted = true
            } else if character == "," {
                items.append(wasQuoted ? current : current.trimmingWhitespace())
                current = ""
                wasQuoted = false
            } else if !(wasQuoted && character.isWhitespace) {
                current.append(character)
            }
        }
        let last = wasQuoted ? current : current.trimmingWhitespace()
        if !last.isEmpty || wasQuoted || !raw.hasSuffix(",") { items.append(last) }
        return items
    }
}
