import CertAgent
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
