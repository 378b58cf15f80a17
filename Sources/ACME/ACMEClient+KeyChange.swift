extension ACMEClient {
    /// Rolls the account over to `newKey` (RFC 8555 §7.3.5): an inner JWS signed by the new key
    /// (header {alg, jwk, url}, no nonce; payload {account, oldKey}) inside an outer JWS signed by the current key.
    ///
    /// On success the account answers only to `newKey`: this client (bound to the old signer) must be replaced by
    /// `ACMEClient(directoryURL:transport:signer: newKey, accountURL: accountURL)`. A `409` problem means the
    /// new key already belongs to another account.
    public func changeKey(to newKey: any JWSSigner) throws {
        guard let url = try directory().keyChange else {
            throw ACMEError.unexpectedResponse(url: directoryURL, status: 200, detail: "the directory has no keyChange URL")
        }
        let account = try requireAccountURL()
        let inner = try JWS.sign(
            payload: JSONValue.object(["account": .string(account), "oldKey": .jwk(signer.publicJWK)]).bytes(),
            url: url, nonce: nil, key: .jwk, signer: newKey)
        _ = try post(url, payload: inner, key: .kid(account))
    }
}
