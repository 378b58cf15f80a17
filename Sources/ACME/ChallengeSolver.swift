/// Makes an HTTP-01 key authorization reachable at
/// `http://<domain>/.well-known/acme-challenge/<token>` (RFC 8555 §8.3), then takes it away.
public protocol HTTP01Solver: Sendable {
    /// Publishes `keyAuthorization` for `token` on `domain`: the authorization's identifier value, a DNS name or an IP
    /// address (RFC 8738 §3; the CA fetches `http://[address]/…` for IPv6). The token has already been checked to be
    /// base64url.
    func present(domain: String, token: String, keyAuthorization: String) throws
    /// Removes what `present` published. Called for every presented token, on failure too.
    func cleanUp(domain: String, token: String)
}
