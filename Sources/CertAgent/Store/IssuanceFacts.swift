import FoundationEssentials

/// What is known about how one stored certificate version was obtained (`versions/<id>/issuance.json`): which CA
/// (directory URL) and account issued it, under which profile, and whether its private key was carried over from the
/// version before. Written with the version, before it becomes current; read by `status`, by the renewal decision (a
/// changed profile renews early) and when renewing (ARI `replaces` goes only to the CA that issued the certificate).
/// Versions written before this file existed have none: every field is then unknown (nil).
public struct IssuanceFacts: Codable, Sendable, Equatable {
    /// The ACME directory URL of the CA that issued the certificate (RFC 8555 §7.1.1).
    public var directoryURL: String
    /// The account URL it was ordered with (RFC 8555 §7.3), when known.
    public var accountURL: String?
    /// The profile the order named (the ACME profiles extension); nil: none named (the CA's default).
    public var profile: String?
    /// True when the private key is the previous version's, kept by `reuseKey`.
    public var keyReused: Bool?

    public init(directoryURL: String, accountURL: String? = nil, profile: String? = nil, keyReused: Bool? = nil) {
        self.directoryURL = directoryURL
        self.accountURL = accountURL
        self.profile = profile
        self.keyReused = keyReused
    }

}

extension CertificateStore {
    /// The issuance facts of the version directory `files` (resolved, as `linkedVersion` returns it, or staged), read
    /// without following a link; nil when the version has none (written before the file existed) or it cannot be
    /// decoded.
    public func issuanceFacts(_ files: CertificateFiles) -> IssuanceFacts? {
        guard let bytes = (try? read(StoreKeys.issuanceFacts(in: files))) ?? nil else { return nil }
        return try? StoreJSON.decode(IssuanceFacts.self, from: bytes)
    }

    /// The issuance facts of certificate `name`'s `current` (or `previous`) version, if any.
    public func issuanceFacts(of name: String, link: String = "current") -> IssuanceFacts? {
        guard let files = (try? linkedVersion(name, link: link)) ?? nil else { return nil }
        return issuanceFacts(files)
    }
}
