import ACME
import CertCrypto
import FoundationEssentials

/// What one name served, as a stable value for machines (`status --json`'s `site[].served`).
public enum SiteServed: String, Codable, Sendable, CaseIterable {
    /// The store's current certificate (same serial and public key).
    case current
    /// Another certificate (an older one, another vhost's, a CDN's).
    case other
    /// No certificate could be fetched: see `reason`.
    case unreachable
    /// Not checked yet.
    case unchecked
}

/// Why a name's site could not be checked, as a stable value.
public enum SiteUnreachableReason: String, Codable, Sendable, CaseIterable {
    case refused, timedOut, tlsHandshakeFailed, noCertificate, notResolved, failed

    /// In words, for people.
    public var words: String {
        switch self {
        case .refused: "connection refused"
        case .timedOut: "timed out"
        case .tlsHandshakeFailed: "TLS handshake failed"
        case .noCertificate: "no certificate"
        case .notResolved: "name not resolved"
        case .failed: "connection failed"
        }
    }
}

/// The outcome of the site check for one name.
public struct SiteNameResult: Codable, Sendable, Equatable {
    /// The name (SNI) checked.
    public var name: String
    /// Where the check connected: `name:443` or the configured `address`.
    public var address: String
    public var served: SiteServed
    /// The served certificate's serial (hex), for `current` and `other`.
    public var serial: String?
    public var notAfter: Date?
    /// The served certificate's issuer, made safe to show (`UntrustedText.display`): the server chose it.
    public var issuer: String?
    /// For `unreachable`.
    public var reason: SiteUnreachableReason?
    public var checkedAt: Date?

    public init(name: String, address: String, served: SiteServed, serial: String? = nil, notAfter: Date? = nil,
                issuer: String? = nil, reason: SiteUnreachableReason? = nil, checkedAt: Date?) {
        self.name = name
        self.address = address
        self.served = served
        self.serial = serial
        self.notAfter = notAfter
        self.issuer = issuer
        self.reason = reason
        self.checkedAt = checkedAt
    }

    /// The result of comparing the served leaf with the store's current leaf: `current` only when both the serial
    /// and the public key match (a certificate for another key with a colliding serial is not ours).
    public static func compare(name: String, address: String, served: Certificate, current: Certificate?, at: Date) -> SiteNameResult {
        let same = current.map { $0.serialNumber == served.serialNumber && $0.hasSamePublicKey(as: served) } ?? false
        return SiteNameResult(name: name, address: address, served: same ? .current : .other, serial: served.serialHex,
                              notAfter: served.notAfter, issuer: UntrustedText.display(served.issuer, limit: 200), checkedAt: at)
    }

    /// In words: "serves the current certificate ✓", "serves an older certificate (serial …, expires …)",
    /// "unreachable (why)".
    public var text: String {
        switch served {
        case .current:
            return "serves the current certificate ✓"
        case .other:
            let expiry = notAfter.map { ", expires \(TimeText.human($0))" } ?? ""
            return "serves another certificate (serial \(serial ?? "?")\(expiry)\(issuer.map { ", issuer \($0)" } ?? ""))"
        case .unreachable:
            return "unreachable (\(reason?.words ?? "unknown"))"
        case .unchecked:
            return "not checked yet"
        }
    }

    /// `text`, saying "older" when the served certificate expires before the current one.
    public func text(currentNotAfter: Date?) -> String {
        guard served == .other, let notAfter, let currentNotAfter, notAfter < currentNotAfter else { return text }
        return "serves an older certificate (serial \(serial ?? "?"), expires \(TimeText.human(notAfter)))"
    }
}

/// `<certificate dir>/site.json`: the last site check of a certificate and the time of its last successful deploy.
public struct SiteCheckRecord: Codable, Sendable, Equatable {
    public var formatVersion: Int = 1
    /// When a new certificate was last put in place (installed and reloaded, or made current when served from the store).
    public var lastDeploy: Date?
    /// When the last check ended.
    public var checkedAt: Date?
    /// Serial of the store's current certificate at that check.
    public var currentSerial: String?
    public var names: [SiteNameResult] = []

    public init() {}

    /// Whether every name served the current certificate at the last check.
    public var allCurrent: Bool { !names.isEmpty && names.allSatisfy { $0.served == .current } }
}
