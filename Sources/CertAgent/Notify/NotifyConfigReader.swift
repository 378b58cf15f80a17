import ACME
import FoundationEssentials

/// Reads `notify` (top level) and a certificate's `notify` (an object replacing it, or `false`), every value bounded
/// and reported with its field like the rest of the config.
enum NotifyConfigReader {
    /// The top-level `notify` block, nil when absent or invalid (the problems are recorded).
    static func read(_ reader: inout FieldReader) -> NotifyConfig? {
        guard let members = reader.object("notify") else { return nil }
        return readBlock(members, into: &reader, path: reader.fieldPath("notify"))
    }

    /// A certificate's `notify`: `false` (nobody is told about it), an object (replaces the top-level block), or absent.
    static func readOverride(_ reader: inout FieldReader) -> CertificateNotify? {
        guard let value = reader.raw("notify") else { return nil }
        switch value {
        case .bool(false): return .disabled
        case .object(let members):
            return readBlock(members, into: &reader, path: reader.fieldPath("notify")).map { .replaced($0) }
        default:
            reader.report("notify", value, "must be false (tell nobody about this certificate) or an object replacing the top-level notify block, not \(value.kindName)")
            return nil
        }
    }

    private static func readBlock(_ members: [String: JSONValue], into reader: inout FieldReader, path: String) -> NotifyConfig? {
        var block = FieldReader(members, path: path)
        let email = block.object("email").map { readEmail($0, into: &block, path: block.fieldPath("email")) }
        let webhook = block.object("webhook").map { readWebhook($0, into: &block, path: block.fieldPath("webhook")) }
        let share = readNumber(&block, "atRiskShare", range: 0.01...0.9, whole: false, what: "a share of the lifetime")
        let floor = readNumber(&block, "atRiskFloorDays", range: 0...365, whole: false, what: "days")
        block.reportUnknownFields()
        if block.problems.isEmpty, email == nil, webhook == nil {
            block.add(field: path, value: nil, message: "names no channel: add email and/or webhook (or remove the block)")
        }
        reader.absorb(block)
        guard block.problems.isEmpty else { return nil }
        var config = NotifyConfig(email: email ?? nil, webhook: webhook ?? nil)
        if let share { config.atRiskShare = share }
        if let floor { config.atRiskFloorDays = floor }
        return config
    }

    private static func readNumber(_ reader: inout FieldReader, _ key: String, range: ClosedRange<Double>, whole: Bool, what: String) -> Double? {
        guard let value = reader.raw(key) else { return nil }
        guard case .number(let number) = value, range.contains(number), !whole || number == number.rounded() else {
            reader.report(key, value, "must be \(whole ? "a whole number" : "a number") from \(format(range.lowerBound)) to \(format(range.upperBound)) (\(what))")
            return nil
        }
        return number
    }

    private static func format(_ number: Double) -> String {
        number == number.rounded() ? String(Int(number)) : String(number)
    }

    private static func readSecretName(_ reader: inout FieldReader, _ key: String, required: Bool = false) -> String? {
        guard let name = reader.string(key, required: required) else { return nil }
        guard SecretName.isValid(name) else {
            reader.report(key, .string(name), "is not a secret name (1–64 characters of A–Z, a–z, 0–9, '.', '_' and '-')")
            return nil
        }
        return name
    }

    // MARK: email

    private static func readEmail(_ members: [String: JSONValue], into reader: inout FieldReader, path: String) -> EmailNotifyConfig? {
        var email = FieldReader(members, path: path)
        let server = email.text("server", limit: 253, what: "a host name or address", required: true)
        // One colon is a port written into the name (an IPv6 address has several).
        if let server, server.isEmpty || server.contains(where: { $0 == " " || $0 == "/" || $0 == "@" }) || server.count(where: { $0 == ":" }) == 1 {
            email.report("server", .string(server), "is not a host name or address (the port goes in port)")
        }
        var security = EmailNotifyConfig.Security.starttls
        if let written = email.string("security") {
            if let known = EmailNotifyConfig.Security(rawValue: written) {
                security = known
            } else {
                email.report("security", .string(written), "must be starttls (the default: STARTTLS required, never plain text) or smtps (TLS from the start)")
            }
        }
        let port = readNumber(&email, "port", range: 1...65_535, whole: true, what: "a TCP port; default \(security.defaultPort) for \(security.rawValue)")
        let from = email.string("from", required: true)
        if let from, let problem = FieldLimits.emailProblem(from) { email.report("from", .string(from), problem) }
        var recipients: [String] = []
        if let entries = email.strings("to") {
            for (field, value) in entries {
                if let problem = FieldLimits.emailProblem(value) {
                    email.add(field: field, value: JSONValue.string(value).excerpt, message: problem)
                } else if !recipients.contains(value) {
                    recipients.append(value)
                }
            }
            if entries.isEmpty { email.report("to", .array([]), "is empty: list at least one address") }
            if entries.count > 50 { email.report("to", nil, "lists \(entries.count) addresses: at most 50") }
        } else if !email.problems.contains(where: { $0.field == email.fieldPath("to") }) {
            email.report("to", nil, "is required: one address or a list")
        }
        let username = email.text("username", limit: 256, what: "a user name")
        let password = readSecretName(&email, "passwordSecret")
        if username != nil, password == nil, !email.problems.contains(where: { $0.field == email.fieldPath("passwordSecret") }) {
            email.report("passwordSecret", nil, "is required with username: the name of a secret holding the password (certagent secret set NAME)")
        }
        if password != nil, username == nil, !email.problems.contains(where: { $0.field == email.fieldPath("username") }) {
            email.report("username", nil, "is required with passwordSecret")
        }
        let caFile = email.string("caFile")
        if let caFile {
            if !caFile.hasPrefix("/") {
                email.report("caFile", .string(caFile), "must be an absolute path")
            } else if let problem = ReferencedFiles.caFileProblem(caFile) {
                email.report("caFile", .string(caFile), problem)
            }
        }
        email.reportUnknownFields()
        reader.absorb(email)
        guard email.problems.isEmpty, let server, let from else { return nil }
        var config = EmailNotifyConfig(server: server, port: port.map { Int($0) }, security: security, from: from, to: recipients,
                                       username: username, passwordSecret: password)
        config.caFile = caFile
        return config
    }

    // MARK: webhook

    private static func readWebhook(_ members: [String: JSONValue], into reader: inout FieldReader, path: String) -> WebhookConfig? {
        var hook = FieldReader(members, path: path)
        let url = hook.text("url", limit: FieldLimits.urlBytes, what: "a URL", required: true)
        if let url, let problem = urlProblem(url) { hook.report("url", .string(url), problem) }
        var format = WebhookConfig.Format.json
        if let written = hook.string("format") {
            if let known = WebhookConfig.Format(rawValue: written) {
                format = known
            } else {
                hook.report("format", .string(written), "must be one of: \(WebhookConfig.Format.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        let timeout = readNumber(&hook, "timeoutSeconds", range: 1...120, whole: false, what: "seconds")
        let headers = hook.object("headers").map { readHeaders($0, into: &hook, path: hook.fieldPath("headers")) } ?? []
        hook.reportUnknownFields()
        reader.absorb(hook)
        guard hook.problems.isEmpty, let url else { return nil }
        return WebhookConfig(url: url, format: format, headers: headers, timeoutSeconds: timeout ?? WebhookConfig.defaultTimeoutSeconds)
    }

    /// Headers CertAgent sets itself: the config cannot replace them.
    static let reservedHeaders: Set<String> = ["host", "content-length", "content-type", "transfer-encoding", "connection"]

    private static func readHeaders(_ members: [String: JSONValue], into reader: inout FieldReader, path: String) -> [WebhookConfig.Header] {
        var headers: [WebhookConfig.Header] = []
        if members.count > 20 { reader.add(field: path, value: nil, message: "has \(members.count) headers: at most 20") }
        for (name, value) in members.sorted(by: { $0.key < $1.key }) {
            let field = path + "[\"\(name)\"]"
            let isToken = !name.isEmpty && name.utf8.count <= 64
                && name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "!#$%&'*+-.^_`|~".unicodeScalars.contains($0)) }
            guard isToken else {
                reader.add(field: field, value: JSONValue.string(name).excerpt, message: "is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~, at most 64)")
                continue
            }
            guard !reservedHeaders.contains(name.lowercased()) else {
                reader.add(field: field, value: nil, message: "is set by CertAgent itself")
                continue
            }
            switch value {
            case .string(let text):
                if let problem = FieldLimits.textProblem(text, limit: 1024, what: "a header value") {
                    reader.add(field: field, value: value.excerpt, message: problem)
                } else {
                    headers.append(.init(name: name, value: .plain(text)))
                }
            case .object(let inner):
                var secretReader = FieldReader(inner, path: field)
                let secret = readSecretName(&secretReader, "secret", required: true)
                let prefix = secretReader.text("prefix", limit: 64, what: "a prefix such as \"Bearer \"") ?? ""
                secretReader.reportUnknownFields()
                reader.absorb(secretReader)
                if let secret, secretReader.problems.isEmpty { headers.append(.init(name: name, value: .secret(name: secret, prefix: prefix))) }
            default:
                reader.add(field: field, value: value.excerpt,
                           message: "must be a string (a plain value) or {\"secret\": NAME} (a sealed secret's value, optionally with \"prefix\": \"Bearer \"), not \(value.kindName)")
            }
        }
        return headers
    }

    /// Why `url` cannot be a webhook: https anywhere, http only to this machine (127.0.0.0/8, ::1, localhost).
    static func urlProblem(_ url: String) -> String? {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), let host = parsed.host, !host.isEmpty else {
            return "is not a URL (https://host/path)"
        }
        if parsed.user != nil || parsed.password != nil { return "must not carry a user or password: put a token in headers as a secret" }
        switch scheme {
        case "https": return nil
        case "http": return isLoopback(host) ? nil : "must be https:// (http:// only to this machine: 127.0.0.0/8, ::1 or localhost)"
        default: return "must be an https:// URL"
        }
    }

    static func isLoopback(_ host: String) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if bare.lowercased() == "localhost" || bare == "::1" { return true }
        let parts = bare.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }
}
