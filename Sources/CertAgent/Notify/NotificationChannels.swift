import CurlHTTP
import FoundationEssentials

/// Builds the channels a `notify` block names, with their secrets resolved from the sealed secrets file.
public enum NotificationChannels {
    /// Every channel of `settings`, email first. A channel that cannot be built (a secret missing or unusable) is
    /// still listed: delivering through it fails with the reason, so `notify --test` and the log name it.
    public static func make(_ settings: NotifyConfig, secrets: SecretsFile, cancellation: CurlHTTPCancellation? = nil) -> [any NotificationChannel] {
        make(settings, secretValue: { try secrets.value(named: $0) }, cancellation: cancellation)
    }

    /// `make(_:secrets:cancellation:)` with the secrets given by `secretValue` (name → value).
    public static func make(_ settings: NotifyConfig, secretValue: (String) throws -> [UInt8],
                            cancellation: CurlHTTPCancellation? = nil) -> [any NotificationChannel] {
        var channels: [any NotificationChannel] = []
        if let email = settings.email {
            do {
                let password = try email.passwordSecret.map { try secretValue($0) }
                channels.append(try makeEmailChannel(email, password: password, cancellation: cancellation))
            } catch {
                channels.append(UnavailableChannel(displayName: "email to \(email.to.joined(separator: ", ")) via \(email.server):\(email.port)",
                                                   reason: "\(error)"))
            }
        }
        if let webhook = settings.webhook {
            do {
                channels.append(try WebhookChannel(config: webhook, secretValue: secretValue, cancellation: cancellation))
            } catch {
                channels.append(UnavailableChannel(displayName: "webhook \(WebhookChannel.redactedURL(webhook.url))", reason: "\(error)"))
            }
        }
        return channels
    }

    /// The e-mail transport (`EmailChannel`, SMTP through libcurl), given the config and the password's bytes.
    static func makeEmailChannel(_ config: EmailNotifyConfig, password: [UInt8]?,
                                 cancellation: CurlHTTPCancellation?) throws -> any NotificationChannel {
        let settings = EmailSettings(server: config.server, port: config.port, security: config.security,
                                     from: config.from, to: config.to, username: config.username, password: password,
                                     caFile: config.caFile)
        return try EmailChannel(settings: settings, cancellation: cancellation)
    }
}

/// A configured channel that could not be set up: every delivery fails with why.
struct UnavailableChannel: NotificationChannel {
    let displayName: String
    let reason: String

    func deliver(_ notification: AgentNotification) throws {
        throw NotificationDeliveryError(reason)
    }
}
