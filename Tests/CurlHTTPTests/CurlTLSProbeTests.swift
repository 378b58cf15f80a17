import CurlHTTP
import Foundation
import XCTest

/// `CurlTLSProbe`: the served chain read over a TLS handshake only, never trusted; connect-to keeps SNI; refused,
/// timed-out and cancelled probes are told apart.
final class CurlTLSProbeTests: XCTestCase {
    private var server: TestServer?

    override func tearDown() {
        server?.stop()
        server = nil
    }

    private func normalized(_ pem: String) -> String {
        pem.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("-----") }.joined()
    }

    func testTheServedChainIsReadThroughConnectToWithoutTrustingIt() throws {
        let pki = try TestPKI.shared.get()
        let s = try TestServer.https()
        server = s
        // The server's CA is in no trust store: the probe reads the chain anyway (it compares, it does not trust).
        let chain = try CurlTLSProbe.servedChain(host: "localhost", port: 443, connectTo: ("127.0.0.1", s.ports[0]), timeout: 10)
        let leaf = try XCTUnwrap(chain.first)
        XCTAssertEqual(normalized(leaf), normalized(try String(contentsOfFile: pki.serverCert, encoding: .utf8)))
    }

    func testARefusedConnectionAndASilentServerAreToldApart() throws {
        let port = try unusedLoopbackPort()
        do {
            _ = try CurlTLSProbe.servedChain(host: "localhost", connectTo: ("127.0.0.1", port), timeout: 5)
            XCTFail("nothing listens there")
        } catch CurlHTTPError.transport(_, let code, _) {
            XCTAssertTrue(CurlTLSProbe.isConnectionRefused(code), "code \(code)")
            XCTAssertFalse(CurlTLSProbe.isTimeout(code))
        }
        // Plain HTTP where TLS was expected: connected, handshake failed.
        let plain = try TestServer.https()
        do {
            _ = try CurlTLSProbe.servedChain(host: "localhost", connectTo: ("127.0.0.1", plain.ports[1]), timeout: 5)
            XCTFail("no TLS there")
        } catch CurlHTTPError.transport(_, let code, _) {
            XCTAssertTrue(CurlTLSProbe.isHandshakeFailure(code), "code \(code)")
            XCTAssertFalse(CurlTLSProbe.isConnectionRefused(code))
        }
        plain.stop()
        let s = try TestServer.silent()
        server = s
        let started = Date()
        do {
            _ = try CurlTLSProbe.servedChain(host: "localhost", connectTo: ("127.0.0.1", s.ports[0]), timeout: 1)
            XCTFail("the server never answers")
        } catch CurlHTTPError.transport(_, let code, _) {
            XCTAssertTrue(CurlTLSProbe.isTimeout(code), "code \(code)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 8, "the short timeout, not a default one")
    }

    func testCancellingAbortsAProbeInFlightAndRefusesLaterOnes() throws {
        let s = try TestServer.silent()
        server = s
        let cancellation = CurlHTTPCancellation()
        DispatchQueue.global().asyncAfter(deadline: .now() + 1) { cancellation.cancel() }
        let started = Date()
        XCTAssertThrowsError(try CurlTLSProbe.servedChain(host: "localhost", connectTo: ("127.0.0.1", s.ports[0]), timeout: 60,
                                                          cancellation: cancellation)) { error in
            guard case CurlHTTPError.cancelled = error else { return XCTFail("\(error)") }
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "aborted within seconds of the cancel, not after 60 s")
        XCTAssertThrowsError(try CurlTLSProbe.servedChain(host: "localhost", connectTo: ("127.0.0.1", s.ports[0]), cancellation: cancellation)) { error in
            guard case CurlHTTPError.cancelled = error else { return XCTFail("\(error)") }
        }
    }
}
