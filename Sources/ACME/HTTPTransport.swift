import FoundationEssentials

/// One HTTP request as the ACME client needs it (RFC 8555 §6.1: HTTPS, JSON bodies).
public struct HTTPRequest: Sendable, Equatable {
    public enum Method: String, Sendable { case get = "GET", head = "HEAD", post = "POST" }
    public var method: Method
    public var url: String
    /// Request headers in order; a name may repeat.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?

    public init(method: Method, url: String, headers: [(name: String, value: String)] = [], body: [UInt8]? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    public static func == (lhs: HTTPRequest, rhs: HTTPRequest) -> Bool {
        lhs.method == rhs.method && lhs.url == rhs.url && lhs.body == rhs.body
            && lhs.headers.map { "\($0.name):\($0.value)" } == rhs.headers.map { "\($0.name):\($0.value)" }
    }
}

/// One HTTP response with every header kept (a header such as `Link` can repeat, RFC 8555 §7.4.2).
public struct HTTPResponse: Sendable {
    public var status: Int
    /// Response headers in the order received; names as the server sent them.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// Every value of the header `name`, matched case-insensitively (HTTP/2 lowercases names).
    public func headerValues(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    /// The first value of the header `name`, matched case-insensitively.
    public func header(_ name: String) -> String? { headerValues(name).first }
}

/// Sends HTTP requests. CertAgent implements it over libcurl; tests script it.
///
/// Implementations must be safe to call from any thread; the ACME client sends one request at a time.
public protocol HTTPTransport: Sendable {
    /// Sends `request` and returns the response, whatever its status. Throws only when no response arrived.
    func send(_ request: HTTPRequest) throws -> HTTPResponse
}
