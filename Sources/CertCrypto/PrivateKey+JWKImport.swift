import ByteEncoding
import COpenSSL

extension PrivateKey {
    /// Reads a private key given as a JWK (RFC 7517 §4 with the private members of RFC 7518 §6.2.2 / §6.3.2), as other
    /// ACME clients keep their account keys (certbot's `private_key.json`): EC (`kty` `EC`, `crv` `P-256`/`P-384`, `x`,
    /// `y`, `d`) or RSA (`kty` `RSA`, `n`, `e`, `d`, `p`, `q`, `dp`, `dq`, `qi`), every number base64url.
    ///
    /// The key is checked before it is returned: it must pass OpenSSL's check of the pair (an EC key's `x`/`y` is the
    /// point of `d`; an RSA key's `p`·`q` = `n`, …). A missing or malformed member, another
    /// curve or modulus size than `KeyType` allows, or an inconsistent key throws `CryptoError` naming the member.
    public convenience init(jwk: [String: String]) throws {
        func member(_ name: String) throws -> [UInt8] {
            guard let text = jwk[name] else { throw Self.jwkProblem("it has no \"\(name)\" member") }
            guard let bytes = Base64URL.decode(text), !bytes.isEmpty else {
                throw Self.jwkProblem("its \"\(name)\" member is not base64url")
            }
            return bytes
        }
        let der: [UInt8]
        let label: String
        switch jwk["kty"] {
        case "EC":
            let (oid, size): ([UInt8], Int)
            switch jwk["crv"] {
            case "P-256": (oid, size) = ([0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07], 32)
            case "P-384": (oid, size) = ([0x2B, 0x81, 0x04, 0x00, 0x22], 48)
            default: throw Self.jwkProblem("its curve \"crv\" is \(jwk["crv"].map { "\"\($0)\"" } ?? "missing"); P-256 and P-384 are supported")
            }
            let secret = try member("d")
            guard secret.count <= size else { throw Self.jwkProblem("its \"d\" member is longer than the curve's \(size) bytes") }
            let x = try member("x")
            let y = try member("y")
            guard x.count <= size, y.count <= size else { throw Self.jwkProblem("its \"x\" or \"y\" member is longer than the curve's \(size) bytes") }
            func padded(_ bytes: [UInt8]) -> [UInt8] { [UInt8](repeating: 0, count: size - bytes.count) + bytes }
            // RFC 5915 ECPrivateKey with the public point (uncompressed, SEC 1 §2.3.3); the pair is checked below.
            var versioned = DER.integer([1])
            versioned += DER.element(0x04, padded(secret))
            versioned += DER.element(0xA0, DER.element(0x06, oid))
            versioned += DER.element(0xA1, DER.element(0x03, [0x00, 0x04] + padded(x) + padded(y)))
            der = DER.element(0x30, versioned)
            label = "EC PRIVATE KEY"
        case "RSA":
            // RFC 8017 §A.1.2 RSAPrivateKey, two primes.
            var fields = DER.integer([0])
            for name in ["n", "e", "d", "p", "q", "dp", "dq", "qi"] { fields += DER.integer(try member(name)) }
            der = DER.element(0x30, fields)
            label = "RSA PRIVATE KEY"
        default:
            throw Self.jwkProblem("its key type \"kty\" is \(jwk["kty"].map { "\"\($0)\"" } ?? "missing"); EC and RSA are supported")
        }
        do {
            try self.init(pem: PEMEncoding.encode(der, label: label))
        } catch let error as CryptoError where error.operation == "PrivateKey type detection" {
            throw Self.jwkProblem(error.summary)
        } catch {
            throw Self.jwkProblem("its numbers do not make a private key")
        }
        let expected = type.isEC ? ["x", "y"] : ["n", "e"]
        let derived = try publicJWK()
        for name in expected {
            let given = try member(name).drop { $0 == 0 }
            guard let computed = derived[name].flatMap(Base64URL.decode), computed.drop(while: { $0 == 0 }).elementsEqual(given) else {
                throw Self.jwkProblem("its public member \"\(name)\" does not belong to its private key")
            }
        }
        try checkConsistency()
    }

    /// OpenSSL's full check of the key pair (`EVP_PKEY_check`): for EC, that the public point is `d` times the
    /// generator; for RSA, that the primes multiply to the modulus and the exponents fit.
    private func checkConsistency() throws {
        OpenSSLErrorQueue.clear()
        guard let context = EVP_PKEY_CTX_new_from_pkey(nil, pkey, nil) else {
            throw CryptoError.openSSL("EVP_PKEY_CTX_new_from_pkey")
        }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_check(context) == 1 else {
            throw Self.jwkProblem("its numbers are not a consistent key pair")
        }
    }

    private static func jwkProblem(_ problem: String) -> CryptoError {
        CryptoError(operation: "PrivateKey(jwk:)", detail: problem, summary: "the JWK is not a usable private key: " + problem)
    }
}

/// The few DER encodings (ITU-T X.690) a private key structure needs.
private enum DER {
    /// A tag-length-value element.
    static func element(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        [tag] + length(content.count) + content
    }

    /// An INTEGER holding the unsigned big-endian number `magnitude`.
    static func integer(_ magnitude: [UInt8]) -> [UInt8] {
        var bytes = Array(magnitude.drop(while: { $0 == 0 }))
        if bytes.isEmpty || bytes[0] & 0x80 != 0 { bytes.insert(0, at: 0) }
        return element(0x02, bytes)
    }

    private static func length(_ count: Int) -> [UInt8] {
        guard count >= 0x80 else { return [UInt8(count)] }
        var octets: [UInt8] = []
        var rest = count
        while rest > 0 {
            octets.insert(UInt8(rest & 0xFF), at: 0)
            rest >>= 8
        }
        return [0x80 | UInt8(octets.count)] + octets
    }
}
