import CertCrypto
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Logging

/// Which private key a new certificate gets. By default a new one each time; with `reuseKey` the current version's,
/// so DANE/TLSA records and pinned keys stay valid across renewals — unless that key cannot serve (none yet, not
/// readable, another type than the config's `keyType`, or revoked as compromised), and never when the admin asks for
/// a new one (`certagent renew --force --new-key`). Every fallback to a new key is logged with its reason.
public enum CertificateKeyChoice {
    /// What was decided, and why.
    public enum Decision: Equatable, Sendable {
        case reuse
        case newKey(reason: NewKeyReason)
    }

    /// Why a new key is made.
    public enum NewKeyReason: Equatable, Sendable, CustomStringConvertible {
        /// `reuseKey` is not set: the default.
        case notReusing
        /// `--new-key`: the admin rotates the key.
        case asked
        /// No current version to take a key from (the first certificate).
        case noCurrentKey
        /// The current key could not be read or parsed (the message says why).
        case unreadable(String)
        /// The config's `keyType` differs from the current key's.
        case keyTypeChanged(current: KeyType, configured: KeyType)
        /// The current certificate was revoked with reason keyCompromise.
        case compromised

        public var description: String {
            switch self {
            case .notReusing: "reuseKey is not set"
            case .asked: "a new key was asked for (--new-key)"
            case .noCurrentKey: "there is no current key to reuse yet"
            case .unreadable(let why): "the current key cannot be reused: \(why)"
            case .keyTypeChanged(let current, let configured):
                "keyType changed from \(current.rawValue) to \(configured.rawValue)"
            case .compromised: "the current certificate was revoked for keyCompromise"
            }
        }
    }

    /// The decision for `certificate`, from the key read from its current version (`current`: nil when there is none,
    /// or the error reading it) and that version's revocation note. Pure: no file is read here.
    public static func decide(reuseKey: Bool, configured: KeyType, newKeyAsked: Bool,
                              current: Result<PrivateKey, any Error>?, revocation: RevocationNote?) -> Decision {
        guard reuseKey else { return .newKey(reason: .notReusing) }
        guard !newKeyAsked else { return .newKey(reason: .asked) }
        guard let current else { return .newKey(reason: .noCurrentKey) }
        switch current {
        case .failure(let error): return .newKey(reason: .unreadable("\(error)"))
        case .success(let key):
            guard key.type == configured else { return .newKey(reason: .keyTypeChanged(current: key.type, configured: configured)) }
            if revocation?.reason == .keyCompromise { return .newKey(reason: .compromised) }
            return .reuse
        }
    }

    /// The key for the next certificate of `certificate`: the current version's (read from `store` without following a
    /// link) when `decide` says so, else a new one of the configured type. Returns it and whether it was reused.
    public static func key(for certificate: CertificateConfig, store: CertificateStore, newKeyAsked: Bool,
                           logger: Logger) throws -> (key: PrivateKey, reused: Bool) {
        var current: Result<PrivateKey, any Error>? = nil
        var revocation: RevocationNote? = nil
        if certificate.reuseKey, !newKeyAsked {
            (current, revocation) = readCurrent(certificate.name, store: store)
        }
        let decision = decide(reuseKey: certificate.reuseKey, configured: certificate.keyType, newKeyAsked: newKeyAsked,
                              current: current, revocation: revocation)
        switch decision {
        case .reuse:
            guard case .success(let key) = current else { break }
            logger.info("reusing the current private key (reuseKey)", metadata: ["keyType": "\(key.type.rawValue)"])
            return (key, true)
        case .newKey(.notReusing):
            break
        case .newKey(.noCurrentKey):
            logger.info("making a new private key: \(NewKeyReason.noCurrentKey)")
        case .newKey(let reason):
            // The admin relies on the key staying the same (reuseKey): a new one is worth a notice.
            logger.notice("making a new private key: \(reason)")
        }
        return (try PrivateKey.generate(certificate.keyType), false)
    }

    /// The current version's key (nil: no current version) and its revocation note.
    private static func readCurrent(_ name: String, store: CertificateStore) -> (Result<PrivateKey, any Error>?, RevocationNote?) {
        do {
            guard let files = try store.linkedVersion(name) else { return (nil, nil) }
            guard var bytes = try store.read(files.privateKey) else {
                return (.failure(FileSystemError("read", path: files.privateKey, reason: FileErrorWords.reason(ENOENT))), nil)
            }
            defer { SecureMemory.cleanse(&bytes) }
            let note = (try? store.read(StoreKeys.revocationNote(in: files))).flatMap { $0 }
                .flatMap { try? StoreJSON.decode(RevocationNote.self, from: $0) }
            guard let key = try? PrivateKey(pem: String(decoding: bytes, as: UTF8.self)) else {
                return (.failure(RevocationError.notAPrivateKey(file: files.privateKey, encrypted: false)), note)
            }
            return (.success(key), note)
        } catch {
            return (.failure(error), nil)
        }
    }
}
