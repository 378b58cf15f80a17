import ByteEncoding
import FoundationEssentials

extension ACMEClient {
    /// Fetches ACME Renewal Information (RFC 9773 §4.2): unauthenticated GET `{renewalInfo}/{certificateID}`.
    /// `retryAfter` comes from the `Retry-After` header (§4.3). Throws `unexpectedResponse` when the
    /// directory has no `renewalInfo` (the server does not support ARI).
    public func renewalInfo(certificateID: String) throws -> RenewalInfo {
        guard let base = try directory().renewalInfo else {
            throw ACMEError.unexpectedResponse(url: directoryURL, status: 200, detail: "the directory has no renewalInfo URL (no ARI, RFC 9773)")
        }
        let url = base.hasSuffix("/") ? base + certificateID : base + "/" + certificateID
        let response = try checked(send(HTTPRequest(method: .get, url: url)), url: url)
        let body = try decode(RenewalInfoBody.self, from: response, url: url)
        guard let start = Timestamps.rfc3339(body.suggestedWindow.start),
              let end = Timestamps.rfc3339(body.suggestedWindow.end), end >= start else {
            throw unexpected(response, url: url, why: "suggestedWindow is not a valid RFC 3339 window")
        }
        return RenewalInfo(windowStart: start, windowEnd: end, explanationURL: body.explanationURL,
                           retryAfter: RetryAfter.seconds(response.header("Retry-After"), now: clock.now()))
    }

    /// The ARI certificate identifier (RFC 9773 §4.1): base64url(authorityKeyIdentifier keyIdentifier) "."
    /// base64url(serial number DER INTEGER content bytes). A serial given as plain unsigned big-endian bytes
    /// is normalised to DER form (leading 0x00 added when the high bit is set, redundant ones dropped).
    public static func renewalCertificateID(authorityKeyIdentifier: [UInt8], serialNumber: [UInt8]) -> String {
        var serial = ArraySlice(serialNumber)
        while serial.count > 1, serial.first == 0, let next = serial.dropFirst().first, next & 0x80 == 0 {
            serial = serial.dropFirst()
        }
        var der = Array(serial)
        if der.isEmpty { der = [0] } else if der[0] & 0x80 != 0 { der.insert(0, at: 0) }
        return Base64URL.encode(authorityKeyIdentifier) + "." + Base64URL.encode(der)
    }
}
