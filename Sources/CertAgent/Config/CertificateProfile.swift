import ACME

/// ACME certificate profiles (the profiles extension: the directory's `meta.profiles` lists them, an order's
/// `profile` picks one) and the limits a CA applies per profile, checked before the CA would refuse an order.
///
/// Every function here is pure: `check`, `check --online` and the issuer ask the same questions and get the same
/// answers.
public enum CertificateProfile {
    /// Let's Encrypt's 160-hour profile: the only one under which it issues for IP addresses.
    public static let shortlived = "shortlived"
    /// Let's Encrypt's 45-day profile for TLS servers, limited to `tlsserverNameLimit` names.
    public static let tlsserver = "tlsserver"
    /// The most names a certificate holds at Let's Encrypt, whatever the profile.
    public static let nameLimit = 100
    /// The most names a `tlsserver` certificate holds at Let's Encrypt.
    public static let tlsserverNameLimit = 25
    /// The longest profile name accepted in the config: CAs name them with short tokens (`classic`, `tlsserver`).
    static let nameBytes = 64

    /// Why `text` cannot be a profile name (1–64 characters of A–Z, a–z, 0–9, '.', '_' and '-'), or nil.
    static func nameProblem(_ text: String) -> String? {
        let allowed = text.unicodeScalars.allSatisfy { scalar in
            (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || (scalar >= "0" && scalar <= "9")
                || "._-".unicodeScalars.contains(scalar)
        }
        guard !text.isEmpty, text.utf8.count <= nameBytes, allowed else {
            return "is not a profile name (1–\(nameBytes) characters of A–Z, a–z, 0–9, '.', '_' and '-', as the CA's directory lists them, e.g. tlsserver)"
        }
        return nil
    }

    /// The most names a certificate under `profile` may hold (Let's Encrypt's limits: 100; 25 for `tlsserver`).
    public static func nameLimit(profile: String?) -> Int {
        profile == tlsserver ? tlsserverNameLimit : nameLimit
    }

    /// Whether `directoryURL` is one of Let's Encrypt's directories (`KnownDirectory`), whose rules are known offline.
    public static func isLetsEncrypt(_ directoryURL: String) -> Bool {
        KnownDirectory.allCases.contains { $0.url == directoryURL }
    }

    /// Whether Let's Encrypt's rule "IP addresses only under `shortlived`" applies at this CA: it is Let's Encrypt's,
    /// or (known online) its directory offers a `shortlived` profile.
    public static func shortlivedRuleApplies(directoryURL: String, offered: [String: String]?) -> Bool {
        isLetsEncrypt(directoryURL) || offered?[shortlived] != nil
    }

    /// `offered` (`meta.profiles`) in words: `classic (…); tlsserver (…)`, sorted by name, each with its description.
    /// Both are the CA's text: escaped and bounded (`UntrustedText`).
    public static func listed(_ offered: [String: String]) -> String {
        offered.keys.sorted().map { name in
            let description = UntrustedText.display(offered[name] ?? "", limit: 200)
            return UntrustedText.display(name, limit: 64) + (description.isEmpty ? "" : " (\(description))")
        }.joined(separator: "; ")
    }

    /// The problem with ordering `certificate` from a CA whose directory offers `offered` (`meta.profiles`: name →
    /// description; nil when it has none), or nil when the order may go ahead:
    /// - a configured profile the CA does not list (`notOffered`, with the ones it does), or any profile at a CA
    ///   without profiles (`noProfilesOffered`): never silently ignored;
    /// - an IP address in a certificate whose profile is not `shortlived`, where that rule applies
    ///   (`shortlivedRuleApplies`).
    public static func problem(with certificate: CertificateConfig, directoryURL: String, offered: [String: String]?) -> ProfileProblem? {
        if let profile = certificate.profile {
            guard let offered, !offered.isEmpty else {
                return ProfileProblem(certificate: certificate.name, profile: profile, directoryURL: directoryURL, kind: .noProfilesOffered)
            }
            if offered[profile] == nil {
                return ProfileProblem(certificate: certificate.name, profile: profile, directoryURL: directoryURL, kind: .notOffered(offered))
            }
        }
        return ipAddressProblem(with: certificate, directoryURL: directoryURL, offered: offered)
    }

    /// The first IP address of `certificate` that its profile cannot hold at this CA (Let's Encrypt's rule: IP
    /// addresses only under `shortlived`), or nil.
    public static func ipAddressProblem(with certificate: CertificateConfig, directoryURL: String, offered: [String: String]?) -> ProfileProblem? {
        guard certificate.profile != shortlived, shortlivedRuleApplies(directoryURL: directoryURL, offered: offered),
              let address = certificate.identifiers.first(where: { $0.type == "ip" })?.value else { return nil }
        return ProfileProblem(certificate: certificate.name, profile: certificate.profile, directoryURL: directoryURL,
                              kind: .ipAddressNeedsShortlived(address: address))
    }
}

/// A configured profile the CA cannot honour, found before any order is placed.
public struct ProfileProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The CA's directory lists profiles, but not this one: name → description of those it lists.
        case notOffered([String: String])
        /// The CA's directory lists no profiles at all (`meta.profiles` absent or empty).
        case noProfilesOffered
        /// The certificate holds this IP address, which the CA issues for only under `shortlived`.
        case ipAddressNeedsShortlived(address: String)
    }

    /// The certificate's name in the config.
    public var certificate: String
    /// Its configured profile (nil: none, the CA's default).
    public var profile: String?
    /// The CA's directory URL.
    public var directoryURL: String
    public var kind: Kind

    /// The problem in words, without the certificate's name (callers put it first: `site: profile = …`).
    public var description: String {
        let shownProfile = profile.map { "\"\($0)\"" } ?? "none"
        switch kind {
        case .notOffered(let offered):
            return "profile = \(shownProfile) is not offered by the CA at \(directoryURL); it offers: "
                + CertificateProfile.listed(offered) + ". Set \"profile\" to one of them (or remove it for the CA's default)"
        case .noProfilesOffered:
            return "profile = \(shownProfile) is configured, but the CA at \(directoryURL) offers no profiles "
                + "(its directory has no meta.profiles): remove \"profile\" (the CA would ignore or refuse it)"
        case .ipAddressNeedsShortlived(let address):
            return "the IP address \(address) needs the profile \"\(CertificateProfile.shortlived)\" at the CA at "
                + "\(directoryURL) (Let's Encrypt issues IP-address certificates only under it), but the profile is \(shownProfile): "
                + "set \"profile\": \"\(CertificateProfile.shortlived)\" for this certificate"
        }
    }
}
