import CertAgent
import Foundation
import XCTest

/// The e-mail channel's settings checks, its name, and the message it builds from a notification.
final class EmailChannelTests: XCTestCase {
    private let now = Date(timeIntervalSince1970: 1_796_142_552)

    private func notification() -> AgentNotification {
        AgentNotification(
            event: .renewalFailed, certificate: "shop", domains: ["shop.example.com", "www.shop.example.com"],
            subject: "CertAgent: renewal of shop failed",
            message: "The certificate shop could not be renewed.\nRun: certagent renew shop\n",
            error: "urn:ietf:params:acme:error:unauthorized: 404 for http://shop.example.com/.well-known/acme-challenge/x",
            notAfter: now.addingTimeInterval(10 * 86_400), since: now.addingTimeInterval(-3_600),
            nextAttempt: now.addingTimeInterval(6_000), occurredAt: now)
    }

    func testDisplayNameNamesRecipientsAndServer() throws {
        let channel = try EmailChannel(settings: EmailSettings(server: "smtp.example.com", from: "certagent@example.com",
                                                               to: ["a@example.com", "b@example.org"]))
        XCTAssertEqual(channel.displayName, "email to a@example.com, b@example.org via smtp.example.com:587")
        let v6 = try EmailChannel(settings: EmailSettings(server: "::1", security: .smtps, from: "c@example.com", to: ["a@example.com"]))
        XCTAssertEqual(v6.displayName, "email to a@example.com via [::1]:465")
    }

    func testMessageCarriesTheSubjectTheTextAndEveryFact() throws {
        let channel = try EmailChannel(settings: EmailSettings(server: "smtp.example.com", from: "certagent@example.com",
                                                               to: ["admin@example.com"]), now: { [now] in now })
        let parsed = try ParsedEmail(channel.message(for: notification(), date: now, messageID: "<x@example.com>").bytes())
        XCTAssertEqual(parsed.value("Subject"), "CertAgent: renewal of shop failed")
        XCTAssertEqual(parsed.value("X-CertAgent-Event"), "renewalFailed")
        XCTAssertEqual(parsed.value("X-CertAgent-Certificate"), "shop")
        let body = try XCTUnwrap(parsed.decodedBody)
        XCTAssertTrue(body.hasPrefix("The certificate shop could not be renewed.\nRun: certagent renew shop\n\n"), body)
        for fact in ["Certificate:   shop", "Names:         shop.example.com, www.shop.example.com",
                     "Error:         urn:ietf:params:acme:error:unauthorized: 404 for http://shop.example.com/.well-known/acme-challenge/x",
                     "Since:         2026-12-01 15:29 UTC", "Next attempt:  2026-12-01 18:09 UTC",
                     "Expires:       2026-12-11 16:29 UTC", "Happened at:   2026-12-01 16:29 UTC"] {
            XCTAssertTrue(body.contains(fact + "\n"), "missing \(fact) in\n\(body)")
        }
    }

    func testSettingsProblemsNameTheFieldAndValue() {
        let settings = EmailSettings(server: "smtp://mail.example.com", port: 70_000, from: "Admin <a@example.com>",
                                     to: ["ok@example.com", "bad\r\n@example.com"], username: "", caFile: "relative/ca.pem")
        let problems = settings.problems()
        let fields = Set(problems.map(\.field))
        XCTAssertEqual(fields, ["notify.email.server", "notify.email.port", "notify.email.from", "notify.email.to[1]",
                                "notify.email.username", "notify.email.caFile"])
        let to = problems.first { $0.field == "notify.email.to[1]" }
        XCTAssertEqual(to?.value, "\"bad\\r\\n@example.com\"")
        XCTAssertTrue(to?.message.contains("control character") ?? false, "\(String(describing: to))")
        XCTAssertTrue(problems.allSatisfy { !$0.description.contains("\r") && !$0.description.contains("\n") })
        XCTAssertTrue(EmailSettings(server: "mail.example.com", from: "a@example.com", to: []).problems()
            .contains { $0.field == "notify.email.to" })
    }

    func testUsernameAndPasswordComeTogether() {
        XCTAssertThrowsError(try EmailChannel(settings: EmailSettings(server: "mail.example.com", from: "a@example.com",
                                                                      to: ["b@example.com"], username: "user"))) { error in
            XCTAssertTrue("\(error)".contains("notify.email.username: a username needs a password secret"), "\(error)")
        }
        XCTAssertThrowsError(try EmailChannel(settings: EmailSettings(server: "mail.example.com", from: "a@example.com",
                                                                      to: ["b@example.com"], password: Array("pw".utf8))))
        XCTAssertNoThrow(try EmailChannel(settings: EmailSettings(server: "mail.example.com", from: "a@example.com",
                                                                  to: ["b@example.com"], username: "user", password: Array("pw".utf8))))
    }
}
