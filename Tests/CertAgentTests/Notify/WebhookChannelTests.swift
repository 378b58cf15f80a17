@testable import CertAgent
import Foundation
import TestSupport
import XCTest

/// The webhook channel against a real HTTP server on loopback that records what it receives.
final class WebhookChannelTests: XCTestCase {
    private let occurred = Date(timeIntervalSince1970: 1_767_225_600)   // 2026-01-01T00:00:00Z

    private var sample: AgentNotification {
        AgentNotification(event: .renewalFailed, certificate: "example", domains: ["example.com", "www.example.com"],
                          subject: "CertAgent: renewal of example failed", message: "The renewal of example failed.\nError: 404",
                          error: "404 for the challenge", notAfter: occurred.addingTimeInterval(30 * 86_400), since: occurred,
                          nextAttempt: occurred.addingTimeInterval(60), occurredAt: occurred.addingTimeInterval(5))
    }

    /// A sealed secrets file holding `values`.
    private func secrets(_ values: [String: String]) throws -> (SecretsFile, TemporaryDirectory) {
        let temp = try TemporaryDirectory()
        let file = try SecretsFile.open(path: temp.path + "/secrets.sealed", masterKey: try SecretsFixtures.key(1))
        for (name, value) in values { try file.set(name: name, value: Array(value.utf8)) }
        return (file, temp)
    }

    func testJSONBodyFollowsTheDocumentedSchemaWithABearerTokenFromASealedSecret() throws {
        let server = try WebhookCaptureServer()
        let (file, temp) = try secrets(["hook-token": "s3cr3t-token"])
        defer { withExtendedLifetime(temp) {} }
        let config = WebhookConfig(url: server.url + "/hook", headers: [
            .init(name: "Authorization", value: .secret(name: "hook-token", prefix: "Bearer ")),
            .init(name: "X-Team", value: .plain("ops")),
        ])
        let channel = try WebhookChannel(config: config, secretValue: { try file.value(named: $0) })
        XCTAssertEqual(channel.displayName, "webhook http://127.0.0.1:\(server.port)/…", "the path may hold a token: not shown")
        try channel.deliver(sample)

        let request = try XCTUnwrap(server.waitForRequests(1).first)
        XCTAssertEqual(request.method, "POST")
        XCTAssertEqual(request.path, "/hook")
        XCTAssertEqual(request.headers["authorization"], "Bearer s3cr3t-token")
        XCTAssertEqual(request.headers["x-team"], "ops")
        XCTAssertEqual(request.headers["content-type"], "application/json")
        XCTAssertTrue(request.headers["user-agent"]?.hasPrefix("CertAgent/") ?? false)
        let json = try XCTUnwrap(request.json)
        XCTAssertEqual(Set(json.keys), ["schema", "event", "certificate", "domains", "subject", "message", "error", "notAfter",
                                        "since", "nextAttempt", "occurredAt"])
        XCTAssertEqual(json["schema"] as? String, "certagent.notification/v1")
        XCTAssertEqual(json["event"] as? String, "renewalFailed")
        XCTAssertEqual(json["certificate"] as? String, "example")
        XCTAssertEqual(json["domains"] as? [String], ["example.com", "www.example.com"])
        XCTAssertEqual(json["subject"] as? String, "CertAgent: renewal of example failed")
        XCTAssertEqual(json["message"] as? String, "The renewal of example failed.\nError: 404")
        XCTAssertEqual(json["error"] as? String, "404 for the challenge")
        XCTAssertEqual(json["notAfter"] as? String, "2026-01-31T00:00:00Z")
        XCTAssertEqual(json["since"] as? String, "2026-01-01T00:00:00Z")
        XCTAssertEqual(json["nextAttempt"] as? String, "2026-01-01T00:01:00Z")
        XCTAssertEqual(json["occurredAt"] as? String, "2026-01-01T00:00:05Z")
    }

    func testAbsentFactsAreNullInJSON() throws {
        let server = try WebhookCaptureServer()
        let channel = try WebhookChannel(config: WebhookConfig(url: server.url + "/"), secretValue: { _ in [] })
        try channel.deliver(NotificationService.testNotification(now: occurred))
        let json = try XCTUnwrap(server.waitForRequests(1).first?.json)
        XCTAssertEqual(json["event"] as? String, "test")
        for key in ["certificate", "error", "notAfter", "since", "nextAttempt"] {
            XCTAssertTrue(json[key] is NSNull, "\(key) is null")
        }
        XCTAssertEqual(json["domains"] as? [String], [])
    }

    func testSlackBodyIsOneTextField() throws {
        let server = try WebhookCaptureServer()
        let channel = try WebhookChannel(config: WebhookConfig(url: server.url + "/services/T0/B0/x", format: .slack), secretValue: { _ in [] })
        XCTAssertEqual(channel.displayName, "webhook http://127.0.0.1:\(server.port)/… (slack)")
        try channel.deliver(sample)
        let request = try XCTUnwrap(server.waitForRequests(1).first)
        XCTAssertEqual(request.headers["content-type"], "application/json")
        let json = try XCTUnwrap(request.json)
        XCTAssertEqual(Array(json.keys), ["text"])
        XCTAssertEqual(json["text"] as? String, "*CertAgent: renewal of example failed*\nThe renewal of example failed.\nError: 404")
    }

    func testNtfyBodyIsPlainTextWithTitleTagsAndPriority() throws {
        let server = try WebhookCaptureServer()
        let channel = try WebhookChannel(config: WebhookConfig(url: server.url + "/certagent-alerts", format: .ntfy), secretValue: { _ in [] })
        try channel.deliver(sample)
        var recovered = sample
        recovered.event = .recovered
        recovered.subject = "CertAgent: example renewed again after failures — ok"
        try channel.deliver(recovered)
        let requests = server.waitForRequests(2)
        XCTAssertEqual(requests.count, 2)
        XCTAssertEqual(requests[0].bodyText, "The renewal of example failed.\nError: 404")
        XCTAssertEqual(requests[0].headers["title"], "CertAgent: renewal of example failed")
        XCTAssertEqual(requests[0].headers["tags"], "warning,lock")
        XCTAssertEqual(requests[0].headers["priority"], "high")
        XCTAssertEqual(requests[0].headers["content-type"], "text/plain; charset=utf-8")
        XCTAssertEqual(requests[1].headers["title"], "CertAgent: example renewed again after failures ? ok", "headers stay ASCII")
        XCTAssertEqual(requests[1].headers["priority"], "default")
        XCTAssertEqual(requests[1].headers["tags"], "white_check_mark")
    }

    func testANon2xxAnswerIsAnErrorInWordsWithAnEscapedExcerpt() throws {
        let server = try WebhookCaptureServer(status: 503, body: "down for maintenance \u{1B}[31mred")
        let channel = try WebhookChannel(config: WebhookConfig(url: server.url + "/hook"), secretValue: { _ in [] })
        XCTAssertThrowsError(try channel.deliver(sample)) { error in
            let text = "\(error)"
            XCTAssertTrue(error is NotificationDeliveryError)
            XCTAssertTrue(text.hasPrefix("the webhook answered HTTP 503: down for maintenance"), text)
            XCTAssertFalse(text.contains("\u{1B}"), "control characters are escaped: \(text.debugDescription)")
        }
        XCTAssertEqual(server.waitForRequests(1).count, 1)
    }

    func testAnUnreachableWebhookIsAnErrorInWords() throws {
        let server = try WebhookCaptureServer()
        let port = server.port
        server.stop()
        let channel = try WebhookChannel(config: WebhookConfig(url: "http://127.0.0.1:\(port)/hook?token=abc", timeoutSeconds: 5), secretValue: { _ in [] })
        XCTAssertThrowsError(try channel.deliver(sample)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("POST to http://127.0.0.1:\(port)/… failed"), text)
            XCTAssertFalse(text.contains("token=abc"), "the query may hold a token: \(text)")
        }
    }

    func testAMissingSecretMakesAnUnavailableChannelThatSaysSo() throws {
        let (file, temp) = try secrets([:])
        defer { withExtendedLifetime(temp) {} }
        var settings = NotifyConfig(webhook: WebhookConfig(url: "https://hooks.example.net/x", headers: [
            .init(name: "Authorization", value: .secret(name: "hook-token", prefix: "Bearer ")),
        ]))
        settings.email = EmailNotifyConfig(server: "smtp.example.net", from: "certagent@example.net", to: ["admin@example.net"])
        let channels = NotificationChannels.make(settings, secrets: file)
        XCTAssertEqual(channels.count, 2)
        XCTAssertEqual(channels[0].displayName, "email to admin@example.net via smtp.example.net:587")
        XCTAssertEqual(channels[1].displayName, "webhook https://hooks.example.net/…")
        XCTAssertThrowsError(try channels[1].deliver(sample)) { error in
            XCTAssertTrue("\(error)".contains("hook-token"), "\(error)")
        }
    }
}
