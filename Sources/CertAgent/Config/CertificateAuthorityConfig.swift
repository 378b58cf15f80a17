import FoundationEssentials

/// One ACME CA certificates may come from: an entry of the config's `directory` list. The first is the primary; the
/// others are fallbacks, tried in order when the primary keeps failing for a certificate (`CertificateAuthorityFallback`).
/// Each CA has its own account (the store keeps one per directory URL), trust file and external account binding.
public struct CertificateAuthorityConfig: Sendable, Equatable {
    /// The ACME directory URL (HTTPS, RFC 8555 §7.1.1).
    public var directoryURL: String
    /// A PEM file of CA certificates to trust for this ACME server instead of the system store.
    public var caFile: String?
    /// External account binding for this CA, when it requires one (RFC 8555 §7.3.4).
    public var externalAccountBinding: ExternalAccountBindingConfig?

    public init(directoryURL: String, caFile: String? = nil, externalAccountBinding: ExternalAccountBindingConfig? = nil) {
        self.directoryURL = directoryURL
        self.caFile = caFile
        self.externalAccountBinding = externalAccountBinding
    }

    /// The name people know the CA by: a `KnownDirectory` name (`letsencrypt`), else the directory URL.
    public var displayName: String { Self.displayName(of: directoryURL) }

    /// `letsencrypt` (a `KnownDirectory` name) for a known directory URL, else the URL itself.
    public static func displayName(of directoryURL: String) -> String {
        KnownDirectory.allCases.first { $0.url == directoryURL }?.rawValue ?? directoryURL
    }
}

extension AgentConfig {
    /// `fallbackAfterFailures` when the config does not set it.
    public static let defaultFallbackAfterFailures = 3

    /// The primary CA: `directory` (its first entry when a list), with the top-level `caFile` and `eab` or its own.
    public var primaryAuthority: CertificateAuthorityConfig {
        CertificateAuthorityConfig(directoryURL: directoryURL, caFile: caFile, externalAccountBinding: externalAccountBinding)
    }

    /// Every configured CA in the order they are tried: the primary, then `fallbackAuthorities`.
    public var certificateAuthorities: [CertificateAuthorityConfig] { [primaryAuthority] + fallbackAuthorities }

    /// The configured CA with directory URL `url`, if any.
    public func certificateAuthority(directoryURL url: String) -> CertificateAuthorityConfig? {
        certificateAuthorities.first { $0.directoryURL == url }
    }

    /// This config as one CA sees it: `authority`'s URL, trust file and binding in the primary's fields (what
    /// `AccountManager` and the HTTP transport read), no fallbacks.
    public func using(_ authority: CertificateAuthorityConfig) -> AgentConfig {
        var config = self
        config.directoryURL = authority.directoryURL
        config.caFile = authority.caFile
        config.externalAccountBinding = authority.externalAccountBinding
        config.fallbackAuthorities = []
        return config
    }
}

extension AgentConfig {
    /// The CAs as `certagent check` lists them, in the order they are tried.
    public var certificateAuthorityLines: [String] {
        guard !fallbackAuthorities.isEmpty else { return ["  ACME server  \(directoryURL)"] }
        let header = "  ACME servers tried in order (a renewal moves to the next after \(fallbackAfterFailures) failure\(fallbackAfterFailures == 1 ? "" : "s") in a row, "
            + "or when a CA asks to wait past the time the certificate must be renewed by; the next renewal starts at the first again):"
        return [header] + certificateAuthorities.enumerated().map { index, authority in
            var details: [String] = [index == 0 ? "primary" : "fallback"]
            if let caFile = authority.caFile { details.append("caFile \(caFile)") }
            if let binding = authority.externalAccountBinding { details.append("EAB key id \(binding.keyID)") }
            return "    \(index + 1). \(authority.directoryURL) (\(details.joined(separator: ", ")))"
        }
    }
}

