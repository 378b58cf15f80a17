import ACME
import CertCrypto
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Revocation signed with the certificate's own private key (RFC 8555 §7.6, header `jwk`), for when the account key
/// is lost or the certificate came from elsewhere: no account is loaded, created or looked up — the only requests are
/// the directory, a nonce and `revokeCert`. RSA keys sign RS256, EC P-256 ES256, P-384 ES384 (`AccountKeySigner`).
public struct CertificateKeyRevocation: Sendable {
    public let directoryURL: String
    public let transport: any HTTPTransport
    public let clock: any ACMEClock

    public init(directoryURL: String, transport: any HTTPTransport, clock: any ACMEClock = SystemACMEClock()) {
        self.directoryURL = directoryURL
        self.transport = transport
        self.clock = clock
    }

    /// Revokes `certificate` at the CA, signed with `key`, which must be its key (checked before anything is sent).
    public func revoke(_ certificate: Certificate, key: PrivateKey, reason: RevocationReason) throws {
        guard certificate.matches(key) else { throw RevocationError.keyMismatch(certificate: nil, key: nil) }
        let signer = try AccountKeySigner(key: key)
        let client = ACMEClient(directoryURL: directoryURL, transport: transport, signer: signer, clock: clock)
        try client.revoke(certificateDER: certificate.der, reason: reason.code, certificateKey: signer)
    }

    /// Revokes the current certificate `current` of the store with its own key, then notes it beside that version (as
    /// `revokeCurrent` does), so `status` shows it and the next renewal replaces it. Returns the revoked serial.
    public func revokeCurrent(_ current: StoredCertificateKey, reason: RevocationReason, now: Date) throws -> String {
        try revoke(current.leaf, key: current.key, reason: reason)
        try RevocationNote(serialHex: current.leaf.serialHex, reason: reason, revokedAt: now).write(in: current.files)
        return current.leaf.serialHex
    }
}

/// The current version of a stored certificate with its leaf and private key (`certagent revoke --with-certificate-key`).
public struct StoredCertificateKey: Sendable {
    /// The version directory (resolved once from `current`).
    public let files: CertificateFiles
    public let leaf: Certificate
    public let key: PrivateKey

    /// Reads the current version of `name` in `store` without following a link, and checks that the key is the
    /// certificate's (`RevocationError.keyMismatch` naming both files otherwise).
    public init(current name: String, in store: CertificateStore) throws {
        guard let files = try store.linkedVersion(name) else { throw RevocationError.noCertificate(name: name) }
        guard let certificateBytes = try store.read(files.certificate) else {
            throw FileSystemError("read", path: files.certificate, reason: FileErrorWords.reason(ENOENT))
        }
        guard let leaf = try? Certificate(pem: String(decoding: certificateBytes, as: UTF8.self)) else {
            throw RevocationError.notACertificate(file: files.certificate)
        }
        guard var keyBytes = try store.read(files.privateKey) else {
            throw FileSystemError("read", path: files.privateKey, reason: FileErrorWords.reason(ENOENT))
        }
        defer { SecureMemory.cleanse(&keyBytes) }
        guard let key = try? PrivateKey(pem: String(decoding: keyBytes, as: UTF8.self)) else {
            throw RevocationError.notAPrivateKey(file: files.privateKey, encrypted: false)
        }
        guard leaf.matches(key) else { throw RevocationError.keyMismatch(certificate: files.certificate, key: files.privateKey) }
        self.files = files
        self.leaf = leaf
        self.key = key
    }
}

/// A certificate and its private key read from files outside the store (`certagent revoke --certificate --key`).
public struct CertificateKeyFiles: Sendable {
    public let certificateFile: String
    public let keyFile: String
    /// The first certificate in the file (the leaf, when the file holds a whole chain).
    public let certificate: Certificate
    public let key: PrivateKey

    /// Reads both PEM files and checks that the key is the certificate's. Every failure names the file.
    public init(certificateFile: String, keyFile: String) throws {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        let certificateText = try Self.readText(certificateFile)
        guard let leaf = (try? Certificate.parseChain(pem: certificateText))?.first else {
            throw RevocationError.notACertificate(file: certificateFile)
        }
        certificate = leaf
        var keyText = try Self.readText(keyFile)
        defer { keyText = "" }
        guard let key = try? PrivateKey(pem: keyText) else {
            throw RevocationError.notAPrivateKey(file: keyFile, encrypted: keyText.contains("ENCRYPTED"))
        }
        self.key = key
        guard leaf.matches(key) else { throw RevocationError.keyMismatch(certificate: certificateFile, key: keyFile) }
    }

    private static func readText(_ path: String) throws -> String {
        switch try SecureFileReader.read(path, limit: 1 << 20) {
        case .missing:
            throw FileSystemError("read", path: path, reason: FileErrorWords.reason(ENOENT))
        case .contents(var contents):
            defer { contents.cleanse() }
            guard contents.isRegular else { throw FileSystemError("read", path: path, reason: "it is not a regular file") }
            return String(decoding: contents.bytes, as: UTF8.self)
        }
    }
}
