import CertCrypto
import Foundation

/// Why a newly issued certificate was not accepted into the store.
public enum ChainVerificationError: Error, Sendable, CustomStringConvertible {
    case empty
    case keyMismatch(subject: String)
    case missingNames([String], subject: String)
    case brokenChain(position: Int, subject: String, issuer: String)
    case notCurrentlyValid(notBefore: Date, notAfter: Date)

    public var description: String {
        switch self {
        case .empty: "the CA sent no certificate"
        case .keyMismatch(let subject): "the certificate \(subject) does not match the private key it was requested for"
        case .missingNames(let names, let subject): "the certificate \(subject) does not cover \(names.joined(separator: ", "))"
        case .brokenChain(let position, let subject, let issuer):
            "the chain is broken at position \(position): \(subject) is not signed by the next certificate, \(issuer)"
        case .notCurrentlyValid(let notBefore, let notAfter):
            "the certificate is not valid now (valid from \(notBefore) to \(notAfter))"
        }
    }
}

/// Checks a chain from the CA before it may replace anything: it parses, the leaf matches the key and covers every
/// requested name, each certificate is signed by the next, and the leaf is valid now.
public enum ChainVerifier {
    /// Returns the parsed chain, leaf first, or throws the first reason it is not acceptable.
    public static func verify(chainPEM: String, key: PrivateKey, domains: [String], now: Date, clockSkew: TimeInterval = 300) throws -> [Certificate] {
        let chain = try Certificate.parseChain(pem: chainPEM)
        guard let leaf = chain.first else { throw ChainVerificationError.empty }
        guard leaf.matches(key) else { throw ChainVerificationError.keyMismatch(subject: leaf.subject) }
        let missing = domains.filter { !leaf.covers($0) }
        guard missing.isEmpty else { throw ChainVerificationError.missingNames(missing, subject: leaf.subject) }
        for index in chain.indices.dropLast() where !chain[index].isIssued(by: chain[index + 1]) {
            throw ChainVerificationError.brokenChain(position: index, subject: chain[index].subject, issuer: chain[index + 1].subject)
        }
        guard leaf.notBefore <= now.addingTimeInterval(clockSkew), leaf.notAfter > now else {
            throw ChainVerificationError.notCurrentlyValid(notBefore: leaf.notBefore, notAfter: leaf.notAfter)
        }
        return chain
    }
}
