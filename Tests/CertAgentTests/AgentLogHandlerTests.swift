@testable import CertAgent
import Logging
import Synchronization
import TestSupport
import XCTest

final class AgentLogHandlerTests: XCTestCase {
    private func capture(journald: Bool, _ body: (Logger) -> Void) -> [String] {
        let lines = Mutex<[String]>([])
        var logger = Logger(label: "test") { label in
            AgentLogHandler(label: label, level: .info, journald: journald) { line in lines.withLock { $0.append(line) } }
        }
        logger.logLevel = .info
        body(logger)
        return lines.withLock { $0 }
    }

    func testJournaldLinesCarryPriorityAndCertificateFirst() {
        let lines = capture(journald: true) { logger in
            var logger = logger
            logger[metadataKey: "certificate"] = "shop"
            logger.error("renewal failed:\nconnection refused", metadata: ["attempt": "3"])
            logger.debug("hidden at info level")
            logger.notice("issued")
        }
        XCTAssertEqual(lines, ["<3>[shop] renewal failed: | connection refused attempt=3", "<5>[shop] issued"])
    }

    func testALogLineIsOneLineWhateverTheMessageAndMetadataHold() {
        let hostile = "bad\r\n2026-12-01T00:00:00Z NOTICE [shop] issued\u{1b}[2J\u{1b}[31m\u{0}\u{7f}\u{9b}1m"
        let lines = capture(journald: false) { logger in
            var logger = logger
            logger[metadataKey: "certificate"] = "shop\u{1b}[0m"
            logger.error("renewal failed: \(hostile)", metadata: ["error": "\(hostile)", "url": "https://ca.test/a\"b c"])
        }
        XCTAssertEqual(lines.count, 1)
        let line = lines[0]
        XCTAssertFalse(line.unicodeScalars.contains { $0.value < 0x20 || (0x7f...0x9f).contains($0.value) }, line)
        XCTAssertTrue(line.contains(#" ERROR [shop\x1b[0m] renewal failed: bad\r\n2026-12-01T00:00:00Z NOTICE [shop] issued\x1b[2J\x1b[31m\x00\x7f\u{9b}1m error=""#), line)
        XCTAssertTrue(line.hasSuffix(#" url="https://ca.test/a\"b c""#), "a quote cannot end the value early: \(line)")
    }

    func testAnUnboundedMessageIsBounded() {
        let lines = capture(journald: true) { $0.warning("\(String(repeating: "x", count: 100_000))") }
        XCTAssertEqual(lines.count, 1)
        XCTAssertLessThan(lines[0].utf8.count, AgentLogHandler.maximumFieldBytes + 100)
        XCTAssertTrue(lines[0].hasSuffix("… (\(100_000 - AgentLogHandler.maximumFieldBytes) more bytes)"), String(lines[0].suffix(40)))
    }

    func testTerminalLinesCarryTimeAndLevel() {
        let lines = capture(journald: false) { $0.warning("careful", metadata: ["path": "/a b"]) }
        XCTAssertEqual(lines.count, 1)
        XCTAssertTrue(lines[0].hasSuffix(" WARNING careful path=\"/a b\""), lines[0])
        XCTAssertTrue(lines[0].hasPrefix("20"), lines[0])
    }
}

final class CurlTransportTests: XCTestCase {
    func testUserAgentNamesCertAgentAndItsVersionFirst() throws {
        let transport = try CurlTransport(caFile: nil)
        XCTAssertTrue(CurlTransport.userAgent.hasPrefix("CertAgent/\(CertAgentVersion.current) libcurl/"), CurlTransport.userAgent)
        XCTAssertEqual(transport.client.configuration.userAgent, CurlTransport.userAgent)
        XCTAssertEqual(transport.client.configuration.allowedSchemes, ["https"], "ACME URLs: HTTPS only")
    }
}

final class TerminalTextTests: XCTestCase {
    func testOwnLineBreaksStayAndEveryOtherControlIsEscaped() {
        XCTAssertEqual(TerminalText.safe("✗ site: failed\n    detail \u{1b}[2Jcleared\r\u{9b}0m\u{0}"),
                       "✗ site: failed\n    detail \\x1b[2Jcleared\\r\\u{9b}0m\\x00")
        XCTAssertEqual(TerminalText.safe("a\r\nb"), #"a\r\nb"#, "CR LF from outside is not one of our line breaks")
        XCTAssertEqual(TerminalText.safe("plain\n\nlines"), "plain\n\nlines")
    }
}
