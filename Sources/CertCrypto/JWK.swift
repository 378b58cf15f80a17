import ByteEncoding

/// JSON Web Key helpers (RFC 7517) that need no OpenSSL.
public enum JWK {
    /// The members that RFC 7638 §3.2 requires in a thumbprint's input, by key type.
    static func requiredMembers(kty: String) -> [String]? {
        switch kty {
        case "EC": return ["crv", "kty", "x", "y"]
        case "RSA": return ["e", "kty", "n"]
        case "oct": return ["k", "kty"]
        default: return nil
        }
    }

    /// The canonical JSON of a public JWK per RFC 7638 §3: only the required members, in
    /// lexicographic order of their names, with no whitespace. Throws for an unknown `kty` or a
    /// missing member. Values are emitted with JSON string escaping (RFC 8259 §7).
    public static func canonicalJSON(_ jwk: [String: String]) throws -> String {
        guard let kty = jwk["kty"], let names = requiredMembers(kty: kty) else {
            throw CryptoError(operation: "JWK canonical JSON", detail: "unsupported or missing kty")
        }
        var members: [String] = []
        for name in names {
            guard let value = jwk[name] else {
                throw CryptoError(operation: "JWK canonical JSON", detail: "missing required member \(name)")
            }
            members.append("\(jsonString(name)):\(jsonString(value))")
        }
        return "{" + members.joined(separator: ",") + "}"
    }

    /// The JWK thumbprint (RFC 7638 §3): base64url(SHA-256(canonical JSON)).
    public static func thumbprint(_ jwk: [String: String]) throws -> String {
        Base64URL.encode(Digest.sha256(Array(try canonicalJSON(jwk).utf8)))
    }

    /// A JSON string literal (RFC 8259 §7) with the mandatory escapes.
    static func jsonString(_ value: String) -> String {
        var output = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                output.unicodeScalars.append(scalar)
            }
        }
        return output + "\""
    }
}
