import ACME
import CertCrypto

/// Signs ACME requests with an account key held by OpenSSL (RFC 8555 §6.2). The JWK and thumbprint are computed once.
public struct AccountKeySigner: JWSSigner {
    private let key: PrivateKey
    public let algorithm: String
    public let publicJWK: [String: String]
    public let thumbprint: String

    public init(key: PrivateKey) throws {
        self.key = key
        self.algorithm = key.jwsAlgorithm
        self.publicJWK = try key.publicJWK()
        self.thumbprint = try key.jwkThumbprint()
    }

    public func sign(_ signingInput: [UInt8]) throws -> [UInt8] {
        try key.signJWS(signingInput)
    }
}
