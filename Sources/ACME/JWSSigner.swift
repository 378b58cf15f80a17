/// Signs ACME requests with the account key (RFC 8555 §6.2, RFC 7515).
///
/// CertAgent implements it over OpenSSL; the ACME module never touches key material.
public protocol JWSSigner: Sendable {
    /// The JWS `alg` value: `ES256`, `ES384` or `RS256`.
    var algorithm: String { get }
    /// The public key as JWK members (RFC 7517), e.g. `kty`, `crv`, `x`, `y` or `kty`, `n`, `e`; values base64url where binary.
    var publicJWK: [String: String] { get }
    /// The RFC 7638 JWK thumbprint: base64url(SHA-256(canonical JWK)).
    var thumbprint: String { get }
    /// Signs the JWS signing input (`protected.payload`, ASCII) and returns the JWS signature bytes
    /// (for ECDSA the raw `r||s` form of RFC 7518 §3.4, not DER).
    func sign(_ signingInput: [UInt8]) throws -> [UInt8]
}

/// Signs the inner JWS of an external account binding with the CA-issued MAC key (RFC 8555 §7.3.4).
public protocol MACSigner: Sendable {
    /// The JWS `alg` value, normally `HS256`.
    var algorithm: String { get }
    /// The key identifier the CA gave with the MAC key.
    var keyID: String { get }
    /// Returns the MAC of `signingInput`.
    func mac(_ signingInput: [UInt8]) throws -> [UInt8]
}
