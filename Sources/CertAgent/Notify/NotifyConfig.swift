import FoundationEssentials

/// Where and when to tell the admin (config `notify`, top level; a certificate's own `notify` replaces it or turns
/// notifications off for that certificate, see `CertificateNotify`).
public struct NotifyConfig: Sendable, Equatable {
    /// E-mail through SMTP, if configured.
    public var email: EmailNotifyConfig?
    /// A JSON/Slack/ntfy POST, if configured.
    public var webhook: WebhookConfig?
    /// A certificate is at risk when less than this share of its lifetime is left (default a sixth) …
    public var atRiskShare: Double = NotifyConfig.defaultAtRiskShare
    /// … or less than this many days, whichever is longer (default 2).
    public var atRiskFloorDays: Double = NotifyConfig.defaultAtRiskFloorDays

    public static let defaultAtRiskShare = 1.0 / 6
    public static let defaultAtRiskFloorDays = 2.0

    public init(email: EmailNotifyConfig? = nil, webhook: WebhookConfig? = nil) {
        self.email = email
        self.webhook = webhook
    }

    /// The channels in words (no secrets), e.g. for `check`: "email to a@example.com via smtp.example.com:587".
    public var channelDescriptions: [String] {
        var descriptions: [String] = []
        if let email { descriptions.append("email to \(email.to.joined(separator: ", ")) via \(email.server):\(email.port) (\(email.security.rawValue))") }
        if let webhook { descriptions.append("webhook \(WebhookChannel.redactedURL(webhook.url))" + (webhook.format == .json ? "" : " (\(webhook.format.rawValue))")) }
        return descriptions
    }

    /// The secret names this block refers to.
    public var referencedSecrets: [String] {
        [email?.passwordSecret].compactMap { $0 } + (webhook?.headers.compactMap(\.secretName) ?? [])
    }

    /// The at-risk threshold for a certificate valid from `notBefore` to `notAfter`: max(share × lifetime, floor).
    public func atRiskLead(notBefore: Date, notAfter: Date) -> TimeInterval {
        max(notAfter.timeIntervalSince(notBefore) * atRiskShare, atRiskFloorDays * 86_400)
    }
}

/// A certificate's own `notify`: `false` turns notifications off for it; an object replaces the top-level block.
public enum CertificateNotify: Sendable, Equatable {
    case disabled
    case replaced(NotifyConfig)
}

extension AgentConfig {
    /// The notify settings that apply to `certificate` (nil: nobody is told about it).
    public func notifySettings(for certificate: CertificateConfig) -> NotifyConfig? {
        switch certificate.notify {
        case .disabled?: nil
        case .replaced(let own)?: own
        case nil: notify
        }
    }

    /// Every distinct notify block in the config (the top-level one first), e.g. for `notify --test`.
    public var allNotifySettings: [NotifyConfig] {
        var all: [NotifyConfig] = notify.map { [$0] } ?? []
        for certificate in certificates {
            if case .replaced(let own)? = certificate.notify, !all.contains(own) { all.append(own) }
        }
        return all
    }
}

/// SMTP settings (`notify.email`); the transport is `EmailChannel`.
public struct EmailNotifyConfig: Sendable, Equatable {
    /// How the connection is protected: STARTTLS on the submission port (required, never plain), or TLS from the start.
    public enum Security: String, Sendable, Equatable, CaseIterable {
        case starttls
        case smtps

        /// 587 for STARTTLS (RFC 6409), 465 for implicit TLS (RFC 8314).
        public var defaultPort: Int { self == .starttls ? 587 : 465 }
    }

    /// The SMTP server's host name or address.
    public var server: String
    public var port: Int
    public var security: Security
    /// The envelope and header sender.
    public var from: String
    /// One or more recipients.
    public var to: [String]
    /// The SMTP AUTH user, if the server wants one.
    public var username: String?
    /// The name of the sealed secret holding the password (`certagent secret set NAME`).
    public var passwordSecret: String?
    /// A PEM file of CAs to trust for the mail server (a private CA) instead of the system store.
    public var caFile: String?

    public init(server: String, port: Int? = nil, security: Security = .starttls, from: String, to: [String],
                username: String? = nil, passwordSecret: String? = nil) {
        self.server = server
        self.port = port ?? security.defaultPort
        self.security = security
        self.from = from
        self.to = to
        self.username = username
        self.passwordSecret = passwordSecret
    }
}

/// A webhook (`notify.webhook`): a POST to an HTTPS URL (or HTTP on the loopback interface).
public struct WebhookConfig: Sendable, Equatable {
    /// The body's shape.
    public enum Format: String, Sendable, Equatable, CaseIterable {
        /// `WebhookPayload` schema `certagent.notification/v1`.
        case json
        /// Slack's (and Mattermost's) incoming webhook: `{"text": …}`.
        case slack
        /// ntfy: the message as plain text, with `Title`, `Tags` and `Priority` headers.
        case ntfy
    }

    /// One header to send: a plain value, or a sealed secret's value (with an optional prefix such as `Bearer `).
    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: Value

        public enum Value: Sendable, Equatable {
            case plain(String)
            case secret(name: String, prefix: String)
        }

        public init(name: String, value: Value) {
            self.name = name
            self.value = value
        }

        /// The secret it refers to, if any.
        public var secretName: String? {
            if case .secret(let name, _) = value { return name }
            return nil
        }
    }

    public var url: String
    public var format: Format = .json
    public var headers: [Header] = []
    /// The longest a POST may take, connection included.
    public var timeoutSeconds: Double = WebhookConfig.defaultTimeoutSeconds

    public static let defaultTimeoutSeconds = 10.0

    public init(url: String, format: Format = .json, headers: [Header] = [], timeoutSeconds: Double = WebhookConfig.defaultTimeoutSeconds) {
        self.url = url
        self.format = format
        self.headers = headers
        self.timeoutSeconds = timeoutSeconds
    }
}
