import ACME
import CurlHTTP
import FoundationEssentials

/// The ACME client's HTTP transport over libcurl: reused connections (one per request in flight at once, see
/// `CurlHTTPClient`), the configured CA file, HTTPS only. Orders of a batch send their requests side by side.
///
/// A server that does not answer costs at most `connectTimeout` (10 s: TCP and TLS handshake), then `silenceTimeout`
/// (30 s without a byte), within `totalTimeout` (60 s) for one request; after that, `reachability` fails every request
/// to it at once for a minute. Cancelling `cancellation` aborts the request in flight within about a second and throws
/// `CancellationError`, so a stop never waits on the network.
public struct CurlTransport: HTTPTransport {
    public let client: CurlHTTPClient
    /// Servers that did not answer a moment ago: not waited on again (requests already under way when one did not
    /// answer end by their own timeouts, side by side).
    public let reachability: ServerReachability

    /// `CertAgent/<version> libcurl/<version>`: the CA's logs name the client (RFC 8555 §6.1 asks clients to send one).
    public static let userAgent = "CertAgent/\(CertAgentVersion.current) \(CurlHTTPConfiguration.defaultUserAgent)"

    public init(caFile: String?, cancellation: CurlHTTPCancellation? = nil, reachability: ServerReachability = ServerReachability()) throws {
        client = try CurlHTTPClient(configuration: CurlHTTPConfiguration(caFile: caFile, userAgent: Self.userAgent, cancellation: cancellation))
        self.reachability = reachability
    }

    /// Sends `request`. Throws `CancellationError` when cancelled, `ServerUnreachable` without sending anything when
    /// the server did not answer a moment ago, and `CurlHTTPError` otherwise.
    public func send(_ request: HTTPRequest) throws -> HTTPResponse {
        try reachability.check(request.url)
        do {
            let response = try client.perform(method: request.method.rawValue, url: request.url, headers: request.headers, body: request.body)
            reachability.answered(request.url)
            return HTTPResponse(status: response.status, headers: response.headers, body: response.body)
        } catch CurlHTTPError.cancelled {
            throw CancellationError()
        } catch let error as CurlHTTPError where error.isUnreachable {
            reachability.failed(request.url, reason: "\(error)")
            throw error
        }
    }
}
