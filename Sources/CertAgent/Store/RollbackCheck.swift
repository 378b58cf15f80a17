import ACME
import CertCrypto
import FoundationEssentials

/// Why the version kept as `previous` is not made current again.
public enum RollbackRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// No `previous` link: fewer than two certificates were issued (or the last rollback had no current to keep).
    case noPrevious(name: String)
    /// Its files cannot be read or parsed (or a link stands where a file belongs).
    case unreadable(reason: String)
    /// The certificate does not match the private key beside it.
    case keyMismatch
    /// Configured names it does not cover.
    case missingNames([String])
    /// Names it covers that the config no longer lists.
    case extraNames([String])
    /// A certificate of its chain is not signed by the next one.
    case brokenChain(position: Int, subject: String, issuer: String)
    /// Its validity has not begun.
    case notYetValid(notBefore: Date)
    /// Its validity has ended.
    case expired(notAfter: Date)
    /// It is still valid, but for less than its safety margin (`LifetimeRenewalRule.latestRenewal`).
    case tooCloseToExpiry(notAfter: Date, latestSafe: Date)
    /// `certagent revoke` revoked it (its note is beside it).
    case revoked(serial: String, reason: RevocationReason, at: Date)

    public var description: String {
        switch self {
        case .noPrevious(let name):
            "\(name) has no previous certificate kept: one is kept once a second certificate has been issued (by a renewal), so there is nothing to roll back to"
        case .unreadable(let reason): "the previous certificate cannot be used: \(reason)"
        case .keyMismatch: "the previous certificate does not match its private key"
        case .missingNames(let names):
            "the previous certificate does not cover \(Self.shown(names)), which the config lists now: serving it would break those names"
        case .extraNames(let names):
            "the previous certificate also covers \(Self.shown(names)), which the config no longer lists: it is not served again"
        case .brokenChain(let position, let subject, let issuer):
            "the previous certificate's chain is broken at position \(position): \(UntrustedText.display(subject, limit: 300)) is not signed by \(UntrustedText.display(issuer, limit: 300))"
        case .notYetValid(let notBefore): "the previous certificate is not valid yet (from \(CertificateStatus.format(notBefore)))"
        case .expired(let notAfter):
            "the previous certificate expired on \(CertificateStatus.format(notAfter)): browsers would refuse it; `certagent renew --force` gets a new one instead"
        case .tooCloseToExpiry(let notAfter, let latestSafe):
            "the previous certificate expires on \(CertificateStatus.format(notAfter)), past the last safe moment to renew it (\(CertificateStatus.format(latestSafe))): it would be replaced at once; `certagent renew --force` gets a new one instead"
        case .revoked(let serial, let reason, let at):
            "the previous certificate (\(serial)) was revoked (\(reason.rawValue)) on \(CertificateStatus.format(at)): clients may refuse it; `certagent renew --force` gets a new one instead"
        }
    }

    private static func shown(_ names: [String]) -> String {
        names.prefix(20).map { UntrustedText.display($0, limit: 300) }.joined(separator: ", ") + (names.count > 20 ? ", …" : "")
    }
}

/// A previous version that may be made current again.
public struct RollbackCandidate: Sendable {
    /// Its leaf certificate.
    public let leaf: Certificate
    /// Its full chain, leaf first, each signed by the next.
    public let chain: [Certificate]
    /// From when the lifetime rule may renew it (the earliest time `RenewalPolicy` can draw for it).
    public let renewalFrom: Date
    /// By when it is renewed at the latest without renewal information.
    public let renewalBy: Date

    /// True when it is already inside its renewal period, so the daemon may replace it at any moment.
    public func isDue(at now: Date) -> Bool { now >= renewalFrom }
}

/// Decides whether a stored version may be made current again: the checks an issuance gets before its commit
/// (`ChainVerifier`: it parses, the leaf matches the key, covers exactly the configured names, each certificate is signed
/// by the next, valid now), and more, since it is not new: not known to be revoked, and still valid for more than the
/// lifetime rule's safety margin (`LifetimeRenewalRule.latestRenewal`: the daemon would replace it at once past that).
/// Pure: the files' texts, the revocation note and the clock come in.
public enum RollbackCheck {
    /// The candidate for the version whose full chain is `chainPEM` and key `keyPEM`, with `revocation` the note found
    /// beside it, checked against the configured `domains` at `now`; or why it is refused.
    public static func evaluate(chainPEM: String, keyPEM: String, revocation: RevocationNote?, domains: [String], now: Date,
                                rule: LifetimeRenewalRule = LifetimeRenewalRule()) -> Result<RollbackCandidate, RollbackRefusal> {
        let key: PrivateKey
        do { key = try PrivateKey(pem: keyPEM) } catch {
            return .failure(.unreadable(reason: "its private key cannot be read"))
        }
        let chain: [Certificate]
        do {
            // No clock skew allowance: a certificate that was served before is valid now or not at all.
            chain = try ChainVerifier.verify(chainPEM: chainPEM, key: key, domains: domains, now: now, clockSkew: 0)
        } catch let error as ChainVerificationError {
            switch error {
            case .empty: return .failure(.unreadable(reason: "its full chain holds no certificate"))
            case .unparseable: return .failure(.unreadable(reason: "its full chain is not PEM certificates"))
            case .keyMismatch: return .failure(.keyMismatch)
            case .missingNames(let names, _): return .failure(.missingNames(names))
            case .unrequestedNames(let names, _, _): return .failure(.extraNames(names))
            case .brokenChain(let position, let subject, let issuer): return .failure(.brokenChain(position: position, subject: subject, issuer: issuer))
            case .notCurrentlyValid(let notBefore, let notAfter):
                return .failure(notAfter <= now ? .expired(notAfter: notAfter) : .notYetValid(notBefore: notBefore))
            }
        } catch {
            return .failure(.unreadable(reason: "\(error)"))
        }
        let leaf = chain[0]
        if let revocation, revocation.serialHex == leaf.serialHex {
            return .failure(.revoked(serial: leaf.serialHex, reason: revocation.reason, at: revocation.revokedAt))
        }
        let latestSafe = rule.latestRenewal(notBefore: leaf.notBefore, notAfter: leaf.notAfter)
        guard now < latestSafe else { return .failure(.tooCloseToExpiry(notAfter: leaf.notAfter, latestSafe: latestSafe)) }
        let bounds = rule.bounds(notBefore: leaf.notBefore, notAfter: leaf.notAfter)
        return .success(RollbackCandidate(leaf: leaf, chain: chain, renewalFrom: bounds.lowerBound, renewalBy: bounds.upperBound))
    }
}
