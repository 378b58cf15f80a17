import ACME
import CertCrypto

extension Certificate {
    /// The ACME Renewal Information certificate identifier of this certificate (RFC 9773 §4.1), as ACME builds it
    /// (`ACMEClient.renewalCertificateID`), or nil when the certificate has no authority key identifier.
    public var ariCertificateIdentifier: String? {
        guard let authorityKeyIdentifier, !authorityKeyIdentifier.isEmpty else { return nil }
        return ACMEClient.renewalCertificateID(authorityKeyIdentifier: authorityKeyIdentifier, serialNumber: serialNumber)
    }
}
