import FoundationEssentials

/// Why a certificate is revoked (RFC 5280 §5.3.1 reason codes that ACME CAs accept).
public enum RevocationReason: String, CaseIterable, Sendable, Codable {
    case unspecified
    case keyCompromise
    case superseded
    case cessationOfOperation

    /// The CRLReason code sent in the revocation request (RFC 8555 §7.6).
    public var code: Int {
        switch self {
        case .unspecified: 0
        case .keyCompromise: 1
        case .superseded: 4
        case .cessationOfOperation: 5
        }
    }
}

/// A note beside a revoked version, so the agent knows to replace it (revocation is not visible in the file itself).
public struct RevocationNote: Codable, Sendable, Equatable {
    public var serialHex: String
    public var reason: RevocationReason
    public var revokedAt: Date

    /// The note in `files`' version, if that version was revoked.
    public static func read(in files: CertificateFiles) -> RevocationNote? {
        guard let data = FileManager.default.contents(atPath: StoreKeys.revocationNote(in: files)) else { return nil }
        return try? StoreJSON.decode(RevocationNote.self, from: Array(data))
    }

    public func write(in files: CertificateFiles) throws {
        try AtomicFile.write(try StoreJSON.encode(self), to: StoreKeys.revocationNote(in: files))
    }
}

extension CertificateIssuer {
    /// Revokes the current certificate of `name` with the account key (RFC 8555 §7.6) and notes it in the store,
    /// so the next `issue` or renewal replaces it. Returns the revoked serial.
    public func revokeCurrent(_ name: String, reason: RevocationReason, now: Date) throws -> String {
        guard let files = store.currentFiles(name) else { throw RevocationError.noCertificate(name: name) }
        let leaf = try StoredCertificateState.readLeaf(files)
        try client.revoke(certificateDER: leaf.der, reason: reason.code)
        try RevocationNote(serialHex: leaf.serialHex, reason: reason, revokedAt: now).write(in: files)
        return leaf.serialHex
    }
}

public enum RevocationError: Error, Sendable, CustomStringConvertible {
    case noCertificate(name: String)
    /// The private key is not the certificate's (its public key differs); the files, when they are known.
    case keyMismatch(certificate: String?, key: String?)
    case notACertificate(file: String)
    case notAPrivateKey(file: String, encrypted: Bool)

    public var description: String {
        switch self {
        case .noCertificate(let name): "\(name) has no current certificate to revoke"
        case .keyMismatch(let certificate?, let key?):
            "the private key in \(key) is not the key of the certificate in \(certificate) (their public keys differ): nothing was sent to the CA"
        case .keyMismatch:
            "the private key is not the certificate's key (their public keys differ): nothing was sent to the CA"
        case .notACertificate(let file): "\(file) holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        case .notAPrivateKey(let file, true):
            "\(file) holds an encrypted private key: write it out unencrypted first (openssl pkey -in \(file) -out FILE) and pass that file"
        case .notAPrivateKey(let file, false):
            "\(file) holds no PEM private key CertAgent can use (PKCS#8, EC or RSA: P-256, P-384, RSA 2048–4096)"
        }
    }
}
