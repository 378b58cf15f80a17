import ByteEncoding
import COpenSSL
import FoundationEssentials

/// A parsed X.509 v3 certificate (RFC 5280). A value type: only the DER and the extracted fields
/// are kept; OpenSSL objects exist only during parsing and checks.
public struct Certificate: Sendable, Equatable {
    /// The DER encoding (RFC 5280 §4.1).
    public let der: [UInt8]
    /// The subject in one-line RFC 4514 form, most specific RDN first (e.g. `"CN=example.test"`).
    public let subject: String
    /// The issuer in the same form as `subject`.
    public let issuer: String
    /// The subjectAltName entries (RFC 5280 §4.2.1.6): dNSName values as written, and
    /// iPAddress values as text (dotted quad / RFC 5952 IPv6). Other name types are skipped.
    public let subjectAlternativeNames: [String]
    /// The dNSName entries of the subjectAltName, as written.
    public let dnsNames: [String]
    /// The iPAddress entries of the subjectAltName (4 or 16 octets; other lengths are skipped).
    public let ipAddresses: [IPAddress]
    /// The serial number's DER INTEGER content octets, big-endian (RFC 5280 §4.1.2.2), including a
    /// leading 0x00 when the DER has one (ACME ARI's certificate identifier uses these bytes).
    public let serialNumber: [UInt8]
    /// Start of the validity period (RFC 5280 §4.1.2.5).
    public let notBefore: Date
    /// End of the validity period, inclusive (RFC 5280 §4.1.2.5).
    public let notAfter: Date
    /// The keyIdentifier of the authority key identifier extension (RFC 5280 §4.2.1.1), if present.
    public let authorityKeyIdentifier: [UInt8]?
    /// The subject key identifier extension (RFC 5280 §4.2.1.2), if present.
    public let subjectKeyIdentifier: [UInt8]?
    /// The subjectAltName entries with their kind, in order (for `fields`).
    let alternativeNameEntries: [Fields.AlternativeName]

    /// The certificate as PEM (`BEGIN CERTIFICATE`, RFC 7468 §5).
    public var pem: String { PEMEncoding.encode(der, label: "CERTIFICATE") }

    /// `serialNumber` as lowercase hex (leading 00 included when present in the DER).
    public var serialHex: String { Hex.encode(serialNumber) }

    /// Parses one DER certificate (RFC 5280 §4.1); trailing bytes or malformed input throw `CryptoError`.
    public init(der: [UInt8]) throws {
        try self.init(der: der, handle: try X509Handle(der: der))
    }

    /// `init(der:)` from the `X509` already parsed from `der`.
    init(der: [UInt8], handle: X509Handle) throws {
        let x509 = handle.pointer
        defer { OpenSSLErrorQueue.clear() }  // extension caching may leave benign entries behind
        self.der = der
        subject = try X509Handle.oneLine(X509_get_subject_name(x509))
        issuer = try X509Handle.oneLine(X509_get_issuer_name(x509))
        let names = Certificate.subjectAltNames(x509)
        subjectAlternativeNames = names.map { $0.address?.text ?? $0.dnsName ?? "" }
        dnsNames = names.compactMap(\.dnsName)
        ipAddresses = names.compactMap(\.address)
        alternativeNameEntries = names.map { Fields.AlternativeName(dns: $0.dnsName, ip: $0.address.map { Hex.encode($0.octets) }) }
        serialNumber = try Certificate.serialOctets(x509)
        notBefore = try Certificate.date(X509_get0_notBefore(x509), "notBefore")
        notAfter = try Certificate.date(X509_get0_notAfter(x509), "notAfter")
        authorityKeyIdentifier = X509_get0_authority_key_id(x509).map { X509Handle.bytes($0) }
        subjectKeyIdentifier = X509_get0_subject_key_id(x509).map { X509Handle.bytes($0) }
    }

    /// Parses the first `CERTIFICATE` block in PEM text (RFC 7468 §5); text around it is ignored.
    public init(pem: String) throws {
        guard let first = try PEMEncoding.decodeAll(pem, label: "CERTIFICATE").first else {
            throw CryptoError(operation: "Certificate(pem:)", detail: "no CERTIFICATE block found",
                              summary: "no PEM certificate (-----BEGIN CERTIFICATE-----) found")
        }
        try self.init(der: first)
    }

    /// All `CERTIFICATE` blocks in order (leaf first in an ACME chain, RFC 8555 §7.4.2).
    /// Throws when there is none, or when any block is not a valid certificate.
    public static func parseChain(pem: String) throws -> [Certificate] {
        let blocks = try PEMEncoding.decodeAll(pem, label: "CERTIFICATE")
        guard !blocks.isEmpty else {
            throw CryptoError(operation: "Certificate.parseChain", detail: "no CERTIFICATE block found",
                              summary: "no PEM certificate (-----BEGIN CERTIFICATE-----) found")
        }
        return try blocks.map(Certificate.init(der:))
    }

    // MARK: - Field extraction

    /// The dNSName and iPAddress entries, in the certificate's order (exactly one of the two is set).
    private static func subjectAltNames(_ x509: OpaquePointer) -> [(dnsName: String?, address: IPAddress?)] {
        guard let raw = X509_get_ext_d2i(x509, NID_subject_alt_name, nil, nil) else { return [] }
        let names = OpaquePointer(raw)
        defer { GENERAL_NAMES_free(names) }  // X509_get_ext_d2i returns an owned GENERAL_NAMES
        var result: [(dnsName: String?, address: IPAddress?)] = []
        for index in 0 ..< max(0, OPENSSL_sk_num(names)) {
            guard let element = OPENSSL_sk_value(names, index) else { continue }
            let entry = element.assumingMemoryBound(to: GENERAL_NAME.self)
            var kind: Int32 = -1
            guard let value = GENERAL_NAME_get0_value(entry, &kind) else { continue }
            let octets = X509Handle.bytes(UnsafePointer(value.assumingMemoryBound(to: ASN1_STRING.self)))
            switch kind {
            case GEN_DNS:
                result.append((String(decoding: octets, as: UTF8.self), nil))
            case GEN_IPADD:
                if let address = IPAddress(octets: octets) { result.append((nil, address)) }
            default:
                continue
            }
        }
        return result
    }

    private static func serialOctets(_ x509: OpaquePointer) throws -> [UInt8] {
        guard let serial = X509_get0_serialNumber(x509) else {
            throw CryptoError(operation: "X509_get0_serialNumber", detail: "certificate has no serial number")
        }
        let encoded = try encodeDER("i2d_ASN1_INTEGER(serial)") { output in i2d_ASN1_INTEGER(serial, output) }
        // INTEGER TLV: tag 0x02, definite length (short or long form), content octets.
        guard encoded.count >= 3, encoded[0] == 0x02 else {
            throw CryptoError(operation: "serialNumber", detail: "unexpected INTEGER encoding")
        }
        var offset = 2
        if encoded[1] & 0x80 != 0 {
            offset += Int(encoded[1] & 0x7f)
        }
        guard offset < encoded.count else {
            throw CryptoError(operation: "serialNumber", detail: "unexpected INTEGER length")
        }
        return Array(encoded[offset...])
    }

    private static func date(_ time: UnsafePointer<ASN1_TIME>?, _ field: String) throws -> Date {
        var parts = tm()
        guard let time, ASN1_TIME_to_tm(time, &parts) == 1 else { throw CryptoError.openSSL("ASN1_TIME_to_tm(\(field))") }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&parts)))
    }
}
