import CertAgent
import CertCrypto
import Foundation
import TestSupport
import XCTest

/// Notifications through the binary: the daemon against Pebble tells a webhook once per state change, and
/// `certagent notify --test` says per channel whether its message was accepted.
final class NotifyTests: XCTestCase {
    private func startDaemon(_ testbed: Testbed, config: String, log: String) throws -> BackgroundProcess {
        try BackgroundProcess([ProjectPaths.certagentBinary, "run", "--config", config], outputPath: testbed.directory + "/" + log)
    }

    private func events(_ server: WebhookCaptureServer) -> [String] {
        server.requests.compactMap { $0.json?["event"] as? String }
    }

    /// The subjects of the mails the SMTP server accepted, in order.
    private func subjects(_ smtp: SMTPTestServer) -> [String] {
        ((try? smtp.messages()) ?? []).compactMap { message in
            String(decoding: message.data, as: UTF8.self).components(separatedBy: "\r\n")
                .first { $0.hasPrefix("Subject: ") }.map { String($0.dropFirst("Subject: ".count)) }
        }
    }

    func testAFailingDaemonToldOnceNothingOnRetriesOrRestartAndOnceWhenRecovered() throws {
        let testbed = try Testbed()
        let server = try WebhookCaptureServer()
        // A real SMTP server (aiosmtpd): STARTTLS required, AUTH checked, its own throwaway CA.
        let smtp = try SMTPTestServer(mode: .starttls, username: "mailer", password: "correct horse")
        defer { smtp.stop() }
        // The config's webroot is not the one nginx serves for live.test: every validation gets a 404.
        let webroot = testbed.directory + "/site-files"
        try FileManager.default.createDirectory(atPath: webroot, withIntermediateDirectories: true)
        let served = try testbed.webroot(for: "live.test")
        let storage = testbed.directory + "/store"
        let config = try testbed.writeConfig([["name": "live", "domains": ["live.test"], "webroot": webroot]], storage: storage,
                                             extra: ["minimumRenewalIntervalSeconds": 1,
                                                     "notify": ["webhook": ["url": server.url + "/hook"],
                                                                "email": ["server": "127.0.0.1", "port": smtp.port, "caFile": smtp.caFile,
                                                                          "from": "certagent@example.com", "to": ["admin@example.com"],
                                                                          "username": "mailer", "passwordSecret": "smtp-password"]]])
        let set = try runCommand(ProjectPaths.certagentBinary, ["secret", "set", "smtp-password", "--config", config], input: "correct horse\n")
        XCTAssertEqual(set.status, 0, set.output)

        var daemon = try startDaemon(testbed, config: config, log: "first.log")
        // The first attempt fails: one renewalFailed.
        XCTAssertTrue(eventually(timeout: 90) { self.events(server) == ["renewalFailed"] }, "\(events(server))\n\(daemon.output)")
        let first = try XCTUnwrap(server.requests.first?.json)
        XCTAssertEqual(first["schema"] as? String, "certagent.notification/v1")
        XCTAssertEqual(first["certificate"] as? String, "live")
        XCTAssertEqual(first["domains"] as? [String], ["live.test"])
        XCTAssertNotNil(first["nextAttempt"] as? String, "the next try is told")
        XCTAssertTrue((first["error"] as? String)?.isEmpty == false, "\(first)")
        XCTAssertTrue(daemon.output.contains("notifying: CertAgent: issuance of live failed"), daemon.output)
        XCTAssertTrue(daemon.output.contains("notification delivered"), daemon.output)
        // The same failure as one real mail, over STARTTLS with AUTH.
        XCTAssertTrue(eventually(timeout: 30) { self.subjects(smtp).count == 1 }, "\(subjects(smtp))\n\(smtp.log)\n\(daemon.output)")
        let mail = try XCTUnwrap(try smtp.messages().first)
        XCTAssertTrue(mail.usedTLS && mail.authenticated, "STARTTLS and AUTH: \(mail)")
        XCTAssertEqual(mail.recipients, ["admin@example.com"])
        let text = String(decoding: mail.data, as: UTF8.self)
        let headers = text.components(separatedBy: "\r\n\r\n")[0].components(separatedBy: "\r\n")
        XCTAssertTrue(headers.contains { $0.hasPrefix("Date: ") }, text)
        XCTAssertTrue(headers.contains { $0.hasPrefix("Message-ID: <") && $0.hasSuffix("@example.com>") }, text)
        XCTAssertTrue(headers.contains("To: admin@example.com"), text)
        XCTAssertEqual(subjects(smtp), ["CertAgent: issuance of live failed"], text)
        XCTAssertTrue(text.contains("live.test"), text)

        // The daemon retries after a minute (backoff) and fails again: nothing more is sent.
        XCTAssertTrue(eventually(timeout: 150) { daemon.output.contains("(attempt 2)") }, daemon.output)
        XCTAssertTrue(eventually(timeout: 10) { daemon.output.contains("next: live ") && daemon.output.components(separatedBy: "next: live ").count >= 3 }, daemon.output)
        usleep(3_000_000)   // a message the job queued would have arrived by now
        XCTAssertEqual(events(server), ["renewalFailed"], daemon.output)
        XCTAssertEqual(subjects(smtp).count, 1, "no mail on a retry")

        // A restart reads what was sent from the store: nothing is repeated.
        daemon.send(SIGTERM)
        XCTAssertEqual(daemon.waitForExit(timeout: 10), 0, daemon.output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: storage + "/certificates/live/notify.json"))
        daemon = try startDaemon(testbed, config: config, log: "second.log")
        XCTAssertTrue(eventually(timeout: 60) { daemon.output.contains("NOTICE started") }, daemon.output)
        usleep(3_000_000)   // the start's look at every certificate comes right after that line
        XCTAssertEqual(events(server), ["renewalFailed"], daemon.output)
        XCTAssertFalse(daemon.output.contains("notifying:"), daemon.output)

        // Fixed: nginx now serves the config's webroot. The admin issues at once; the daemon hears of it and tells
        // "recovered", once.
        try FileManager.default.removeItem(atPath: served)
        try FileManager.default.createSymbolicLink(atPath: served, withDestinationPath: webroot)
        let issued = try runCommand(ProjectPaths.certagentBinary, ["issue", "--config", config])
        XCTAssertEqual(issued.status, 0, issued.output)
        XCTAssertTrue(eventually(timeout: 60) { self.events(server) == ["renewalFailed", "recovered"] }, "\(events(server))\n\(daemon.output)")
        let recovered = try XCTUnwrap(server.requests.last?.json)
        XCTAssertNotNil(recovered["notAfter"] as? String)
        XCTAssertTrue(daemon.output.contains("notifying: CertAgent: live renewed again after failures"), daemon.output)
        // The mail goes out beside the webhook (STARTTLS takes longer): a stop would cancel it while in flight.
        XCTAssertTrue(eventually(timeout: 30) { self.subjects(smtp).count == 2 }, "\(subjects(smtp))\n\(smtp.log)\n\(daemon.output)")
        daemon.send(SIGTERM)
        XCTAssertEqual(daemon.waitForExit(timeout: 10), 0, daemon.output)
        XCTAssertEqual(events(server), ["renewalFailed", "recovered"], "exactly one of each")
        XCTAssertEqual(subjects(smtp), ["CertAgent: issuance of live failed", "CertAgent: live renewed again after failures"],
                       "exactly one mail of each, none repeated by the restart")
    }

    func testACertificateAtRiskIsToldOnceByTheDaemonOnTheRealClock() throws {
        // Pebble issues 120-second certificates; with atRiskShare 0.9 (no floor) a certificate is at risk 12 s after it
        // was issued, long before its renewal point (half its lifetime left): the daemon must say so, once.
        let testbed = try Testbed(options: ["--validity", "120"])
        let server = try WebhookCaptureServer()
        let webroot = try testbed.webroot(for: "risk.test")
        let config = try testbed.writeConfig([["name": "risk", "domains": ["risk.test"], "webroot": webroot]],
                                             storage: testbed.directory + "/store",
                                             extra: ["notify": ["webhook": ["url": server.url + "/hook"], "atRiskShare": 0.9, "atRiskFloorDays": 0]])
        let issued = try runCommand(ProjectPaths.certagentBinary, ["issue", "--config", config])
        XCTAssertEqual(issued.status, 0, issued.output)
        let current = testbed.directory + "/store/certificates/risk/current/cert.pem"
        let notAfter = try XCTUnwrap(Certificate.parseChain(pem: String(contentsOfFile: current, encoding: .utf8)).first?.notAfter)
        let notBefore = notAfter.addingTimeInterval(-120)
        let atRiskFrom = notBefore.addingTimeInterval(12)
        if atRiskFrom > Date() { usleep(useconds_t((atRiskFrom.timeIntervalSinceNow + 1) * 1_000_000)) }

        let daemon = try startDaemon(testbed, config: config, log: "daemon.log")
        XCTAssertTrue(eventually(timeout: 30) { self.events(server) == ["atRisk"] }, "\(events(server))\n\(daemon.output)")
        let told = try XCTUnwrap(server.requests.first?.json)
        XCTAssertEqual(told["certificate"] as? String, "risk")
        XCTAssertNotNil(told["notAfter"] as? String)
        // A command's nudge makes the daemon look again: nothing is repeated for the same certificate.
        daemon.send(SIGUSR1)
        XCTAssertTrue(eventually(timeout: 30) { daemon.output.contains("looking at them again") }, daemon.output)
        usleep(2_000_000)
        XCTAssertEqual(events(server), ["atRisk"], daemon.output)
        daemon.send(SIGTERM)
        XCTAssertEqual(daemon.waitForExit(timeout: 10), 0, daemon.output)
    }

    func testAWebhookThatNeverAnswersDelaysNeitherTheJobNorTheStop() throws {
        let testbed = try Testbed()
        let server = try WebhookCaptureServer(delay: 600)
        let webroot = testbed.directory + "/site-files"
        try FileManager.default.createDirectory(atPath: webroot, withIntermediateDirectories: true)
        let config = try testbed.writeConfig([["name": "slow", "domains": ["slow.test"], "webroot": webroot]],
                                             storage: testbed.directory + "/store",
                                             extra: ["notify": ["webhook": ["url": server.url + "/hook", "timeoutSeconds": 120]]])
        let daemon = try startDaemon(testbed, config: config, log: "daemon.log")
        XCTAssertTrue(eventually(timeout: 90) { server.requests.count == 1 }, daemon.output)
        // The POST hangs, yet the job has ended (its last line says what comes next).
        XCTAssertTrue(eventually(timeout: 30) { daemon.output.contains("next: slow retries at ") }, daemon.output)
        XCTAssertFalse(daemon.output.contains("notification delivered"), daemon.output)
        let stopping = Date()
        daemon.send(SIGTERM)
        XCTAssertEqual(daemon.waitForExit(timeout: 30), 0, daemon.output)
        XCTAssertLessThan(Date().timeIntervalSince(stopping), 10, "the stop does not wait for the webhook's 120 s timeout:\n\(daemon.output)")
    }

    func testNotifyTestSaysPerChannelWhetherItWasAccepted() throws {
        let temp = try TemporaryDirectory()
        let webroot = try temp.make("site/public_html")
        let good = try WebhookCaptureServer()
        let bad = try WebhookCaptureServer(status: 401, body: "bad token")
        func write(_ notify: [String: Any]?, certificateNotify: Any? = nil) throws -> String {
            var certificate: [String: Any] = ["name": "a", "domains": ["a.test"], "webroot": webroot]
            if let certificateNotify { certificate["notify"] = certificateNotify }
            var config: [String: Any] = ["storage": temp.path + "/store", "certificates": [certificate]]
            if let notify { config["notify"] = notify }
            let path = temp.path + "/config-\(UUID().uuidString.prefix(6)).json"
            try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: path))
            return path
        }

        let accepted = try runCommand(ProjectPaths.certagentBinary, ["notify", "--test", "--config",
                                                                     try write(["webhook": ["url": good.url + "/hook", "format": "slack"]])])
        XCTAssertEqual(accepted.status, 0, accepted.output)
        XCTAssertEqual(accepted.stdout, "webhook http://127.0.0.1:\(good.port)/… (slack): accepted\n")
        let text = try XCTUnwrap(good.waitForRequests(1).first?.json?["text"] as? String)
        XCTAssertTrue(text.contains("test notification"), text)

        // Two channels (the top-level webhook, and a certificate's own): one refused, so exit 1, each said.
        let mixed = try runCommand(ProjectPaths.certagentBinary, ["notify", "--test", "--config",
                                                                  try write(["webhook": ["url": good.url + "/"]],
                                                                            certificateNotify: ["webhook": ["url": bad.url + "/x"]])])
        XCTAssertEqual(mixed.status, 1, mixed.output)
        XCTAssertTrue(mixed.stdout.contains("webhook http://127.0.0.1:\(good.port)/: accepted"), mixed.stdout)
        XCTAssertTrue(mixed.stdout.contains("webhook http://127.0.0.1:\(bad.port)/…: the webhook answered HTTP 401: bad token"), mixed.stdout)

        let none = try runCommand(ProjectPaths.certagentBinary, ["notify", "--test", "--config", try write(nil)])
        XCTAssertEqual(none.status, 2, none.output)
        XCTAssertTrue(none.stderr.contains("no notify block"), none.stderr)
    }

    func testCheckReportsASecretANotifyChannelNeedsThatIsNotSet() throws {
        let temp = try TemporaryDirectory()
        let webroot = try temp.make("site/public_html")
        let config: [String: Any] = [
            "storage": temp.path + "/store", "masterKeyFile": temp.path + "/master.key",
            "certificates": [["name": "a", "domains": ["a.test"], "webroot": webroot]],
            "notify": ["webhook": ["url": "https://ntfy.example.net/alerts", "format": "ntfy",
                                   "headers": ["Authorization": ["secret": "ntfy-token", "prefix": "Bearer "]]]],
        ]
        let path = temp.path + "/config.json"
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: path))
        let checked = try runCommand(ProjectPaths.certagentBinary, ["check", "--config", path])
        XCTAssertEqual(checked.status, 2, checked.output)
        XCTAssertTrue(checked.stderr.contains("the config uses the secret ntfy-token"), checked.stderr)

        // Set, the config checks out and names the channel (without its path, which may hold a token).
        let set = try runCommand(ProjectPaths.certagentBinary, ["secret", "set", "ntfy-token", "--config", path], input: "tk_123\n")
        XCTAssertEqual(set.status, 0, set.output)
        let ok = try runCommand(ProjectPaths.certagentBinary, ["check", "--config", path])
        XCTAssertEqual(ok.status, 0, ok.output)
        XCTAssertTrue(ok.stdout.contains("  notify       webhook https://ntfy.example.net/… (ntfy) (certagent notify --test sends a test)"), ok.stdout)
        XCTAssertFalse(ok.output.contains("tk_123"))
    }
}
