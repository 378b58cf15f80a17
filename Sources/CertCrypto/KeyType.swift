/// The private-key algorithms CertAgent supports for ACME account and certificate keys.
///
/// Raw values (`"ec256"`, …) are the spelling used in configuration files.
public enum KeyType: String, Sendable, Codable, CaseIterable {
    /// ECDSA on NIST P-256 (JWS `ES256`, RFC 7518 §3.4).
    case ec256
    /// ECDSA on NIST P-384 (JWS `ES384`, RFC 7518 §3.4).
    case ec384
    /// RSA with a 2048-bit modulus (JWS `RS256`, RFC 7518 §3.3).
    case rsa2048
    /// RSA with a 3072-bit modulus.
    case rsa3072
    /// RSA with a 4096-bit modulus.
    case rsa4096

    /// True for the elliptic-curve types.
    public var isEC: Bool { self == .ec256 || self == .ec384 }

    /// The OpenSSL group name for EC types (`"P-256"`, `"P-384"`), nil for RSA.
    var curveName: String? {
        switch self {
        case .ec256: return "P-256"
        case .ec384: return "P-384"
        default: return nil
        }
    }

    /// The RSA modulus size in bits, nil for EC.
    var rsaBits: Int32? {
        switch self {
        case .rsa2048: return 2048
        case .rsa3072: return 3072
        case .rsa4096: return 4096
        default: return nil
        }
    }

    /// Size in bytes of one EC field element / coordinate (32 for P-256, 48 for P-384), nil for RSA.
    var coordinateSize: Int? {
        switch self {
        case .ec256: return 32
        case .ec384: return 48
        default: return nil
        }
    }
}
