/// The files of one certificate version. In the store's `current` directory these paths are stable,
/// so a web server can point at them directly.
public struct CertificateFiles: Sendable, Equatable {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    /// The certificate's private key, PKCS#8 PEM.
    public var privateKey: String { directory + "/privkey.pem" }
    /// The CSR the certificate was issued for (RFC 2986, PEM).
    public var csr: String { directory + "/csr.pem" }
    /// The leaf certificate alone.
    public var certificate: String { directory + "/cert.pem" }
    /// The intermediates, without the leaf.
    public var chain: String { directory + "/chain.pem" }
    /// The leaf followed by the intermediates: what nginx's `ssl_certificate` wants.
    public var fullChain: String { directory + "/fullchain.pem" }

    /// Every file, in the order they are written.
    public var all: [String] { [privateKey, csr, certificate, chain, fullChain] }
}

/// The PEM texts of a newly issued certificate, before they are written.
public struct CertificateMaterial: Sendable {
    public var privateKeyPEM: String
    public var csrPEM: String
    public var certificatePEM: String
    public var chainPEM: String
    /// How it was obtained (`issuance.json`); nil writes none (a version made without a CA, as in tests).
    public var facts: IssuanceFacts?

    public init(privateKeyPEM: String, csrPEM: String, certificatePEM: String, chainPEM: String, facts: IssuanceFacts? = nil) {
        self.privateKeyPEM = privateKeyPEM
        self.csrPEM = csrPEM
        self.certificatePEM = certificatePEM
        self.chainPEM = chainPEM
        self.facts = facts
    }

    public var fullChainPEM: String { certificatePEM + chainPEM }
}
