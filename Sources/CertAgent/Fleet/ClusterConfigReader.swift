import ACME
import FoundationEssentials

/// Reads the `cluster` block (`ClusterConfig`): every value bounded and reported with its field like the rest of the
/// config. No block: nil, and CertAgent runs as a single server exactly as without fleet mode.
enum ClusterConfigReader {
    /// The most etcd endpoints a block may list.
    static let maximumEndpoints = 16

    static func read(_ reader: inout FieldReader) -> ClusterConfig? {
        guard let members = reader.object("cluster") else { return nil }
        var block = FieldReader(members, path: reader.fieldPath("cluster"))
        let node = block.string("node", required: true)
        if let node, !ClusterConfig.isValidNodeName(node) {
            block.report("node", .string(node), "is not a node name (1–63 characters of A–Z, a–z, 0–9, '.', '_' and '-', not starting with '.'): it names this server in the fleet and must differ on every node")
        }
        let endpoints = readEndpoints(&block)
        let prefix = readPrefix(&block)
        let caFile = block.path("caFile")
        if let caFile, let problem = ReferencedFiles.caFileProblem(caFile) {
            block.report("caFile", .string(caFile), problem.replacing("the ACME server's TLS certificate", with: "the etcd members' TLS certificates"))
        }
        let certificateFile = block.path("certificateFile")
        let keyFile = block.path("keyFile")
        for (key, path) in [("certificateFile", certificateFile), ("keyFile", keyFile)] {
            if let path, let problem = regularFileProblem(path) { block.report(key, .string(path), problem) }
        }
        if certificateFile != nil, keyFile == nil, !block.problems.contains(where: { $0.field == block.fieldPath("keyFile") }) {
            block.report("keyFile", nil, "is required with certificateFile: the private key of the client certificate")
        }
        if keyFile != nil, certificateFile == nil, !block.problems.contains(where: { $0.field == block.fieldPath("certificateFile") }) {
            block.report("certificateFile", nil, "is required with keyFile: the client certificate etcd's --client-cert-auth checks")
        }
        let user = block.text("user", limit: 256, what: "an etcd user name")
        if let user, user.isEmpty { block.report("user", .string(user), "is empty") }
        let passwordSecret = block.string("passwordSecret")
        if let passwordSecret, !SecretName.isValid(passwordSecret) {
            block.report("passwordSecret", .string(passwordSecret), "is not a secret name (1–64 characters of A–Z, a–z, 0–9, '.', '_' and '-'): store the etcd password with `certagent secret set NAME` and give NAME here")
        }
        if user != nil, passwordSecret == nil, !block.problems.contains(where: { $0.field == block.fieldPath("passwordSecret") }) {
            block.report("passwordSecret", nil, "is required with user: the name of a secret holding the etcd password (certagent secret set NAME)")
        }
        if passwordSecret != nil, user == nil, !block.problems.contains(where: { $0.field == block.fieldPath("user") }) {
            block.report("user", nil, "is required with passwordSecret")
        }
        let plain = endpoints.filter { $0.lowercased().hasPrefix("http://") }
        if let first = plain.first, caFile != nil || certificateFile != nil {
            block.report("endpoints", .string(first), "is http://, but caFile/certificateFile are for TLS: give https:// endpoints")
        }
        let lease = ConfigLoader.readPositiveNumber(&block, "leaseSeconds", range: 5...300)
        let acknowledge = ConfigLoader.readPositiveNumber(&block, "acknowledgeTimeoutSeconds", range: 5...3_600)
        block.reportUnknownFields()
        reader.absorb(block)
        guard block.problems.isEmpty, let node, !endpoints.isEmpty else { return nil }
        var config = ClusterConfig(node: node, endpoints: endpoints)
        if let prefix { config.prefix = prefix }
        config.caFile = caFile
        config.certificateFile = certificateFile
        config.keyFile = keyFile
        config.user = user
        config.passwordSecret = passwordSecret
        if let lease { config.leaseSeconds = Int(lease) }
        if let acknowledge { config.acknowledgeTimeoutSeconds = Int(acknowledge) }
        return config
    }

    /// `endpoints`: one URL or a list; each `https://host:port` (or `http://` to this machine), no path, user or query.
    private static func readEndpoints(_ reader: inout FieldReader) -> [String] {
        guard let entries = reader.strings("endpoints") else {
            if !reader.problems.contains(where: { $0.field == reader.fieldPath("endpoints") }) {
                reader.report("endpoints", nil, "is required: the etcd members' client URLs, e.g. [\"https://10.0.0.1:2379\", \"https://10.0.0.2:2379\"]")
            }
            return []
        }
        if entries.isEmpty { reader.report("endpoints", .array([]), "is empty: list at least one etcd member") }
        if entries.count > maximumEndpoints { reader.report("endpoints", nil, "lists \(entries.count) URLs: at most \(maximumEndpoints)") }
        var endpoints: [String] = []
        for (field, value) in entries {
            if let problem = endpointProblem(value) {
                reader.add(field: field, value: JSONValue.string(value).excerpt, message: problem)
            } else {
                let endpoint = value.hasSuffix("/") ? String(value.dropLast()) : value
                if !endpoints.contains(endpoint) { endpoints.append(endpoint) }
            }
        }
        return endpoints
    }

    /// Why `url` cannot be an etcd client URL, or nil.
    static func endpointProblem(_ url: String) -> String? {
        guard let parsed = URLComponents(string: url), let scheme = parsed.scheme?.lowercased(), let host = parsed.host, !host.isEmpty else {
            return "is not an etcd client URL (https://host:2379)"
        }
        if parsed.user != nil || parsed.password != nil { return "must not carry a user or password: use user and passwordSecret" }
        if !(parsed.path.isEmpty || parsed.path == "/") || parsed.query != nil || parsed.fragment != nil {
            return "must be only scheme, host and port (https://host:2379): etcd's API paths are added by CertAgent"
        }
        guard parsed.port != nil else { return "has no port: etcd's client port is usually 2379 (https://\(host):2379)" }
        switch scheme {
        case "https": return nil
        case "http": return NotifyConfigReader.isLoopback(host) ? nil : "must be https:// (http:// only to this machine: 127.0.0.0/8, ::1 or localhost): the fleet's locks and files travel over it"
        default: return "must be an https:// URL"
        }
    }

    /// `prefix`: printable ASCII without spaces, starting with `/`; returned ending with `/`.
    private static func readPrefix(_ reader: inout FieldReader) -> String? {
        guard let prefix = reader.string("prefix") else { return nil }
        let printable = prefix.unicodeScalars.allSatisfy { $0.isASCII && $0.value > 0x20 && $0.value < 0x7F }
        guard prefix.hasPrefix("/"), printable, (1...200).contains(prefix.utf8.count) else {
            reader.report("prefix", .string(prefix), "is not a key prefix (at most 200 printable ASCII characters without spaces, starting with '/', e.g. /certagent/shop/)")
            return nil
        }
        return prefix.hasSuffix("/") ? prefix : prefix + "/"
    }

    /// Why `path` is not a regular file this process can name (checked offline), or nil.
    private static func regularFileProblem(_ path: String) -> String? {
        var isDirectory = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return "does not exist" }
        return isDirectory ? "is a directory, not a PEM file" : nil
    }
}
