import ACME
import CertCrypto
import FoundationEssentials

/// Why a newly issued certificate was not accepted into the store. Every name and subject in it was written by the
/// CA, so the description shows them through `UntrustedText`.
public enum ChainVerificationError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    case empty
    /// The CA's answer holds something that is not a certificate; `cause` keeps the low-level reason (for `--debug`).
    case unparseable(cause: CryptoError)
    case keyMismatch(subject: String)
    case missingNames([String], subject: String)
    /// The certificate names more than was asked for (RFC 8555 §7.4: the CA issues for the CSR's names, no others).
    case unrequestedNames([String], requested: [String], subject: String)
    case brokenChain(position: Int, subject: String, issuer: String)
    case notCurrentlyValid(notBefore: Date, notAfter: Date)

    public var description: String {
        switch self {
        case .empty: "the CA sent no certificate"
        case .unparseable(let cause):
            // PEM problems are worth naming (the summary is in words); OpenSSL's DER complaints are for --debug.
            "the CA sent a certificate that cannot be parsed (not PEM / not DER X.509)"
                + (cause.operation == "PEM decode" ? ": \(cause.summary)" : "")
        case .keyMismatch(let subject): "the certificate \(Self.shown(subject)) does not match the private key it was requested for"
        case .missingNames(let names, let subject): "the certificate \(Self.shown(subject)) does not cover \(Self.shown(names))"
        case .unrequestedNames(let names, let requested, let subject):
            "the CA issued the certificate \(Self.shown(subject)) for names that were not requested: \(Self.shown(names)) "
                + "(requested: \(requested.joined(separator: ", "))); it was refused and the current certificate is kept"
        case .brokenChain(let position, let subject, let issuer):
            "the chain is broken at position \(position): \(Self.shown(subject)) is not signed by the next certificate, \(Self.shown(issuer))"
        case .notCurrentlyValid(let notBefore, let notAfter):
            "the certificate is not valid now (valid from \(TimeText.human(notBefore)) to \(TimeText.human(notAfter)))"
        }
    }

    /// The description, with the low-level cause of an unparseable certificate (OpenSSL's text).
    public var debugDescription: String {
        if case .unparseable(let cause) = self { return "\(description) [\(cause.lowLevelDetail)]" }
        return description
    }

    /// At most this many names are listed.
    static let listedNames = 20

    private static func shown(_ text: String) -> String { UntrustedText.display(text, limit: 300) }

    private static func shown(_ names: [String]) -> String {
        var parts = names.prefix(listedNames).map { shown($0) }
        if names.count > listedNames { parts.append("… (\(names.count - listedNames) more)") }
        return parts.joined(separator: ", ")
    }
}

/// Checks a chain from the CA before it may replace anything: it parses, the leaf matches the key and carries exactly
/// the requested names (every one covered, no other DNS name or IP address), each certificate is signed by the next,
/// and the leaf is valid now.
///
/// A certificate with names nobody asked for is refused, not merely warned about: a CA that adds names has misissued
/// (or is not the CA the admin trusts it to be), and serving such a certificate would vouch for names the admin does
/// not control. The current certificate stays in service and the failure is retried with backoff like any other.
public enum ChainVerifier {
    /// Returns the parsed chain, leaf first, or throws the first reason it is not acceptable.
    public static func verify(chainPEM: String, key: PrivateKey, domains: [String], now: Date, clockSkew: TimeInterval = 300) throws -> [Certificate] {
        // One parse of each certificate answers every check below (the key and the links too).
        let parsed: (chain: [Certificate], leafMatchesKey: Bool, firstBrokenLink: Int?)
        do {
            parsed = try Certificate.parseChain(pem: chainPEM, checking: key)
        } catch let error as CryptoError {
            throw ChainVerificationError.unparseable(cause: error)
        }
        let chain = parsed.chain
        guard let leaf = chain.first else { throw ChainVerificationError.empty }
        guard parsed.leafMatchesKey else { throw ChainVerificationError.keyMismatch(subject: leaf.subject) }
        let missing = domains.filter { !leaf.covers($0) }
        guard missing.isEmpty else { throw ChainVerificationError.missingNames(missing, subject: leaf.subject) }
        let extra = leaf.namesNotRequested(domains)
        guard extra.isEmpty else {
            throw ChainVerificationError.unrequestedNames(extra, requested: domains, subject: leaf.subject)
        }
        if let index = parsed.firstBrokenLink {
            throw ChainVerificationError.brokenChain(position: index, subject: chain[index].subject, issuer: chain[index + 1].subject)
        }
        guard leaf.notBefore <= now.addingTimeInterval(clockSkew), leaf.notAfter > now else {
            throw ChainVerificationError.notCurrentlyValid(notBefore: leaf.notBefore, notAfter: leaf.notAfter)
        }
        return chain
    }
}
