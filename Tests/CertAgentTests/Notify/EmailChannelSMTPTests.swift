import CertAgent
import Foundation
import TestSupport
import XCTest

/// `EmailChannel` delivering to a real SMTP server (aiosmtpd: STARTTLS required, AUTH, its own CA); the received
/// message is checked header by header, by this test and by Python's `email` package.
final class EmailChannelSMTPTests: XCTestCase {
    private let username = "certagent-mailer"
    private let password = "s3cret pässword"
    private let now = Date(timeIntervalSince1970: 1_796_142_552)

    private func channel(_ smtp: SMTPTestServer, security: EmailSettings.Security = .starttls, password: String? = nil) throws -> EmailChannel {
        try EmailChannel(settings: EmailSettings(server: "127.0.0.1", port: smtp.port, security: security,
                                                 from: "certagent@agent.example.com", to: ["admin@example.com", "ops@example.org"],
                                                 username: username, password: Array((password ?? self.password).utf8),
                                                 caFile: smtp.caFile, connectTimeout: 10, totalTimeout: 30),
                         now: { [now] in now })
    }

    private func notification() -> AgentNotification {
        AgentNotification(
            event: .atRisk, certificate: "bäckerei", domains: ["bäckerei.example", "www.xn--bckerei-9wa.example"],
            subject: "CertAgent: Zertifikat bäckerei läuft in 3 Tagen ab",
            message: "The certificate bäckerei expires soon and was not renewed.\n.\n.a line with a leading dot\nRun: certagent renew bäckerei\n",
            error: "connection refused", notAfter: now.addingTimeInterval(3 * 86_400), since: now.addingTimeInterval(-86_400),
            nextAttempt: now.addingTimeInterval(600), occurredAt: now)
    }

    func testNotificationArrivesAsAWellFormedMessage() throws {
        let smtp = try SMTPTestServer(mode: .starttls, username: username, password: password)
        let channel = try channel(smtp)
        XCTAssertEqual(channel.displayName, "email to admin@example.com, ops@example.org via 127.0.0.1:\(smtp.port)")
        try channel.deliver(notification())

        let received = try smtp.messages()
        XCTAssertEqual(received.count, 1)
        let mail = try XCTUnwrap(received.first)
        XCTAssertEqual(mail.from, "certagent@agent.example.com")
        XCTAssertEqual(mail.recipients, ["admin@example.com", "ops@example.org"])
        XCTAssertTrue(mail.usedTLS)
        XCTAssertTrue(mail.authenticated)
        XCTAssertEqual(smtp.authAttempts().count, 1)

        // Header by header, as received.
        let parsed = try ParsedEmail(mail.data)
        XCTAssertEqual(parsed.value("From"), "CertAgent <certagent@agent.example.com>")
        XCTAssertEqual(parsed.value("To"), "admin@example.com, ops@example.org")
        XCTAssertEqual(parsed.decodedSubject, "CertAgent: Zertifikat bäckerei läuft in 3 Tagen ab")
        XCTAssertTrue(parsed.value("Subject")?.hasPrefix("=?UTF-8?B?") ?? false)
        XCTAssertEqual(parsed.date, now)
        let messageID = try XCTUnwrap(parsed.value("Message-ID"))
        XCTAssertNotNil(messageID.wholeMatch(of: /<[0-9]+\.[0-9a-f]{32}@agent\.example\.com>/), messageID)
        XCTAssertEqual(parsed.value("MIME-Version"), "1.0")
        XCTAssertEqual(parsed.value("Content-Type"), "text/plain; charset=utf-8")
        XCTAssertEqual(parsed.value("Content-Transfer-Encoding"), "quoted-printable")
        XCTAssertEqual(parsed.value("Auto-Submitted"), "auto-generated")
        let body = try XCTUnwrap(parsed.decodedBody)
        XCTAssertTrue(body.hasPrefix(notification().message + "\n"), body)
        XCTAssertTrue(body.contains("Names:         bäckerei.example, www.xn--bckerei-9wa.example\n"), body)
        XCTAssertTrue(body.contains("Expires:       2026-12-04 16:29 UTC\n"), body)
        XCTAssertTrue(body.contains("Next attempt:  2026-12-01 16:39 UTC\n"), body)
        XCTAssertTrue(body.contains("Since:         2026-11-30 16:29 UTC\n"), body)
        XCTAssertTrue(body.contains("Error:         connection refused\n"), body)
        // Every line CRLF-terminated and short.
        let text = String(decoding: mail.data, as: UTF8.self)
        XCTAssertFalse(text.replacing("\r\n", with: "").contains { $0 == "\r" || $0 == "\n" })
        for line in text.components(separatedBy: "\r\n") { XCTAssertLessThanOrEqual(line.utf8.count, 76, line) }

        // An independent reader: Python's email package with the modern policy.
        let script = """
        import email, email.policy, email.utils, json, sys
        m = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=email.policy.default)
        print(json.dumps({"subject": str(m["subject"]), "from": m["from"].addresses[0].addr_spec,
            "to": [a.addr_spec for a in m["to"].addresses], "date": email.utils.parsedate_to_datetime(m["date"]).timestamp(),
            "id": m["message-id"], "type": m.get_content_type(), "charset": m.get_content_charset(),
            "body": m.get_content(), "defects": len(m.defects)}))
        """
        let result = try Subprocess.run(["/usr/bin/python3", "-c", script, "\(smtp.messagesDirectory)/1.eml"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let fields = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(fields["subject"] as? String, "CertAgent: Zertifikat bäckerei läuft in 3 Tagen ab")
        XCTAssertEqual(fields["from"] as? String, "certagent@agent.example.com")
        XCTAssertEqual(fields["to"] as? [String], ["admin@example.com", "ops@example.org"])
        XCTAssertEqual(fields["date"] as? Double, now.timeIntervalSince1970)
        XCTAssertEqual(fields["id"] as? String, messageID)
        XCTAssertEqual(fields["type"] as? String, "text/plain")
        XCTAssertEqual(fields["charset"] as? String, "utf-8")
        XCTAssertEqual(fields["defects"] as? Int, 0)
        // Python keeps the CRLF line endings of the bytes it was given.
        XCTAssertEqual((fields["body"] as? String)?.replacing("\r\n", with: "\n"), body)
    }

    func testImplicitTLSDelivers() throws {
        let smtp = try SMTPTestServer(mode: .smtps, username: username, password: password)
        try channel(smtp, security: .smtps).deliver(notification())
        let received = try smtp.messages()
        XCTAssertEqual(received.count, 1)
        XCTAssertEqual(received.first?.usedTLS, true)
        XCTAssertEqual(received.first?.authenticated, true)
    }

    func testWrongPasswordIsADeliveryErrorInWords() throws {
        let smtp = try SMTPTestServer(mode: .starttls, username: username, password: password)
        let channel = try channel(smtp, password: "wrong-password-123")
        XCTAssertThrowsError(try channel.deliver(notification())) { error in
            guard let error = error as? NotificationDeliveryError else { return XCTFail("\(error)") }
            XCTAssertTrue(error.description.hasPrefix("the server refused the username or password"), error.description)
            XCTAssertFalse(error.description.contains("wrong-password-123"), error.description)
        }
        XCTAssertEqual(try smtp.messages().count, 0)
    }

    func testServerWithoutSTARTTLSNeverSeesThePassword() throws {
        let smtp = try SMTPTestServer(mode: .plain, username: username, password: password)
        XCTAssertThrowsError(try channel(smtp).deliver(notification())) { error in
            XCTAssertEqual((error as? NotificationDeliveryError)?.description,
                           "the server does not offer STARTTLS; refusing to send the password in clear")
        }
        XCTAssertEqual(smtp.authAttempts(), [])
        XCTAssertEqual(try smtp.messages().count, 0)
    }
}
