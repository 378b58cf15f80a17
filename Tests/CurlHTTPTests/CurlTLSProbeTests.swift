import CurlHTTP
import Foundation
import TestSupport
import XCTest

/// `CurlTLSProbe`: the served chain read over a TLS handshake only, never trusted; connect-to keeps SNI; refused,
/// timed-out and cancelled probes are told apart. Uses the shared test server script with its own self-signed
/// certificate and directory (the shared PKI's directory is removed when `CurlHTTPClientTests` ends).
final class CurlTLSProbeTests: XCTestCase {
    private var server: Process?
    private var directory: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("curltlsprobe-tests-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                             "-keyout", directory + "/server.key", "-out", directory + "/server.pem", "-days", "2",
                             "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        guard openssl.terminationStatus == 0 else { throw TestSetupError(message: "openssl req failed") }
        try testServerScript.write(toFile: directory + "/server.py", atomically: true, encoding: .utf8)
    }

    override func tearDown() {
        tearDownServer()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Starts the test server script in `mode`; returns the ports it reports on its first line.
    private func start(_ arguments: [String]) throws -> [Int] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [directory + "/server.py"] + arguments
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        server = process
        var line: [UInt8] = []
        while !line.contains(0x0A) {
            let chunk = stdout.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(contentsOf: chunk)
        }
        let ports = String(decoding: line, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int($0) }
        guard !ports.isEmpty else { throw TestSetupError(message: "test server did not report its port") }
        return ports
    }

    private func tearDownServer() {
        if let server, server.isRunning {
            kill(server.processIdentifier, SIGTERM)
            server.waitUntilExit()
        }
        server = nil
    }

    private func https() throws -> [Int] { try start(["serve", directory + "/server.pem", directory + "/server.key"]) }

    private func normalized(_ pem: String) -> String {
        pem.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("-----") }.joined()
    }

    func testTheServedChainIsReadThroughConnectToWithoutTrustingIt() throws {
        let ports = try https()
        // Self-signed, in no trust store: the probe reads the chain anyway (it compares, it does not trust).
        let chain = try CurlTLSProbe.servedChain(host: "localhost", port: 443, connectTo: ("127.0.0.1", ports[0]), timeout: 10)
        let leaf = try XCTUnwrap(chain.first)
        XCTAssertEqual(normalized(leaf), normalized(try String(contentsOfFile: directory + "/server.pem", encoding: .utf8)))
        // An IP address entry (RFC 8738) as the site check passes it: the host in brackets, no SNI.
        let byAddress = try CurlTLSProbe.servedChain(host: "[::1]", port: 443, connectTo: ("127.0.0.1", ports[0]), timeout: 10)
        XCTAssertEqual(byAddress.first.map(normalized), normalized(leaf))
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
        let plain = try https()
        do {
            _ = try CurlTLSProbe.servedChain(host: "localhost", connectTo: ("127.0.0.1", plain[1]), timeout: 5)
            XCTFail("no TLS there")
        } catch CurlHTTPError.transport(_, let code, _) {
            XCTAssertTrue(CurlTLSProbe.isHandshakeFailure(code), "code \(code)")
            XCTAssertFalse(CurlTLSProbe.isConnectionRefused(code))
        }
        tearDownServer()
        let silent = try start(["silent"])
        let started = Date()
        do {
            _ = try CurlTLSProbe.servedChain(host: "localhost", connectTo: ("127.0.0.1", silent[0]), timeout: 1)
            XCTFail("the server never answers")
        } catch CurlHTTPError.transport(_, let code, _) {
            XCTAssertTrue(CurlTLSProbe.isTimeout(code), "code \(code)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 8, "the short timeout, not a default one")
    }

    func testCancellingAbortsAProbeInFlightAndRefusesLaterOnes() throws {
        let silent = try start(["silent"])
        let cancellation = CurlHTTPCancellation()
        DispatchQueue.global().asyncAfter(deadline: .now() + 1) { cancellation.cancel() }
        let started = Date()
        XCTAssertThrowsError(try CurlTLSProbe.servedChain(host: "localhost", connectTo: ("127.0.0.1", silent[0]), timeout: 60,
                                                          cancellation: cancellation)) { error in
            guard case CurlHTTPError.cancelled = error else { return XCTFail("\(error)") }
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "aborted within seconds of the cancel, not after 60 s")
        XCTAssertThrowsError(try CurlTLSProbe.servedChain(host: "localhost", connectTo: ("127.0.0.1", silent[0]), cancellation: cancellation)) { error in
            guard case CurlHTTPError.cancelled = error else { return XCTFail("\(error)") }
        }
    }
}
