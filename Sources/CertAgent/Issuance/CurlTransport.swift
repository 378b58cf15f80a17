import ACME
import CurlHTTP

/// The ACME client's HTTP transport over libcurl: one reused connection, the configured CA file, HTTPS only.
public struct CurlTransport: HTTPTransport {
    public let client: CurlHTTPClient

    public init(caFile: String?) throws {
        client = try CurlHTTPClient(configuration: CurlHTTPConfiguration(caFile: caFile))
    }

    public func send(_ request: HTTPRequest) throws -> HTTPResponse {
        let response = try client.perform(method: request.method.rawValue, url: request.url, headers: request.headers, body: request.body)
        return HTTPResponse(status: response.status, headers: response.headers, body: response.body)
    }
}
