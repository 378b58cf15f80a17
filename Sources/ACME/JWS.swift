import ByteEncoding
import FoundationEssentials

/// Builds flattened JSON JWS objects (RFC 7515 §7.2.2) as RFC 8555 §6.2 requires.
enum JWS {
    /// How the protected header names the signing key (RFC 8555 §6.2): `jwk` for newAccount and
    /// revocation by certificate key, otherwise `kid` = the account URL.
    enum KeyReference: Sendable, Equatable {
        case jwk
        case kid(String)
    }

    /// A flattened JWS signed by the account (or certificate) key.
    /// `payload` nil means POST-as-GET: the empty payload "" (§6.3). `nonce` nil only for the inner JWS
    /// of a key change (§7.3.5), which carries none.
    static func sign(payload: [UInt8]?, url: String, nonce: String?, key: KeyReference, signer: JWSSigner) throws -> JSONValue {
        var header: [String: JSONValue] = [
            "alg": .string(signer.algorithm),
            "url": .string(url),
        ]
        if let nonce { header["nonce"] = .string(nonce) }
        switch key {
        case .jwk: header["jwk"] = .jwk(signer.publicJWK)
        case .kid(let kid): header["kid"] = .string(kid)
        }
        let protected = Base64URL.encode(try JSONValue.object(header).bytes())
        let encodedPayload = payload.map { Base64URL.encode($0) } ?? ""
        let signature = try signer.sign(Array("\(protected).\(encodedPayload)".utf8))
        return .object([
            "protected": .string(protected),
            "payload": .string(encodedPayload),
            "signature": .string(Base64URL.encode(signature)),
        ])
    }

    /// The external account binding (RFC 8555 §7.3.4): a JWS MAC'd with the CA's key whose
    /// payload is the account's public JWK; protected header {alg, kid, url}, no nonce.
    static func externalAccountBinding(accountJWK: [String: String], url: String, mac: MACSigner) throws -> JSONValue {
        let header: JSONValue = .object([
            "alg": .string(mac.algorithm),
            "kid": .string(mac.keyID),
            "url": .string(url),
        ])
        let protected = Base64URL.encode(try header.bytes())
        let payload = Base64URL.encode(try JSONValue.jwk(accountJWK).bytes())
        let signature = try mac.mac(Array("\(protected).\(payload)".utf8))
        return .object([
            "protected": .string(protected),
            "payload": .string(payload),
            "signature": .string(Base64URL.encode(signature)),
        ])
    }
}
