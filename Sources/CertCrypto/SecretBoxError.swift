/// Why `SecretBox.open` (or `seal`) rejected its input.
public enum SecretBoxError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Shorter than version byte + nonce + tag (29 bytes).
    case truncated
    /// The leading format-version byte is not one this build understands.
    case unsupportedVersion(UInt8)
    /// The GCM tag did not verify: wrong key, wrong associated data, or modified bytes.
    case authenticationFailed
    /// The key is not 32 bytes (AES-256).
    case invalidKeyLength(Int)

    /// A human-readable explanation (never includes key material).
    public var description: String {
        switch self {
        case .truncated: return "sealed secret is truncated"
        case .unsupportedVersion(let version): return "sealed secret has unsupported format version \(version)"
        case .authenticationFailed: return "sealed secret failed authentication (wrong key, wrong name, or tampered data)"
        case .invalidKeyLength(let length): return "secret-box key must be 32 bytes, got \(length)"
        }
    }
}
