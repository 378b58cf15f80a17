/// How to reach an etcd cluster.
public struct EtcdConfiguration: Sendable {
    /// The members' client URLs, `http://host:port` or `https://host:port`; requests go to the one that answered last,
    /// then to the others in order.
    public var endpoints: [String]
    /// PEM bundle of the CA that issued the members' certificates (`--trusted-ca-file`); nil = the system store.
    public var caFile: String?
    /// PEM client certificate, for members started with `--client-cert-auth`.
    public var clientCertificateFile: String?
    /// PEM private key of `clientCertificateFile`.
    public var clientKeyFile: String?
    /// etcd user (`etcdctl user add`), when the cluster has authentication enabled; nil = none.
    public var username: String?
    /// The user's password.
    public var password: String?
    /// Seconds a member may take to connect (TCP and TLS) before the next one is tried.
    public var connectTimeout: Double
    /// Seconds a request may take on one member before the next one is tried.
    public var requestTimeout: Double
    /// Largest answer accepted (also the longest line of a watch stream).
    public var maxResponseBytes: Int
    /// Seconds a watch waits before it reconnects after it lost its connection.
    public var watchRetryDelay: Double
    /// Sent as `User-Agent`.
    public var userAgent: String

    public init(
        endpoints: [String],
        caFile: String? = nil,
        clientCertificateFile: String? = nil,
        clientKeyFile: String? = nil,
        username: String? = nil,
        password: String? = nil,
        connectTimeout: Double = 2,
        requestTimeout: Double = 5,
        maxResponseBytes: Int = 16 << 20,
        watchRetryDelay: Double = 0.3,
        userAgent: String = "CertAgent-etcd"
    ) {
        self.endpoints = endpoints
        self.caFile = caFile
        self.clientCertificateFile = clientCertificateFile
        self.clientKeyFile = clientKeyFile
        self.username = username
        self.password = password
        self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout
        self.maxResponseBytes = maxResponseBytes
        self.watchRetryDelay = watchRetryDelay
        self.userAgent = userAgent
    }

    /// The endpoints without a trailing slash, each checked: scheme http or https, a host, nothing after it but `/`.
    func checkedEndpoints() throws -> [String] {
        guard !endpoints.isEmpty else {
            throw EtcdError.invalidConfiguration(field: "endpoints", value: "", reason: "at least one member URL is needed")
        }
        return try endpoints.map { raw in
            var url = Substring(raw)
            while url.hasSuffix("/") { url.removeLast() }
            let lower = url.lowercased()
            let rest: Substring
            if lower.hasPrefix("https://") { rest = url.dropFirst(8) } else if lower.hasPrefix("http://") { rest = url.dropFirst(7) } else {
                throw EtcdError.invalidConfiguration(field: "endpoints", value: raw, reason: "not an http:// or https:// URL")
            }
            guard !rest.isEmpty, !rest.contains("/"), !rest.contains("?"), !rest.contains("#"), !rest.contains("@"),
                  !rest.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) else {
                throw EtcdError.invalidConfiguration(field: "endpoints", value: raw, reason: "expected scheme://host:port and nothing more")
            }
            return String(url)
        }
    }
}
