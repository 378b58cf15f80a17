import CertCrypto
import Foundation

/// What the store holds for one configured certificate, as checked against the config and the clock.
public enum StoredCertificateState: Sendable, CustomStringConvertible {
    case missing
    case unreadable(reason: String)
    case keyMismatch(leaf: Certificate)
    case namesMissing([String], leaf: Certificate)
    case expired(leaf: Certificate)
    case revoked(leaf: Certificate, note: RevocationNote)
    case valid(leaf: Certificate, chain: [Certificate])

    /// The leaf certificate, when there is one to read.
    public var leaf: Certificate? {
        switch self {
        case .missing, .unreadable: nil
        case .keyMismatch(let leaf), .namesMissing(_, let leaf), .expired(let leaf), .revoked(let leaf, _), .valid(let leaf, _): leaf
        }
    }

    /// True when the certificate can be served as it is.
    public var isUsable: Bool { if case .valid = self { true } else { false } }

    public var description: String {
        switch self {
        case .missing: "no certificate yet"
        case .unreadable(let reason): "unreadable: \(reason)"
        case .keyMismatch: "the certificate does not match its private key"
        case .namesMissing(let names, _): "does not cover \(names.joined(separator: ", "))"
        case .expired(let leaf): "expired on \(leaf.notAfter)"
        case .revoked(_, let note): "revoked (\(note.reason.rawValue)) on \(note.revokedAt)"
        case .valid(let leaf, _): "valid until \(leaf.notAfter)"
        }
    }

    /// The leaf certificate of a stored version.
    public static func readLeaf(_ files: CertificateFiles) throws -> Certificate {
        try Certificate(pem: try String(contentsOfFile: files.certificate, encoding: .utf8))
    }

    /// Inspects the current version of `certificate` in `store`.
    public static func inspect(_ certificate: CertificateConfig, in store: CertificateStore, now: Date) -> StoredCertificateState {
        guard let current = store.currentFiles(certificate.name) else { return .missing }
        // One resolution of the link: a commit between reading the chain and the key must not look like a mismatch.
        let files = CertificateFiles(directory: PathSafety.canonical(current.directory))
        do {
            let chain = try Certificate.parseChain(pem: try String(contentsOfFile: files.fullChain, encoding: .utf8))
            let key = try PrivateKey(pem: try String(contentsOfFile: files.privateKey, encoding: .utf8))
            guard let leaf = chain.first else { return .unreadable(reason: "\(files.fullChain) holds no certificate") }
            guard leaf.matches(key) else { return .keyMismatch(leaf: leaf) }
            let missing = certificate.domains.filter { !leaf.covers($0) }
            guard missing.isEmpty else { return .namesMissing(missing, leaf: leaf) }
            guard leaf.notAfter > now else { return .expired(leaf: leaf) }
            if let note = RevocationNote.read(in: files), note.serialHex == leaf.serialHex { return .revoked(leaf: leaf, note: note) }
            return .valid(leaf: leaf, chain: chain)
        } catch {
            return .unreadable(reason: "\(error)")
        }
    }
}
