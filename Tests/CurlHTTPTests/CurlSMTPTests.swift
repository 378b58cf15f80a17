import CurlHTTP
import Foundation
import TestSupport
import XCTest

/// `CurlSMTPClient` against a real SMTP server (aiosmtpd) with STARTTLS, implicit TLS, AUTH and its own CA.
final class CurlSMTPTests: XCTestCase {
    private let username = "mailer"
    private let password = "correct horse"

    /// A message whose body has a line starting with a dot and a line that is only a dot: libcurl must stuff both
    /// (or the second would end the DATA early) and the server must receive them unchanged.
    private let message = Array("From: a@sender.test\r\nTo: b@receiver.test\r\nSubject: test\r\n\r\nfirst line\r\n.starts with a dot\r\n.\r\nlast line\r\n".utf8)

    private func server(_ smtp: SMTPTestServer, _ security: SMTPServer.Security = .starttls, password: String? = nil) -> SMTPServer {
        SMTPServer(security: security, host: "127.0.0.1", port: smtp.port, username: username,
                   password: Array((password ?? self.password).utf8), caFile: smtp.caFile, connectTimeout: 10, totalTimeout: 30)
    }

    func testSTARTTLSWithAuthDeliversTheMessageUnchanged() throws {
        let smtp = try SMTPTestServer(mode: .starttls, username: username, password: password)
        try CurlSMTPClient.send(message: message, from: "a@sender.test", recipients: ["b@receiver.test", "c@receiver.test"],
                                server: server(smtp))
        let received = try smtp.messages()
        XCTAssertEqual(received.count, 1)
        XCTAssertEqual(received.first?.from, "a@sender.test")
        XCTAssertEqual(received.first?.recipients, ["b@receiver.test", "c@receiver.test"])
        XCTAssertEqual(received.first?.usedTLS, true)
        XCTAssertEqual(received.first?.authenticated, true)
        // Dot-stuffing done once by libcurl and undone by the server: the bytes arrive as written.
        XCTAssertEqual(received.first.map { String(decoding: $0.data, as: UTF8.self) }, String(decoding: message, as: UTF8.self))
        XCTAssertEqual(smtp.authAttempts().count, 1)
        XCTAssertTrue(smtp.authAttempts().first?.hasSuffix("accepted tls=True") ?? false, "\(smtp.authAttempts())")
    }

    func testImplicitTLSDelivers() throws {
        let smtp = try SMTPTestServer(mode: .smtps, username: username, password: password)
        try CurlSMTPClient.send(message: message, from: "a@sender.test", recipients: ["b@receiver.test"], server: server(smtp, .smtps))
        let received = try smtp.messages()
        XCTAssertEqual(received.count, 1)
        XCTAssertEqual(received.first?.usedTLS, true)
        XCTAssertEqual(received.first?.authenticated, true)
    }

    func testWrongPasswordIsAnAuthenticationFailureInWords() throws {
        let smtp = try SMTPTestServer(mode: .starttls, username: username, password: password)
        let wrong = "not-the-password-42"
        XCTAssertThrowsError(try CurlSMTPClient.send(message: message, from: "a@sender.test", recipients: ["b@receiver.test"],
                                                     server: server(smtp, password: wrong))) { error in
            guard let error = error as? CurlSMTPError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.kind, .authenticationFailed)
            XCTAssertTrue(error.description.contains("refused the username or password"), error.description)
            XCTAssertTrue(error.description.contains("127.0.0.1:\(smtp.port)"), error.description)
            XCTAssertFalse(error.description.contains(wrong), error.description)
            XCTAssertFalse(error.description.contains(Data(wrong.utf8).base64EncodedString()), error.description)
            // The AUTH PLAIN initial response (RFC 4616) is base64 of NUL user NUL password: never kept.
            let plain = Data([0] + Array(self.username.utf8) + [0] + Array(wrong.utf8)).base64EncodedString()
            XCTAssertFalse(error.description.contains(String(plain.prefix(12))), error.description)
        }
        XCTAssertEqual(try smtp.messages().count, 0)
        XCTAssertTrue(smtp.authAttempts().allSatisfy { $0.contains("refused tls=True") }, "\(smtp.authAttempts())")
    }

    func testServerWithoutSTARTTLSIsRefusedBeforeThePasswordIsSent() throws {
        let smtp = try SMTPTestServer(mode: .plain, username: username, password: password)
        XCTAssertThrowsError(try CurlSMTPClient.send(message: message, from: "a@sender.test", recipients: ["b@receiver.test"],
                                                     server: server(smtp))) { error in
            guard let error = error as? CurlSMTPError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.kind, .startTLSNotOffered)
            XCTAssertTrue(error.description.contains("the server does not offer STARTTLS; refusing to send the password in clear"),
                          error.description)
        }
        // The server would have accepted AUTH in clear: no attempt reached it, and no message.
        XCTAssertEqual(smtp.authAttempts(), [])
        XCTAssertEqual(try smtp.messages().count, 0)
    }

    func testRefusedRecipientQuotesTheServerReplyEscaped() throws {
        let smtp = try SMTPTestServer(mode: .starttls, username: username, password: password)
        XCTAssertThrowsError(try CurlSMTPClient.send(message: message, from: "a@sender.test",
                                                     recipients: ["b@receiver.test", "refused@receiver.test"],
                                                     server: server(smtp))) { error in
            guard let error = error as? CurlSMTPError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.kind, .recipientRefused)
            XCTAssertTrue(error.description.contains("refused the recipient <refused@receiver.test>"), error.description)
            XCTAssertTrue(error.description.contains("550 5.1.1"), error.description)
            XCTAssertTrue(error.description.contains("\\x1b[31m"), error.description)
            XCTAssertFalse(error.description.contains("\u{1b}"), error.description)
        }
        XCTAssertEqual(try smtp.messages().count, 0)
    }

    func testRefusedSenderAndRefusedMessageAreSaidInWords() throws {
        let smtp = try SMTPTestServer(mode: .starttls, username: username, password: password)
        XCTAssertThrowsError(try CurlSMTPClient.send(message: message, from: "refused@sender.test", recipients: ["b@receiver.test"],
                                                     server: server(smtp))) { error in
            guard let error = error as? CurlSMTPError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.kind, .senderRefused)
            XCTAssertEqual(error.detail, "the server refused the sender <refused@sender.test>; the server replied \"553 5.7.1 <refused@sender.test>: sender not allowed\"")
        }
        let refusedMessage = Array("Subject: x\r\nX-Test-Refuse: yes\r\n\r\nbody\r\n".utf8)
        XCTAssertThrowsError(try CurlSMTPClient.send(message: refusedMessage, from: "a@sender.test", recipients: ["b@receiver.test"],
                                                     server: server(smtp))) { error in
            guard let error = error as? CurlSMTPError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.kind, .messageRefused)
            XCTAssertEqual(error.detail, "the server refused the message; the server replied \"554 5.6.0 message refused by policy\"")
        }
        XCTAssertEqual(try smtp.messages().count, 0)
    }

    func testUntrustedServerCertificateIsATLSFailure() throws {
        let smtp = try SMTPTestServer(mode: .starttls, username: username, password: password)
        var settings = server(smtp)
        settings.caFile = nil   // the system store does not know the test CA
        XCTAssertThrowsError(try CurlSMTPClient.send(message: message, from: "a@sender.test", recipients: ["b@receiver.test"],
                                                     server: settings)) { error in
            XCTAssertEqual((error as? CurlSMTPError)?.kind, .tlsFailed, "\(error)")
        }
        XCTAssertEqual(smtp.authAttempts(), [])
    }

    func testConnectionRefusedIsUnreachable() throws {
        let port = try unusedLoopbackPort()
        let settings = SMTPServer(security: .starttls, host: "127.0.0.1", port: port)
        XCTAssertThrowsError(try CurlSMTPClient.send(message: message, from: "a@sender.test", recipients: ["b@receiver.test"],
                                                     server: settings)) { error in
            guard let error = error as? CurlSMTPError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.kind, .unreachable)
            XCTAssertEqual(error.description, "sending mail via 127.0.0.1:\(port) failed: could not connect (connection refused or host unreachable)")
        }
    }

    func testBadArgumentsAreRefusedBeforeAnyIO() throws {
        let port = try unusedLoopbackPort()
        let good = SMTPServer(security: .starttls, host: "127.0.0.1", port: port)
        var badHost = good
        badHost.host = "mail.test\r\nevil"
        var badUser = good
        badUser.username = "user\r\nRCPT TO:<x@y>"
        let cases: [(String, [String], SMTPServer)] = [
            ("a@sender.test>\r\nRCPT TO:<x@y.test", ["b@receiver.test"], good),
            ("a@sender.test", ["b@receiver.test\r\nDATA"], good),
            ("a@sender.test", [], good),
            ("a@sender.test", ["b@receiver.test"], badHost),
            ("a@sender.test", ["b@receiver.test"], badUser),
        ]
        for (from, recipients, settings) in cases {
            XCTAssertThrowsError(try CurlSMTPClient.send(message: message, from: from, recipients: recipients, server: settings)) { error in
                XCTAssertEqual((error as? CurlSMTPError)?.kind, .invalidArgument, "\(error)")
                XCTAssertFalse("\(error)".contains("\r"), "\(error)")
            }
        }
    }

    func testCancellingAbortsAConversationWithASilentServer() throws {
        // A listener that never accepts: the kernel completes the TCP handshake, and no greeting ever comes. Only
        // the cancellation can end this before 60 s. (In process: CurlHTTPClientTests removes the shared test PKI
        // that `TestServer` needs when its class finishes.)
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(listener, 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 4) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        XCTAssertTrue(bound)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let cancellation = CurlHTTPCancellation()
        let settings = SMTPServer(security: .starttls, host: "127.0.0.1", port: port, username: username,
                                  password: Array(password.utf8), connectTimeout: 60, silenceTimeout: 0, totalTimeout: 60,
                                  cancellation: cancellation)
        DispatchQueue.global().asyncAfter(deadline: .now() + 1) { cancellation.cancel() }
        let started = Date()
        XCTAssertThrowsError(try CurlSMTPClient.send(message: message, from: "a@sender.test", recipients: ["b@receiver.test"],
                                                     server: settings)) { error in
            XCTAssertEqual((error as? CurlSMTPError)?.kind, .cancelled, "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 15)
    }

    func testCancelledTokenRefusesBeforeConnecting() throws {
        let smtp = try SMTPTestServer(mode: .starttls, username: username, password: password)
        let cancellation = CurlHTTPCancellation()
        cancellation.cancel()
        var settings = server(smtp)
        settings.cancellation = cancellation
        XCTAssertThrowsError(try CurlSMTPClient.send(message: message, from: "a@sender.test", recipients: ["b@receiver.test"],
                                                     server: settings)) { error in
            XCTAssertEqual((error as? CurlSMTPError)?.kind, .cancelled, "\(error)")
        }
        XCTAssertEqual(try smtp.messages().count, 0)
    }
}
