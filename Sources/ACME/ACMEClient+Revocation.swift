import ByteEncoding

extension ACMEClient {
    /// Revokes a certificate (RFC 8555 §7.6), signed with the account key (`kid`).
    /// `reason` is an RFC 5280 §5.3.1 CRLReason code (e.g. 1 keyCompromise, 4 superseded).
    public func revoke(certificateDER: [UInt8], reason: Int? = nil) throws {
        _ = try post(try revokeURL(), payload: revocationPayload(certificateDER, reason: reason))
    }

    /// Revokes a certificate signed with its own key (RFC 8555 §7.6): `certificateKey` signs, header `jwk`.
    public func revoke(certificateDER: [UInt8], reason: Int? = nil, certificateKey: any JWSSigner) throws {
        _ = try post(try revokeURL(), payload: revocationPayload(certificateDER, reason: reason), key: .jwk, signer: certificateKey)
    }

    private func revokeURL() throws -> String {
        guard let url = try directory().revokeCert else {
            throw ACMEError.unexpectedResponse(url: directoryURL, status: 200, detail: "the directory has no revokeCert URL")
        }
        return url
    }

    private func revocationPayload(_ certificateDER: [UInt8], reason: Int?) -> JSONValue {
        var payload: [String: JSONValue] = ["certificate": .string(Base64URL.encode(certificateDER))]
        if let reason { payload["reason"] = .int(reason) }
        return .object(payload)
    }
}
