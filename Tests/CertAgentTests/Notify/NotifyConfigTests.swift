import CertAgent
import Foundation
import TestSupport
import XCTest

/// `notify` (top level and per certificate): every value validated with its field, secrets by name only.
final class NotifyConfigTests: XCTestCase {
    var temp: TemporaryDirectory!
    var webroot: String!

    override func setUpWithError() throws {
        temp = try TemporaryDirectory()
        webroot = try temp.make("home/site/public_html")
    }

    private func config(notify: String, certificateNotify: String? = nil) -> String {
        let own = certificateNotify.map { #", "notify": \#($0)"# } ?? ""
        return #"{"notify": \#(notify), "certificates": [{"name": "a", "domains": ["a.example"], "webroot": "\#(webroot!)"\#(own)}, {"name": "b", "domains": ["b.example"], "webroot": "\#(webroot!)"}]}"#
    }

    private func load(_ json: String) throws -> AgentConfig {
        try ConfigLoader.parse(Data(json.utf8), path: "/etc/certagent/config.json")
    }

    private func problems(_ json: String, file: StaticString = #filePath, line: UInt = #line) -> [String] {
        refusedConfig(file: file, line: line) { try load(json) }?.problems.map(\.description) ?? []
    }

    func testACompleteBlockWithDefaults() throws {
        let loaded = try load(config(notify: #"""
            {"email": {"server": "smtp.example.com", "from": "certagent@example.com", "to": "admin@example.com",
                       "username": "certagent", "passwordSecret": "smtp-password"},
             "webhook": {"url": "https://hooks.example.com/T0/B0", "headers": {"Authorization": {"secret": "hook", "prefix": "Bearer "}, "X-Team": "ops"}}}
            """#))
        let notify = try XCTUnwrap(loaded.notify)
        XCTAssertEqual(notify.email, EmailNotifyConfig(server: "smtp.example.com", port: 587, security: .starttls, from: "certagent@example.com",
                                                       to: ["admin@example.com"], username: "certagent", passwordSecret: "smtp-password"))
        XCTAssertEqual(notify.webhook?.format, .json)
        XCTAssertEqual(notify.webhook?.timeoutSeconds, 10)
        XCTAssertEqual(notify.webhook?.headers, [.init(name: "Authorization", value: .secret(name: "hook", prefix: "Bearer ")),
                                                 .init(name: "X-Team", value: .plain("ops"))])
        XCTAssertEqual(notify.atRiskShare, 1.0 / 6)
        XCTAssertEqual(notify.atRiskFloorDays, 2)
        XCTAssertEqual(loaded.referencedSecrets, ["smtp-password", "hook"])
        XCTAssertEqual(loaded.notifySettings(for: loaded.certificates[1]), notify)
    }

    func testSMTPSDefaultsToPort465AndLoopbackHTTPIsAllowed() throws {
        let loaded = try load(config(notify: #"""
            {"email": {"server": "127.0.0.1", "security": "smtps", "from": "a@example.com", "to": ["b@example.com", "c@example.com"]},
             "webhook": {"url": "http://127.0.0.1:8080/hook", "format": "slack", "timeoutSeconds": 3},
             "atRiskShare": 0.25, "atRiskFloorDays": 5}
            """#))
        XCTAssertEqual(loaded.notify?.email?.port, 465)
        XCTAssertEqual(loaded.notify?.email?.to, ["b@example.com", "c@example.com"])
        XCTAssertEqual(loaded.notify?.webhook?.timeoutSeconds, 3)
        XCTAssertEqual(loaded.notify?.atRiskShare, 0.25)
        XCTAssertEqual(loaded.notify?.atRiskFloorDays, 5)
        for url in ["http://localhost/x", "http://[::1]:9/x", "http://127.1.2.3/x"] {
            XCTAssertNoThrow(try load(config(notify: #"{"webhook": {"url": "\#(url)"}}"#)), url)
        }
    }

    func testACertificateReplacesTheBlockOrTurnsItOff() throws {
        let replaced = try load(config(notify: #"{"webhook": {"url": "https://a.example.net/"}}"#,
                                       certificateNotify: #"{"webhook": {"url": "https://b.example.net/", "format": "ntfy"}}"#))
        XCTAssertEqual(replaced.notifySettings(for: replaced.certificates[0])?.webhook?.url, "https://b.example.net/")
        XCTAssertEqual(replaced.notifySettings(for: replaced.certificates[1])?.webhook?.url, "https://a.example.net/")
        XCTAssertEqual(replaced.allNotifySettings.count, 2)
        let off = try load(config(notify: #"{"webhook": {"url": "https://a.example.net/"}}"#, certificateNotify: "false"))
        XCTAssertNil(off.notifySettings(for: off.certificates[0]))
        XCTAssertNotNil(off.notifySettings(for: off.certificates[1]))
    }

    func testBadValuesAreReportedWithFieldAndValue() {
        let found = problems(config(notify: #"""
            {"email": {"server": "smtp.example.com:587", "security": "plain", "port": 70000, "from": "nobody", "to": [],
                       "username": "u"},
             "webhook": {"url": "http://hooks.example.com/x", "format": "xml", "timeoutSeconds": 0,
                         "headers": {"Content-Type": "text/plain", "Bad Name": "x", "Authorization": {"secret": "no spaces allowed"}}},
             "atRiskShare": 2, "colour": "red"}
            """#, certificateNotify: "true"))
        let expected = [
            #"notify.email.server = "smtp.example.com:587""#,
            #"notify.email.security = "plain": must be starttls"#,
            "notify.email.port = 70000: must be a whole number from 1 to 65535",
            #"notify.email.from = "nobody""#,
            "notify.email.to = []: is empty",
            "notify.email.passwordSecret: is required with username",
            #"notify.webhook.url = "http://hooks.example.com/x": must be https://"#,
            #"notify.webhook.format = "xml": must be one of: json, slack, ntfy"#,
            "notify.webhook.timeoutSeconds = 0: must be a number from 1 to 120",
            #"notify.webhook.headers["Content-Type"]: is set by CertAgent itself"#,
            #"notify.webhook.headers["Bad Name"]"#,
            #"notify.webhook.headers["Authorization"].secret = "no spaces allowed": is not a secret name"#,
            "notify.atRiskShare = 2: must be a number from 0.01 to 0.9",
            "notify.colour: is not a known field",
            "certificates[0].notify = true: must be false",
        ]
        for fragment in expected {
            XCTAssertTrue(found.contains { $0.contains(fragment) }, "missing \(fragment) in:\n\(found.joined(separator: "\n"))")
        }
    }

    func testABlockWithoutAChannelIsRefused() {
        let found = problems(config(notify: #"{"atRiskShare": 0.2}"#))
        XCTAssertTrue(found.contains { $0.contains("notify: names no channel") }, "\(found)")
    }
}
