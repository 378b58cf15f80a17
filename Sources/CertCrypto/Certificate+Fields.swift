import ByteEncoding
import FoundationEssentials

extension Certificate {
    /// What `init(der:)` reads from a certificate besides its DER, to keep beside it (in a cache that is checked
    /// against the file's identity) so the certificate can be had again without OpenSSL parsing it: in OpenSSL 3.0 most
    /// of a parse is decoding the public key, about a million instructions a certificate.
    public struct Fields: Codable, Sendable, Equatable {
        /// One subjectAltName entry: a DNS name, or an IP address's octets in hex.
        public struct AlternativeName: Codable, Sendable, Equatable {
            /// A dNSName entry, as written.
            public var dns: String?
            /// An iPAddress entry's 4 or 16 octets, hex.
            public var ip: String?
        }

        /// `Certificate.subject`.
        public var subject: String
        /// `Certificate.issuer`.
        public var issuer: String
        /// The subjectAltName entries in the certificate's order (dNSName and iPAddress ones; others are skipped).
        public var alternativeNames: [AlternativeName]
        /// `serialNumber`, hex.
        public var serialNumber: String
        /// `Certificate.notBefore`.
        public var notBefore: Date
        /// `Certificate.notAfter`.
        public var notAfter: Date
        /// `authorityKeyIdentifier`, hex.
        public var authorityKeyIdentifier: String?
        /// `subjectKeyIdentifier`, hex.
        public var subjectKeyIdentifier: String?
    }

    /// The fields `init(der:)` read from this certificate.
    public var fields: Fields {
        Fields(subject: subject, issuer: issuer, alternativeNames: alternativeNameEntries, serialNumber: serialHex, notBefore: notBefore,
               notAfter: notAfter, authorityKeyIdentifier: authorityKeyIdentifier.map { Hex.encode($0) },
               subjectKeyIdentifier: subjectKeyIdentifier.map { Hex.encode($0) })
    }

    /// The first `CERTIFICATE` block of `pem` (text after it is not read) with `fields` read from it earlier
    /// (`fields`), not parsed again; nil when there is no block or the fields cannot be decoded (then parse it:
    /// `init(pem:)`).
    public init?(pem: String, knownFields fields: Fields) {
        guard let der = try? PEMEncoding.decodeFirst(pem, label: "CERTIFICATE"),
              let serial = Hex.decode(fields.serialNumber) else { return nil }
        var alternativeNames: [String] = []
        var dnsNames: [String] = []
        var ipAddresses: [IPAddress] = []
        for name in fields.alternativeNames {
            if let ip = name.ip {
                guard let octets = Hex.decode(ip), let address = IPAddress(octets: octets) else { return nil }
                ipAddresses.append(address)
                alternativeNames.append(address.text)
            } else if let dns = name.dns {
                dnsNames.append(dns)
                alternativeNames.append(dns)
            } else {
                return nil
            }
        }
        var authorityKeyIdentifier: [UInt8]? = nil
        if let hex = fields.authorityKeyIdentifier {
            guard let bytes = Hex.decode(hex) else { return nil }
            authorityKeyIdentifier = bytes
        }
        var subjectKeyIdentifier: [UInt8]? = nil
        if let hex = fields.subjectKeyIdentifier {
            guard let bytes = Hex.decode(hex) else { return nil }
            subjectKeyIdentifier = bytes
        }
        self.der = der
        subject = fields.subject
        issuer = fields.issuer
        subjectAlternativeNames = alternativeNames
        self.dnsNames = dnsNames
        self.ipAddresses = ipAddresses
        serialNumber = serial
        notBefore = fields.notBefore
        notAfter = fields.notAfter
        self.authorityKeyIdentifier = authorityKeyIdentifier
        self.subjectKeyIdentifier = subjectKeyIdentifier
        alternativeNameEntries = fields.alternativeNames
    }
}
