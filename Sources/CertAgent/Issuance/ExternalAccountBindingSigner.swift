import ACME
import ByteEncoding
import CertCrypto
import FoundationEssentials

/// Signs the external account binding with the CA-issued HMAC key: HS256 (RFC 8555 §7.3.4, RFC 7518 §3.2).
public final class ExternalAccountBindingSigner: MACSigner {
    public let algorithm = "HS256"
    public let keyID: String
    private nonisolated(unsafe) var key: [UInt8]   // written only in init and deinit

    /// `encodedKey` is the key as CAs hand it out: base64url (padding and standard base64 tolerated).
    public init(keyID: String, encodedKey: String) throws {
        let normalized = encodedKey.trimmingWhitespaceAndNewlines()
            .replacing("+", with: "-").replacing("/", with: "_").replacing("=", with: "")
        guard let key = Base64URL.decode(normalized), key.count >= 16 else {
            throw ExternalAccountBindingError.invalidKey(keyID: keyID)
        }
        self.keyID = keyID
        self.key = key
    }

    deinit { SecureMemory.cleanse(&key) }

    public func mac(_ signingInput: [UInt8]) throws -> [UInt8] {
        try HMAC.sha256(key: key, data: signingInput)
    }
}

/// A problem with the external account binding key (its value is never shown).
public enum ExternalAccountBindingError: Error, Sendable, CustomStringConvertible {
    case invalidKey(keyID: String)

    public var description: String {
        switch self {
        case .invalidKey(let keyID):
            "the EAB HMAC key for kid \(keyID) is not a base64url key of at least 16 bytes: set it again with `certagent secret set`"
        }
    }
}
