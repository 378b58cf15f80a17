import ACME
import CertCrypto
import FoundationEssentials

/// What the store holds for one configured certificate, as checked against the config and the clock.
public enum StoredCertificateState: Sendable, CustomStringConvertible {
    case missing
    case unreadable(reason: String)
    case keyMismatch(leaf: Certificate)
    case namesMissing([String], leaf: Certificate)
    case expired(leaf: Certificate)
    case revoked(leaf: Certificate, note: RevocationNote)
    /// `chain` is the parsed `fullchain.pem`, or only its leaf when the certificate's summary vouched for the file
    /// (`inspect(_:in:now:summary:)`, where the leaf may come from the summary's fields).
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
        case .expired(let leaf): "expired on \(TimeText.human(leaf.notAfter))"
        case .revoked(_, let note): "revoked (\(note.reason.rawValue)) on \(TimeText.human(note.revokedAt))"
        case .valid(let leaf, _): "valid until \(TimeText.human(leaf.notAfter))"
        }
    }

    /// The leaf certificate of a stored version (its `cert.pem`, never through a symbolic link).
    public static func readLeaf(_ files: CertificateFiles) throws -> Certificate {
        guard let bytes = try StoreFileReader.readFile(files.certificate) else {
            throw FileSystemError("read", path: files.certificate, reason: "no such file")
        }
        return try Certificate(pem: String(decoding: bytes, as: UTF8.self))
    }

    /// Inspects the current version of `certificate` in `store`. The `current` link is resolved once, by the store, to a
    /// version of this certificate, and every file is read without following a link (`CertificateStore.read`): a
    /// version holding a link, or a `current` pointing anywhere else, is `unreadable` (so it is renewed, and the file
    /// the link points at is never read).
    public static func inspect(_ certificate: CertificateConfig, in store: CertificateStore, now: Date) -> StoredCertificateState {
        inspect(certificate, in: store, now: now, summary: nil).state
    }

    /// `inspect(_:in:now:)` helped by `summary` (the one kept in the certificate's renewal record): while it still
    /// describes the current files (`CertificateSummary.describes`), the private key is neither read nor checked
    /// against the certificate again. Returns the state with the summary of the files as they are now (nil when no
    /// certificate could be read), for the caller to keep.
    public static func inspect(_ certificate: CertificateConfig, in store: CertificateStore, now: Date,
                               summary: CertificateSummary?) -> (state: StoredCertificateState, summary: CertificateSummary?) {
        do {
            // One resolution of the link: a commit between reading the chain and the key must not look like a mismatch.
            guard let files = try store.linkedVersion(certificate.name) else { return (.missing, nil) }
            func text(_ path: String) throws -> String {
                guard let bytes = try store.read(path) else { throw FileSystemError("read", path: path, reason: "no such file") }
                return String(decoding: bytes, as: UTF8.self)
            }
            // The identities before the contents: a file replaced in between leaves a summary that no longer matches.
            let version = String(files.directory.split(separator: "/").last ?? "")
            let chainIdentity = FileIdentity.of(files.fullChain)
            let keyIdentity = FileIdentity.of(files.privateKey)
            // While the summary describes these very files, the whole chain was parsed when it was made: the leaf is
            // had from the fields kept in it, or parsed alone (OpenSSL 3.0 spends about a million instructions on each
            // certificate, most of it decoding its key).
            let described = summary?.describes(version: version, fullChain: chainIdentity, privateKey: keyIdentity) == true
            let chainText = try text(files.fullChain)
            let chain: [Certificate]
            if described, let fields = summary?.leaf, let leaf = Certificate(pem: chainText, knownFields: fields) {
                chain = [leaf]
            } else {
                chain = described ? [try Certificate(pem: chainText)] : try Certificate.parseChain(pem: chainText)
            }
            guard let leaf = chain.first else { return (.unreadable(reason: "\(files.fullChain) holds no certificate"), nil) }
            let keyMatches: Bool
            if let summary, described, summary.serial == leaf.serialHex {
                keyMatches = summary.keyMatches
            } else {
                keyMatches = leaf.matches(try PrivateKey(pem: try text(files.privateKey)))
            }
            let made = chainIdentity.flatMap { chainIdentity in
                keyIdentity.map { keyIdentity in
                    CertificateSummary(version: version, fullChain: chainIdentity, privateKey: keyIdentity, serial: leaf.serialHex,
                                       notBefore: leaf.notBefore, notAfter: leaf.notAfter, names: leaf.subjectAlternativeNames,
                                       ariCertificateID: leaf.ariCertificateIdentifier, keyMatches: keyMatches, leaf: leaf.fields)
                }
            }
            guard keyMatches else { return (.keyMismatch(leaf: leaf), made) }
            let missing = certificate.domains.filter { !leaf.covers($0) }
            guard missing.isEmpty else { return (.namesMissing(missing, leaf: leaf), made) }
            guard leaf.notAfter > now else { return (.expired(leaf: leaf), made) }
            if let note = try revocationNote(in: files, store: store), note.serialHex == leaf.serialHex {
                return (.revoked(leaf: leaf, note: note), made)
            }
            return (.valid(leaf: leaf, chain: chain), made)
        } catch {
            return (.unreadable(reason: "\(error)"), nil)
        }
    }

    /// The version's revocation note (`RevocationNote`), read without following a link; nil when there is none or it
    /// cannot be decoded.
    private static func revocationNote(in files: CertificateFiles, store: CertificateStore) throws -> RevocationNote? {
        guard let bytes = try store.read(StoreKeys.revocationNote(in: files)) else { return nil }
        return try? StoreJSON.decode(RevocationNote.self, from: bytes)
    }
}
