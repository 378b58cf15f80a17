extension Certificate {
    /// The ACME Renewal Information certificate identifier (RFC 9773 §4.1):
    /// `base64url(AKI keyIdentifier) "." base64url(serial number DER content octets)`,
    /// or nil when the certificate has no authority key identifier.
    public var ariCertificateIdentifier: String? {
        guard let authorityKeyIdentifier, !authorityKeyIdentifier.isEmpty else { return nil }
        return Base64URL.encode(authorityKeyIdentifier) + "." + Base64URL.encode(serialNumber)
    }
}
