import COpenSSL

/// An owned OpenSSL `X509 *`, parsed from DER and freed in `deinit`.
final class X509Handle {
    let pointer: OpaquePointer

    /// Parses exactly one DER certificate; trailing bytes are an error.
    init(der: [UInt8]) throws {
        guard !der.isEmpty else { throw CryptoError(operation: "d2i_X509", detail: "empty DER", summary: "the data is not a valid X.509 certificate: it is empty") }
        OpenSSLErrorQueue.clear()
        pointer = try der.withUnsafeBufferPointer { buffer -> OpaquePointer in
            var cursor = buffer.baseAddress
            guard let certificate = d2i_X509(nil, &cursor, buffer.count) else {
                throw CryptoError.openSSL("d2i_X509")
            }
            guard let start = buffer.baseAddress, let end = cursor, end - start == buffer.count else {
                X509_free(certificate)
                throw CryptoError(operation: "d2i_X509", detail: "trailing data after the certificate",
                                  summary: "the data is not a valid X.509 certificate: trailing data after the certificate")
            }
            return certificate
        }
    }

    deinit { X509_free(pointer) }

    /// One-line RFC 4514/2253 form of an `X509_NAME` (most specific RDN first, e.g. `CN=leaf,O=Org`),
    /// with non-ASCII characters kept as UTF-8.
    static func oneLine(_ name: OpaquePointer?) throws -> String {
        guard let name else { return "" }
        // XN_FLAG_RFC2253 without ASN1_STRFLGS_ESC_MSB (the composite macro does not import).
        let flags = UInt(XN_FLAG_SEP_COMMA_PLUS | XN_FLAG_DN_REV | XN_FLAG_FN_SN | XN_FLAG_DUMP_UNKNOWN_FIELDS)
            | UInt(ASN1_STRFLGS_ESC_2253 | ASN1_STRFLGS_ESC_CTRL | ASN1_STRFLGS_UTF8_CONVERT
                   | ASN1_STRFLGS_DUMP_UNKNOWN | ASN1_STRFLGS_DUMP_DER)
        let bytes = try MemoryBIO.collect("X509_NAME_print_ex") { bio in
            guard X509_NAME_print_ex(bio, name, 0, flags) >= 0 else { throw CryptoError.openSSL("X509_NAME_print_ex") }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The bytes of an `ASN1_STRING` (also `ASN1_OCTET_STRING`, `ASN1_IA5STRING`).
    static func bytes(_ string: UnsafePointer<ASN1_STRING>?) -> [UInt8] {
        guard let string, let data = ASN1_STRING_get0_data(string) else { return [] }
        let length = Int(ASN1_STRING_length(string))
        return length > 0 ? Array(UnsafeBufferPointer(start: data, count: length)) : []
    }
}
