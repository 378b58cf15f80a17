/// Why a PEM file of CA certificates (a trust bundle, such as a config's `caFile`) cannot be used, in words.
public enum CertificateBundleProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// No `-----BEGIN CERTIFICATE-----` block at all.
    case noCertificate
    /// A block without its END line, nested blocks, or a body that is not base64 (RFC 7468 §2).
    case malformedPEM
    /// Block `index` (from 1) decodes but is not an X.509 certificate.
    case unparsableCertificate(index: Int)

    public var description: String {
        switch self {
        case .noCertificate: "holds no PEM certificate (no -----BEGIN CERTIFICATE----- block)"
        case .malformedPEM: "has a broken PEM block (a BEGIN CERTIFICATE line without its END line, or a body that is not base64)"
        case .unparsableCertificate(let index): "holds a certificate that cannot be parsed (PEM block \(index))"
        }
    }
}

extension Certificate {
    /// Every `CERTIFICATE` block of a trust bundle (RFC 7468 §5), in order; text between blocks is ignored. Throws when
    /// there is none or when any block is not a valid certificate, so a wrong file is caught before a TLS handshake.
    public static func parseBundle(pem: String) throws(CertificateBundleProblem) -> [Certificate] {
        let blocks: [[UInt8]]
        do { blocks = try PEMEncoding.decodeAll(pem, label: "CERTIFICATE") } catch { throw .malformedPEM }
        guard !blocks.isEmpty else { throw .noCertificate }
        var certificates: [Certificate] = []
        for (index, der) in blocks.enumerated() {
            do { certificates.append(try Certificate(der: der)) } catch { throw .unparsableCertificate(index: index + 1) }
        }
        return certificates
    }
}
