import ByteEncoding
import FoundationEssentials

extension ACMEClient {
    /// Places an order (RFC 8555 §7.4). `replaces` is the ARI certificate ID of the certificate this renews
    /// (RFC 9773 §5: exempts the renewal from some rate limits); `profile` one of `meta.profiles`.
    public func newOrder(identifiers: [ACMEIdentifier], replaces: String? = nil, profile: String? = nil) throws -> ACMEOrder {
        let url = try directory().newOrder
        var payload: [String: JSONValue] = [
            "identifiers": .array(identifiers.map { .object(["type": .string($0.type), "value": .string($0.value)]) }),
        ]
        if let replaces { payload["replaces"] = .string(replaces) }
        if let profile { payload["profile"] = .string(profile) }
        let response = try post(url, payload: .object(payload))
        let orderURL = try location(response, url: url)
        return try decode(OrderBody.self, from: response, url: url).order(url: orderURL)
    }

    /// Fetches an order with POST-as-GET (RFC 8555 §7.1.3, §6.3).
    public func order(at url: String) throws -> ACMEOrder {
        try orderAndRetryAfter(at: url).order
    }

    /// Fetches an authorization with POST-as-GET (RFC 8555 §7.5).
    public func authorization(at url: String) throws -> ACMEAuthorization {
        try authorizationAndRetryAfter(at: url).authorization
    }

    /// The key authorization of `token` (RFC 8555 §8.1): `token "." base64url(JWK thumbprint)`.
    /// Throws `invalidToken` unless the token is base64url `[A-Za-z0-9_-]+` (§8.3).
    public func keyAuthorization(token: String) throws -> String {
        guard ChallengeToken.isValid(token) else { throw ACMEError.invalidToken(token) }
        return "\(token).\(signer.thumbprint)"
    }

    /// Tells the server the challenge is ready to be validated: POST `{}` (RFC 8555 §7.5.1).
    public func respond(to challenge: ACMEChallenge) throws -> ACMEChallenge {
        let response = try post(challenge.url, payload: .object([:]))
        return try decode(ChallengeBody.self, from: response, url: challenge.url).challenge
    }

    /// Sends the CSR (DER, RFC 2986) to the order's finalize URL (RFC 8555 §7.4) and returns the updated order.
    public func finalize(order: ACMEOrder, csrDER: [UInt8]) throws -> ACMEOrder {
        let response = try post(order.finalize, payload: .object(["csr": .string(Base64URL.encode(csrDER))]))
        let orderURL = response.header("Location").map { LinkHeader.resolve($0, against: order.finalize) } ?? order.url
        return try decode(OrderBody.self, from: response, url: order.finalize).order(url: orderURL)
    }

    /// Downloads the certificate chain with POST-as-GET, `Accept: application/pem-certificate-chain`
    /// (RFC 8555 §7.4.2), keeping every `Link: rel="alternate"` chain URL, resolved against `url`.
    public func downloadCertificate(at url: String) throws -> ACMECertificateChain {
        let response = try fetch(url, accept: "application/pem-certificate-chain")
        guard let pem = String(bytes: response.body, encoding: .utf8), pem.contains("-----BEGIN CERTIFICATE-----") else {
            throw unexpected(response, url: url, why: "not a PEM certificate chain")
        }
        let alternates = LinkHeader.targets(response.headerValues("Link"), relation: "alternate", base: url)
        return ACMECertificateChain(pem: pem, url: url, alternateURLs: alternates)
    }

    /// An order plus the `Retry-After` of its response, for polling.
    func orderAndRetryAfter(at url: String) throws -> (order: ACMEOrder, retryAfter: TimeInterval?) {
        let response = try fetch(url)
        let order = try decode(OrderBody.self, from: response, url: url).order(url: url)
        return (order, RetryAfter.seconds(response.header("Retry-After"), now: clock.now()))
    }

    /// An authorization plus the `Retry-After` of its response, for polling.
    func authorizationAndRetryAfter(at url: String) throws -> (authorization: ACMEAuthorization, retryAfter: TimeInterval?) {
        let response = try fetch(url)
        let authorization = try decode(AuthorizationBody.self, from: response, url: url).authorization(url: url)
        return (authorization, RetryAfter.seconds(response.header("Retry-After"), now: clock.now()))
    }
}
