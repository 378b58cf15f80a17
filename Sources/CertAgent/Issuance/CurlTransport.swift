import ACME
import CurlHTTP

/// The ACME client's HTTP transport over libcurl: one reused connection, the configured CA file, HTTPS only.
public struct CurlTransport: HTTPTransport {
    public let client: CurlHTTPClient

    /// `CertAgent/<version> libcurl/<version>`: the CA's logs name the client (RFC 8555 §6.1 asks clients to send one).
    public static let userAgent = "CertAgent/\(CertAgentVersion.current) \(CurlHTTPConfiguration.defaultUserAgent)"

    public init(caFile: String?) throws {
        client = try CurlHTTPClient(configuration: CurlHTTPConfiguration(caFile: caFile, userAgent: Self.userAgent))
    }

    public func send(_ request: HTTPRequest) throws -> HTTPResponse {
        let response = try client.perform(method: request.method.rawValue, url: request.url, headers: request.headers, body: request.body)
        return HTTPResponse(status: response.status, headers: response.headers, body: response.body)
    }
}
