import ACME
import CurlHTTP
import FoundationEssentials

/// Delivers notifications as an HTTP POST (`notify.webhook`): a `certagent.notification/v1` JSON document, a Slack
/// `{"text": …}` message, or an ntfy plain-text message. A 2xx answer is accepted; anything else is a
/// `NotificationDeliveryError` naming the status and an excerpt of the answer.
public struct WebhookChannel: NotificationChannel {
    public let config: WebhookConfig
    /// The header values, secrets resolved (never logged or shown).
    private let headers: [(name: String, value: String)]
    private let client: CurlHTTPClient

    /// `secretValue` gives a sealed secret's value by name (for `{"secret": NAME}` headers); `cancellation` aborts a
    /// POST in flight when the daemon stops.
    public init(config: WebhookConfig, secretValue: (String) throws -> [UInt8], cancellation: CurlHTTPCancellation? = nil) throws {
        self.config = config
        var headers: [(name: String, value: String)] = []
        for header in config.headers {
            switch header.value {
            case .plain(let text): headers.append((header.name, text))
            case .secret(let name, let prefix):
                let bytes = try secretValue(name)
                guard let text = String(validating: bytes, as: UTF8.self), !text.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else {
                    throw NotificationDeliveryError("the secret \(name) for the webhook header \(header.name) is not one line of text")
                }
                headers.append((header.name, prefix + text))
            }
        }
        self.headers = headers
        let loopbackHTTP = config.url.lowercased().hasPrefix("http://")
        client = try CurlHTTPClient(configuration: CurlHTTPConfiguration(
            connectTimeout: min(10, config.timeoutSeconds), silenceTimeout: config.timeoutSeconds, totalTimeout: config.timeoutSeconds,
            maxResponseBytes: 64 << 10, userAgent: CurlTransport.userAgent,
            allowedSchemes: loopbackHTTP ? ["http"] : ["https"], cancellation: cancellation))
    }

    public var displayName: String {
        "webhook \(Self.redactedURL(config.url))\(config.format == .json ? "" : " (\(config.format.rawValue))")"
    }

    public func deliver(_ notification: AgentNotification) throws {
        let (body, extraHeaders) = WebhookPayload.render(notification, format: config.format)
        let response: CurlResponse
        do {
            response = try client.perform(method: "POST", url: config.url, headers: extraHeaders + headers, body: body)
        } catch let error as CurlHTTPError {
            if case .cancelled = error { throw NotificationDeliveryError("cancelled: CertAgent is stopping") }
            throw NotificationDeliveryError(Self.words(error, url: Self.redactedURL(config.url)))
        }
        guard (200..<300).contains(response.status) else {
            let excerpt = UntrustedText.display(bytes: response.body, limit: 200)
            throw NotificationDeliveryError("the webhook answered HTTP \(response.status)" + (excerpt.isEmpty ? "" : ": \(excerpt)"))
        }
    }

    /// The URL without its path and query, which may carry a token (Slack and Discord put one there).
    static func redactedURL(_ url: String) -> String {
        guard let parsed = URL(string: url), let scheme = parsed.scheme, let host = parsed.host else { return "(invalid URL)" }
        let shownHost = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        let hasPath = !(parsed.path.isEmpty || parsed.path == "/") || parsed.query != nil
        return "\(scheme)://\(shownHost)\(parsed.port.map { ":\($0)" } ?? "")" + (hasPath ? "/…" : "/")
    }

    private static func words(_ error: CurlHTTPError, url: String) -> String {
        switch error {
        case .transport(_, _, let message): "POST to \(url) failed: \(message)"
        case .responseTooLarge(_, let limit): "the webhook's answer exceeded \(limit) bytes"
        case .schemeNotAllowed: "POST to \(url) refused: scheme not allowed"
        case .invalidURL: "the webhook URL is invalid"
        case .cancelled: "cancelled: CertAgent is stopping"
        }
    }
}

/// The bodies a webhook receives. The `json` format is a stable, documented schema:
///
/// ```json
/// {"schema": "certagent.notification/v1", "event": "renewalFailed", "certificate": "example", "domains": ["example.com"],
///  "subject": "…", "message": "…", "error": "…" | null, "notAfter": "2026-03-01T10:00:00Z" | null,
///  "since": "…" | null, "nextAttempt": "…" | null, "occurredAt": "2026-02-20T10:00:00Z"}
/// ```
/// `event` is one of `NotificationEvent`'s raw values; times are RFC 3339 in UTC; fields may be added in v1, never
/// removed or changed in meaning.
public enum WebhookPayload {
    public static let schema = "certagent.notification/v1"

    /// The body and the headers (Content-Type first) for `format`.
    public static func render(_ notification: AgentNotification, format: WebhookConfig.Format) -> (body: [UInt8], headers: [(name: String, value: String)]) {
        switch format {
        case .json:
            return (json(document(notification)), [("Content-Type", "application/json")])
        case .slack:
            return (json(["text": "*\(notification.subject)*\n\(notification.message)"]), [("Content-Type", "application/json")])
        case .ntfy:
            let priority = notification.event == .recovered || notification.event == .test ? "default" : "high"
            return (Array(notification.message.utf8), [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Title", oneLineASCII(notification.subject)),
                ("Tags", tags(notification.event)),
                ("Priority", priority),
            ])
        }
    }

    /// The `certagent.notification/v1` document.
    public static func document(_ notification: AgentNotification) -> Document {
        Document(schema: schema, event: notification.event.rawValue, certificate: notification.certificate, domains: notification.domains,
                 subject: notification.subject, message: notification.message, error: notification.error,
                 notAfter: notification.notAfter.map(TimeText.rfc3339), since: notification.since.map(TimeText.rfc3339),
                 nextAttempt: notification.nextAttempt.map(TimeText.rfc3339), occurredAt: TimeText.rfc3339(notification.occurredAt))
    }

    /// The fields of a `certagent.notification/v1` document; an absent value is written as `null`.
    public struct Document: Encodable, Sendable, Equatable {
        public var schema: String
        public var event: String
        public var certificate: String?
        public var domains: [String]
        public var subject: String
        public var message: String
        public var error: String?
        public var notAfter: String?
        public var since: String?
        public var nextAttempt: String?
        public var occurredAt: String

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(schema, forKey: .schema)
            try container.encode(event, forKey: .event)
            try container.encode(certificate, forKey: .certificate)
            try container.encode(domains, forKey: .domains)
            try container.encode(subject, forKey: .subject)
            try container.encode(message, forKey: .message)
            try container.encode(error, forKey: .error)
            try container.encode(notAfter, forKey: .notAfter)
            try container.encode(since, forKey: .since)
            try container.encode(nextAttempt, forKey: .nextAttempt)
            try container.encode(occurredAt, forKey: .occurredAt)
        }

        private enum CodingKeys: String, CodingKey {
            case schema, event, certificate, domains, subject, message, error, notAfter, since, nextAttempt, occurredAt
        }
    }

    /// Compact JSON, keys sorted, slashes not escaped.
    private static func json(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(value)) ?? Data("{}".utf8))
    }

    /// ntfy's emoji tags.
    private static func tags(_ event: NotificationEvent) -> String {
        switch event {
        case .recovered: "white_check_mark"
        case .test: "bell"
        case .atRisk, .renewalFailed: "warning,lock"
        default: "warning"
        }
    }

    /// A header value: one line of printable ASCII (other characters become `?`).
    private static func oneLineASCII(_ text: String) -> String {
        String(text.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F ? Character($0) : "?" })
    }
}
