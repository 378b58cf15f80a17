/// A downloaded certificate chain (RFC 8555 §7.4.2).
public struct ACMECertificateChain: Sendable, Equatable {
    /// The PEM chain (`application/pem-certificate-chain`, RFC 8555 §9.1): end-entity certificate first.
    public var pem: String
    /// The URL it was downloaded from.
    public var url: String
    /// Alternate chains offered with `Link: <...>;rel="alternate"` (§7.4.2), resolved to absolute URLs, in order.
    public var alternateURLs: [String]

    /// A chain built in code.
    public init(pem: String, url: String, alternateURLs: [String] = []) {
        self.pem = pem
        self.url = url
        self.alternateURLs = alternateURLs
    }
}
