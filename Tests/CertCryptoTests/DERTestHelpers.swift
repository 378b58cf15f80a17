/// Minimal DER building for tests: converts a JWS `R || S` back to an `ECDSA-Sig-Value`
/// (RFC 3279 §2.2.3) so the openssl CLI can verify it, independently of CertCrypto's converter.
enum TestDER {
    static func length(_ count: Int) -> [UInt8] {
        if count < 0x80 { return [UInt8(count)] }
        if count < 0x100 { return [0x81, UInt8(count)] }
        return [0x82, UInt8(count >> 8), UInt8(count & 0xff)]
    }

    static func integer(_ magnitude: [UInt8]) -> [UInt8] {
        var bytes = Array(magnitude.drop(while: { $0 == 0 }))
        if bytes.isEmpty { bytes = [0] }
        if bytes[0] & 0x80 != 0 { bytes.insert(0, at: 0) }
        return [0x02] + length(bytes.count) + bytes
    }

    static func ecdsaSignature(raw: [UInt8]) -> [UInt8] {
        let half = raw.count / 2
        let body = integer(Array(raw[..<half])) + integer(Array(raw[half...]))
        return [0x30] + length(body.count) + body
    }
}
