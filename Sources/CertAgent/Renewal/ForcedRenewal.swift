/// An admin's request to replace a certificate now, whatever its schedule and failure backoff (`certagent issue`,
/// `certagent renew --force`): it is about the certificate that was stored when the command started.
///
/// When another certagent process puts a usable certificate other than that one in its place (while this one was
/// connecting or waiting for the issuance lock), the request has been fulfilled: the new certificate is what the admin
/// asked for, and a second order would only spend the CA's rate limits (5 duplicate certificates per week at
/// Let's Encrypt) and replace a certificate minutes old.
public struct ForcedRenewal: Sendable, Equatable {
    /// The serial (hex) of the certificate stored when the admin asked; nil when there was none to read.
    public var replacing: String?
    /// A new private key even when the certificate has `reuseKey` (`certagent renew --force --new-key`).
    public var newKey = false

    public init(replacing serial: String?) {
        self.replacing = serial
    }

    /// A request about the certificate found in `state`.
    public init(replacing state: StoredCertificateState, newKey: Bool = false) {
        self.init(replacing: state.leaf?.serialHex)
        self.newKey = newKey
    }

    /// Whether the store, now in `state`, already holds what was asked for: a usable certificate other than the one
    /// the request was about.
    public func isFulfilled(by state: StoredCertificateState) -> Bool {
        state.isUsable && state.leaf?.serialHex != replacing
    }
}
