import CertCrypto
import FoundationEssentials

/// The facts about a usable certificate that renewal timing depends on.
public struct ServedCertificate: Sendable, Equatable {
    /// The serial number in hex: a new certificate means a new renewal time.
    public var serial: String
    public var notBefore: Date
    public var notAfter: Date
    /// The ARI certificate identifier (RFC 9773 §4.1), nil when the certificate has no authority key identifier.
    public var ariCertificateID: String?

    public init(serial: String, notBefore: Date, notAfter: Date, ariCertificateID: String?) {
        self.serial = serial
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.ariCertificateID = ariCertificateID
    }

    /// The facts of a parsed leaf certificate.
    public init(_ leaf: Certificate) {
        self.init(serial: leaf.serialHex, notBefore: leaf.notBefore, notAfter: leaf.notAfter,
                  ariCertificateID: leaf.ariCertificateIdentifier)
    }

    /// notAfter − notBefore.
    public var lifetime: TimeInterval { notAfter.timeIntervalSince(notBefore) }
}
