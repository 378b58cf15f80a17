import ACME
import CurlHTTP
import FoundationEssentials

/// How to reach the admin by e-mail: the `notify.email` settings, with the password already taken from its sealed
/// secret. The config reader fills it in; `problems(field:)` checks every field the way the rest of the config is
/// checked.
public struct EmailSettings: Sendable {
    /// How the connection to the mail server is protected (STARTTLS required, or TLS from the first byte); there is no
    /// clear-text mode. One type with the config's.
    public typealias Security = EmailNotifyConfig.Security

    /// The mail server: a host name or an IP address (IPv6 without brackets).
    public var server: String
    /// The server's TCP port (default: 587 with STARTTLS, 465 with smtps).
    public var port: Int
    /// STARTTLS (required) or implicit TLS.
    public var security: Security
    /// The sender address (`From` and the envelope sender).
    public var from: String
    /// One or more recipients.
    public var to: [String]
    /// SMTP AUTH login; nil = no AUTH.
    public var username: String?
    /// SMTP AUTH password (from a sealed secret, never from the config). `EmailChannel` keeps its own copy, wiped when
    /// the channel goes away.
    public var password: [UInt8]?
    /// PEM bundle to trust for the server's certificate instead of the system store (a private mail server's CA).
    public var caFile: String?
    /// Seconds allowed to connect (TCP and TLS).
    public var connectTimeout: Double
    /// Seconds allowed for the whole conversation with the server.
    public var totalTimeout: Double

    /// Settings with the usual defaults: STARTTLS, its port, no AUTH, the system's CA store, 10 s to connect,
    /// 60 s in all. Nothing is checked here: see `problems(field:)`.
    public init(server: String, port: Int? = nil, security: Security = .starttls, from: String, to: [String],
                username: String? = nil, password: [UInt8]? = nil, caFile: String? = nil,
                connectTimeout: Double = 10, totalTimeout: Double = 60) {
        self.server = server
        self.port = port ?? security.defaultPort
        self.security = security
        self.from = from
        self.to = to
        self.username = username
        self.password = password
        self.caFile = caFile
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
    }

    /// Every problem with the settings, each naming its field (under `field`, e.g. `notify.email.to[1]`) and value.
    /// Whether a username comes with a password is checked by `EmailChannel.init` (the password is a secret, read
    /// after the config).
    public func problems(field: String = "notify.email") -> [ConfigProblem] {
        var problems: [ConfigProblem] = []
        func add(_ name: String, _ value: String?, _ message: String) {
            problems.append(ConfigProblem(field: "\(field).\(name)", value: value.map { JSONValue.string($0).excerpt }, message: message))
        }
        if let problem = EmailAddress.serverProblem(with: server) { add("server", server, "the mail server name \(problem)") }
        if !(1...65_535).contains(port) { add("port", nil, "\(port) is not a port between 1 and 65535") }
        if let problem = EmailAddress.problem(with: from) { add("from", from, "the sender address \(problem)") }
        if to.isEmpty { add("to", nil, "needs at least one recipient address") }
        if to.count > 50 { add("to", nil, "has \(to.count) recipients; at most 50 are allowed") }
        for (index, address) in to.enumerated() {
            if let problem = EmailAddress.problem(with: address) { problems.append(ConfigProblem(
                field: "\(field).to[\(index)]", value: JSONValue.string(address).excerpt, message: "the recipient address \(problem)")) }
        }
        if let username {
            if username.isEmpty || username.utf8.count > 256 { add("username", username, "must be 1 to 256 characters") }
            if username.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                add("username", username, "contains a control character")
            }
        }
        if let password {
            if password.isEmpty || password.count > 1024 { add("password", nil, "the password must be 1 to 1024 bytes") }
            if password.contains(0) { add("password", nil, "the password contains a NUL byte, which SMTP AUTH cannot send") }
        }
        if let caFile, !caFile.hasPrefix("/") { add("caFile", caFile, "must be an absolute path") }
        if !(connectTimeout.isFinite && connectTimeout > 0 && connectTimeout <= 300) {
            add("connectTimeout", nil, "must be more than 0 and at most 300 seconds")
        }
        if !(totalTimeout.isFinite && totalTimeout > 0 && totalTimeout <= 600) {
            add("totalTimeout", nil, "must be more than 0 and at most 600 seconds")
        }
        return problems
    }
}

/// Settings an `EmailChannel` cannot be built from.
public struct EmailSettingsError: Error, Sendable, CustomStringConvertible {
    /// Every problem found, each naming its field.
    public let problems: [ConfigProblem]
    /// One problem per line.
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

/// Notifications by e-mail: one plain-text message per notification, handed to the configured SMTP server over
/// STARTTLS or implicit TLS (`CurlSMTPClient`), with AUTH when a username is set.
public struct EmailChannel: NotificationChannel {
    /// The settings, without the password.
    public let settings: EmailSettings
    private let password: KeyBytes?
    private let cancellation: CurlHTTPCancellation?
    private let now: @Sendable () -> Date

    /// - Parameters:
    ///   - settings: checked with `problems()`; a username needs a password and a password a username.
    ///   - cancellation: aborts a delivery in flight when cancelled (the daemon's stop token).
    ///   - now: the clock for the `Date` field.
    /// - Throws: `EmailSettingsError` listing every problem.
    public init(settings: EmailSettings, cancellation: CurlHTTPCancellation? = nil,
                now: @escaping @Sendable () -> Date = { Date() }) throws {
        var problems = settings.problems()
        if settings.username != nil && settings.password == nil {
            problems.append(ConfigProblem(field: "notify.email.username", value: nil, message: "a username needs a password secret"))
        }
        if settings.username == nil && settings.password != nil {
            problems.append(ConfigProblem(field: "notify.email.password", value: nil, message: "a password needs a username"))
        }
        guard problems.isEmpty else { throw EmailSettingsError(problems: problems) }
        var stored = settings
        stored.password = nil
        self.settings = stored
        self.password = settings.password.map(KeyBytes.init)
        self.cancellation = cancellation
        self.now = now
    }

    /// `email to a@example.com, b@example.com via smtp.example.com:587`.
    public var displayName: String {
        "email to \(settings.to.joined(separator: ", ")) via \(serverEndpoint)"
    }

    private var serverEndpoint: String {
        "\(settings.server.contains(":") ? "[\(settings.server)]" : settings.server):\(settings.port)"
    }

    /// Composes the message and hands it to the server.
    /// - Throws: `NotificationDeliveryError` saying in words why the server did not accept it.
    public func deliver(_ notification: AgentNotification) throws {
        let date = now()
        let bytes: [UInt8]
        do {
            bytes = try message(for: notification, date: date, messageID: EmailMessage.newMessageID(from: settings.from, date: date)).bytes()
        } catch {
            throw NotificationDeliveryError("the message could not be composed: \(error)")
        }
        let server = SMTPServer(
            security: settings.security == .smtps ? .smtps : .starttls, host: settings.server, port: settings.port,
            username: settings.username, password: password?.bytes, caFile: settings.caFile,
            connectTimeout: settings.connectTimeout, totalTimeout: settings.totalTimeout, cancellation: cancellation)
        do {
            try CurlSMTPClient.send(message: bytes, from: settings.from, recipients: settings.to, server: server)
        } catch let error as CurlSMTPError {
            throw NotificationDeliveryError(error.detail)
        } catch {
            throw NotificationDeliveryError("\(error)")
        }
    }

    /// The message for `notification`: its subject, its message, then the facts it carries.
    public func message(for notification: AgentNotification, date: Date, messageID: String) -> EmailMessage {
        var extra: [(name: String, value: String)] = [
            // RFC 3834: an automatic message; auto-responders must not answer it.
            ("Auto-Submitted", "auto-generated"),
            ("X-CertAgent-Event", notification.event.rawValue),
        ]
        if let name = notification.certificate, !name.isEmpty, name.utf8.count <= 200,
           name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) {
            extra.append(("X-CertAgent-Certificate", name))
        }
        return EmailMessage(from: settings.from, to: settings.to, subject: notification.subject,
                            body: Self.body(for: notification), date: date, messageID: messageID, extraFields: extra)
    }

    /// The message text, then one line per fact the notification carries.
    static func body(for notification: AgentNotification) -> String {
        var facts: [String] = []
        if let certificate = notification.certificate { facts.append("Certificate:   \(UntrustedText.display(certificate))") }
        if !notification.domains.isEmpty {
            facts.append("Names:         \(notification.domains.map { UntrustedText.display($0) }.joined(separator: ", "))")
        }
        if let error = notification.error { facts.append("Error:         \(UntrustedText.display(error, limit: 2048))") }
        if let since = notification.since { facts.append("Since:         \(TimeText.human(since))") }
        if let next = notification.nextAttempt { facts.append("Next attempt:  \(TimeText.human(next))") }
        if let notAfter = notification.notAfter { facts.append("Expires:       \(TimeText.human(notAfter))") }
        facts.append("Happened at:   \(TimeText.human(notification.occurredAt))")
        var text = notification.message
        while text.hasSuffix("\n") { text.removeLast() }
        return text + "\n\n" + facts.joined(separator: "\n") + "\n\n-- \nSent by CertAgent \(CertAgentVersion.current)\n"
    }
}
