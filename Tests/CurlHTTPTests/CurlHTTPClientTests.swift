import CurlHTTP
import Foundation
import TestSupport
import Synchronization
import XCTest

final class CurlHTTPClientTests: XCTestCase {
    private var server: TestServer?
    private var pki: TestPKI!

    override func setUpWithError() throws {
        pki = try TestPKI.shared.get()
    }

    override func tearDown() {
        server?.stop()
        server = nil
    }

    // MARK: helpers

    /// Starts the HTTPS + HTTP test server; returns (https base URL, http base URL).
    private func startServer() throws -> (https: String, http: String) {
        let s = try TestServer.https()
        server = s
        return ("https://127.0.0.1:\(s.ports[0])", "http://127.0.0.1:\(s.ports[1])")
    }

    private func client(_ configure: (inout CurlHTTPConfiguration) -> Void = { _ in }) throws -> CurlHTTPClient {
        var configuration = CurlHTTPConfiguration(caFile: pki.caFile, connectTimeout: 5, totalTimeout: 10)
        configure(&configuration)
        return try CurlHTTPClient(configuration: configuration)
    }

    private func json(_ body: [UInt8]) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
    }

    /// The request headers the server saw, from /info.
    private func requestHeaders(_ info: [String: Any]) throws -> [(String, String)] {
        let raw = try XCTUnwrap(info["headers"] as? [[String]])
        return raw.map { ($0[0], $0[1]) }
    }

    /// Server-side counters, read over plain HTTP with a separate client.
    private func serverStats(_ httpBase: String) throws -> [String: Int] {
        let c = try CurlHTTPClient(configuration: .init(allowedSchemes: ["http"]))
        let r = try c.perform(method: "GET", url: "\(httpBase)/stats")
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Int])
    }

    private func values(_ response: CurlResponse, _ name: String) -> [String] {
        response.headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    private func transportCode(_ error: Error) -> (code: Int, message: String)? {
        if case .transport(_, let code, let message)? = error as? CurlHTTPError { return (code, message) }
        return nil
    }

    // MARK: requests

    func testGetReturnsStatusHeadersBodyAndEffectiveURL() throws {
        let base = try startServer()
        let c = try client()
        let r = try c.perform(method: "GET", url: "\(base.https)/info?x=1", headers: [("X-Custom", "one two"), ("Accept", "application/json")])
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.effectiveURL, "\(base.https)/info?x=1")
        XCTAssertEqual(values(r, "Content-Type"), ["application/json"])
        let info = try json(r.body)
        XCTAssertEqual(info["method"] as? String, "GET")
        let sent = try requestHeaders(info)
        XCTAssertTrue(sent.contains { $0 == ("X-Custom", "one two") }, "\(sent)")
        XCTAssertTrue(sent.contains { $0 == ("Accept", "application/json") }, "\(sent)")
        XCTAssertFalse(sent.contains { $0.0.lowercased() == "expect" }, "\(sent)")

        let missing = try c.perform(method: "GET", url: "\(base.https)/nope")
        XCTAssertEqual(missing.status, 404, "a non-2xx status is returned, not thrown")
        XCTAssertEqual(missing.body, Array("not found".utf8))
    }

    func testPostEchoesBinaryBody() throws {
        let base = try startServer()
        let c = try client()
        var body: [UInt8] = Array(#"{"protected":"abc","payload":""}"#.utf8)
        body += [0, 1, 2, 255, 0, 10, 13]   // NULs and CR/LF must survive: libcurl copies by size
        body += [UInt8](repeating: 0x41, count: 5000)   // larger than curl's Expect threshold
        let r = try c.perform(method: "POST", url: "\(base.https)/echo",
                              headers: [("Content-Type", "application/jose+json")], body: body)
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.body, body)
        XCTAssertEqual(values(r, "X-Echo-Method"), ["POST"])
        XCTAssertEqual(values(r, "X-Echo-Length"), ["\(body.count)"])
        XCTAssertEqual(values(r, "X-Echo-Content-Type"), ["application/jose+json"])
    }

    func testPostWithEmptyOrNilBody() throws {
        let base = try startServer()
        let c = try client()
        for body in [[], nil] as [[UInt8]?] {
            let r = try c.perform(method: "POST", url: "\(base.https)/echo", body: body)
            XCTAssertEqual(r.status, 200)
            XCTAssertEqual(values(r, "X-Echo-Method"), ["POST"])
            XCTAssertEqual(values(r, "X-Echo-Length"), ["0"])
            XCTAssertEqual(r.body, [])
        }
    }

    func testHeadReadsNoBodyAndLeavesHandleUsable() throws {
        let base = try startServer()
        let c = try client()
        // The server announces 1234 bytes but sends none: reading a body would hang until the timeout.
        let start = ContinuousClock.now
        let head = try c.perform(method: "HEAD", url: "\(base.https)/head")
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(20), "far below the 60 s a body read would wait (loaded machines included)")
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.body, [])
        XCTAssertEqual(values(head, "Replay-Nonce"), ["abc"])
        XCTAssertEqual(values(head, "Content-Length"), ["1234"])
        // The next GET on the same handle is a GET again (per-request options were reset).
        let get = try c.perform(method: "GET", url: "\(base.https)/info")
        XCTAssertEqual(try json(get.body)["method"] as? String, "GET")
        let post = try c.perform(method: "POST", url: "\(base.https)/echo", body: Array("x".utf8))
        XCTAssertEqual(values(post, "X-Echo-Method"), ["POST"])
        let head2 = try c.perform(method: "HEAD", url: "\(base.https)/echo")
        XCTAssertEqual(values(head2, "X-Echo-Method"), ["HEAD"])
        XCTAssertEqual(head2.body, [])
    }

    func testBodyRefusedOnGetAndHead() throws {
        let base = try startServer()
        let c = try client()
        for method in ["GET", "HEAD"] {
            XCTAssertThrowsError(try c.perform(method: method, url: "\(base.https)/echo", body: [1])) {
                XCTAssertEqual(transportCode($0)?.code, 43)
            }
        }
        XCTAssertEqual(c.connectionsOpened, 0)
    }

    // MARK: TLS trust

    func testCustomCATrustedForIPAndHostName() throws {
        let base = try startServer()
        let c = try client()
        XCTAssertEqual(try c.perform(method: "GET", url: "\(base.https)/info").status, 200)
        let port = try XCTUnwrap(server?.ports[0])
        XCTAssertEqual(try c.perform(method: "GET", url: "https://localhost:\(port)/info").status, 200)
    }

    func testWithoutCAFileVerificationFails() throws {
        let base = try startServer()
        for caFile in [nil, pki.otherCAFile] as [String?] {
            let c = try CurlHTTPClient(configuration: .init(caFile: caFile, connectTimeout: 5, totalTimeout: 10))
            XCTAssertThrowsError(try c.perform(method: "GET", url: "\(base.https)/info")) { error in
                guard let (code, message) = transportCode(error) else { return XCTFail("\(error)") }
                XCTAssertEqual(code, 60, message)   // CURLE_PEER_FAILED_VERIFICATION
                XCTAssertTrue(message.hasPrefix("TLS certificate verification failed"), message)
                XCTAssertTrue("\(error)".contains("curl error 60"), "\(error)")
            }
        }
        let stats = try serverStats(base.http)
        XCTAssertEqual(stats["requests"], 0, "no request may be sent over an unverified connection")
    }

    func testUnreadableCAFileIsTransportError() throws {
        let base = try startServer()
        let c = try CurlHTTPClient(configuration: .init(caFile: "\(pki.directory)/does-not-exist.pem"))
        XCTAssertThrowsError(try c.perform(method: "GET", url: "\(base.https)/info")) { error in
            XCTAssertNotNil(transportCode(error), "\(error)")
        }
    }

    // MARK: headers

    func testRepeatedLinkHeadersKeptInOrderAndTrimmed() throws {
        let base = try startServer()
        let c = try client()
        let r = try c.perform(method: "GET", url: "\(base.https)/links")
        XCTAssertEqual(r.status, 201)
        let own = r.headers.filter { !["Server", "Date"].contains($0.name) }
        XCTAssertEqual(own.map(\.name), ["Link", "X-First", "Link", "x-lower", "Link", "X-Empty", "Content-Length"])
        XCTAssertEqual(own.map(\.value), [
            #"<https://example.test/up>;rel="up""#, "1",
            #"<https://example.test/alt1>;rel="alternate""#, "padded value",
            #"<https://example.test/alt2>;rel="alternate""#, "", "5",
        ])
        XCTAssertEqual(r.headers.first?.name, "Server", "names as received, status line not included")
    }

    func testInterimResponseHeadersAreDropped() throws {
        let base = try startServer()
        let c = try client()
        let r = try c.perform(method: "POST", url: "\(base.https)/echo",
                              headers: [("Expect", "100-continue")], body: Array("payload".utf8))
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.body, Array("payload".utf8))
        XCTAssertEqual(values(r, "X-Interim"), [], "headers of the 100 Continue response must not leak into the final one")
        XCTAssertEqual(values(r, "X-Echo-Method"), ["POST"])
    }

    func testRedirectIsReturnedNotFollowed() throws {
        let base = try startServer()
        let c = try client()
        let r = try c.perform(method: "GET", url: "\(base.https)/redirect")
        XCTAssertEqual(r.status, 302)
        XCTAssertEqual(values(r, "Location"), ["/echo"])
        XCTAssertEqual(r.effectiveURL, "\(base.https)/redirect")
        XCTAssertEqual(try serverStats(base.http)["requests"], 1)
    }

    func testHeaderInjectionRefusedBeforeIO() throws {
        let base = try startServer()
        let c = try client()
        let bad: [(String, String)] = [("X-A", "v\r\nX-Injected: 1"), ("Bad Name", "v"), ("X-B", "a\nb"), ("", "v")]
        for header in bad {
            XCTAssertThrowsError(try c.perform(method: "GET", url: "\(base.https)/info", headers: [header])) {
                XCTAssertEqual(transportCode($0)?.code, 43, "\($0)")
            }
        }
        XCTAssertThrowsError(try c.perform(method: "G T", url: "\(base.https)/info")) {
            XCTAssertEqual(transportCode($0)?.code, 43, "\($0)")
        }
        XCTAssertEqual(c.connectionsOpened, 0)
        XCTAssertEqual(try serverStats(base.http)["requests"], 0)
    }

    // MARK: timeouts and connection failures

    func testConnectionRefusedIsTransportError() throws {
        let port = try unusedLoopbackPort()
        let c = try client()
        XCTAssertThrowsError(try c.perform(method: "GET", url: "https://127.0.0.1:\(port)/")) { error in
            guard let (code, message) = transportCode(error) else { return XCTFail("\(error)") }
            XCTAssertEqual(code, 7, message)   // CURLE_COULDNT_CONNECT
            XCTAssertTrue(message.hasPrefix("connection failed"), message)
        }
    }

    func testConnectionRefusedNamesTheSystemsReason() throws {
        let port = try unusedLoopbackPort()
        let c = try client()
        XCTAssertThrowsError(try c.perform(method: "GET", url: "https://127.0.0.1:\(port)/")) { error in
            XCTAssertEqual((error as? CurlHTTPError)?.failureKind, .connectionFailed)
            XCTAssertTrue(transportCode(error)?.message.hasSuffix("(Connection refused)") ?? false, "\(error)")
        }
    }

    func testConnectToSendsTheURLsNameToTheAddressGiven() throws {
        _ = try startServer()
        let httpPort = try XCTUnwrap(server?.ports[1])
        let c = try client { $0.allowedSchemes = ["http"] }
        // A name nobody resolves: only the connect-to entry can take the request anywhere.
        let r = try c.perform(method: "GET", url: "http://probe.invalid/info",
                              options: CurlRequestOptions(connectTo: ["probe.invalid:80:127.0.0.1:\(httpPort)"]))
        XCTAssertEqual(r.status, 200)
        XCTAssertTrue(try requestHeaders(try json(r.body)).contains { $0.0.lowercased() == "host" && $0.1 == "probe.invalid" },
                      "the request names the URL's host, not the address connected to")
        XCTAssertEqual(r.effectiveURL, "http://probe.invalid/info")
        XCTAssertThrowsError(try c.perform(method: "GET", url: "http://probe.invalid/info",
                                           options: CurlRequestOptions(connectTo: ["probe.invalid:80:127.0.0.1:1\r\nX: y"]))) { error in
            XCTAssertEqual(transportCode(error)?.code, 43, "a connect-to entry with a line break is refused before any I/O")
        }
    }

    func testVerifyPeerOffReachesAServerWhoseCertificateIsNotTrusted() throws {
        let base = try startServer()
        let untrusting = try CurlHTTPClient(configuration: .init(caFile: pki.otherCAFile, connectTimeout: 5, totalTimeout: 10))
        XCTAssertThrowsError(try untrusting.perform(method: "GET", url: "\(base.https)/info")) { error in
            XCTAssertEqual((error as? CurlHTTPError)?.failureKind, .certificateRejected)
        }
        XCTAssertEqual(try untrusting.perform(method: "GET", url: "\(base.https)/info", options: CurlRequestOptions(verifyPeer: false)).status, 200)
    }

    func testConnectTimeout() throws {
        let hole = try TestServer.blackhole()
        server = hole
        let c = try client { $0.connectTimeout = 1; $0.totalTimeout = 20 }
        let start = ContinuousClock.now
        XCTAssertThrowsError(try c.perform(method: "GET", url: "https://127.0.0.1:\(hole.ports[0])/")) { error in
            guard let (code, message) = transportCode(error) else { return XCTFail("\(error)") }
            XCTAssertEqual(code, 28, message)   // CURLE_OPERATION_TIMEDOUT
            XCTAssertTrue(message.hasPrefix("timed out"), message)
        }
        let elapsed = ContinuousClock.now - start
        XCTAssertGreaterThanOrEqual(elapsed, .milliseconds(900))
        XCTAssertLessThan(elapsed, .seconds(12), "the connect timeout ended it, not the 20 s total timeout")
    }

    func testTotalTimeoutAgainstStallingServer() throws {
        let base = try startServer()
        let c = try client { $0.totalTimeout = 1.5 }
        let start = ContinuousClock.now
        XCTAssertThrowsError(try c.perform(method: "GET", url: "\(base.https)/stall")) { error in
            guard let (code, message) = transportCode(error) else { return XCTFail("\(error)") }
            XCTAssertEqual(code, 28, message)
            XCTAssertTrue(message.hasPrefix("timed out"), message)
        }
        let elapsed = ContinuousClock.now - start
        XCTAssertGreaterThanOrEqual(elapsed, .milliseconds(1400))
        XCTAssertLessThan(elapsed, .seconds(15), "the 1.5 s timeout ended it, not the server's 30 s stall")
        // The handle still works after an aborted transfer.
        XCTAssertEqual(try c.perform(method: "GET", url: "\(base.https)/info").status, 200)
    }

    // MARK: response size cap

    func testResponseTooLargeStreamedIsAborted() throws {
        let base = try startServer()
        let c = try client { $0.maxResponseBytes = 10_000 }
        XCTAssertThrowsError(try c.perform(method: "GET", url: "\(base.https)/big?n=5000000&chunked=1")) { error in
            guard case .responseTooLarge(let url, let limit)? = error as? CurlHTTPError else { return XCTFail("\(error)") }
            XCTAssertEqual(url, "\(base.https)/big?n=5000000&chunked=1")
            XCTAssertEqual(limit, 10_000)
        }
        XCTAssertEqual(try c.perform(method: "GET", url: "\(base.https)/info").status, 200)
    }

    func testResponseTooLargeByContentLength() throws {
        let base = try startServer()
        let c = try client { $0.maxResponseBytes = 10_000 }
        XCTAssertThrowsError(try c.perform(method: "GET", url: "\(base.https)/big?n=10001")) { error in
            guard case .responseTooLarge(_, let limit)? = error as? CurlHTTPError else { return XCTFail("\(error)") }
            XCTAssertEqual(limit, 10_000)
        }
    }

    func testHeadAnnouncingLargeBodyIsNotTooLarge() throws {
        let base = try startServer()
        let c = try client { $0.maxResponseBytes = 1000 }
        // /head announces Content-Length: 1234 but HEAD has no body, so the cap does not apply.
        let r = try c.perform(method: "HEAD", url: "\(base.https)/head")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(values(r, "Content-Length"), ["1234"])
    }

    func testResponseAtLimitAccepted() throws {
        let base = try startServer()
        let c = try client { $0.maxResponseBytes = 40_000 }
        for chunked in [0, 1] {
            let r = try c.perform(method: "GET", url: "\(base.https)/big?n=40000&chunked=\(chunked)")
            XCTAssertEqual(r.body.count, 40_000)
            XCTAssertTrue(r.body.allSatisfy { $0 == UInt8(ascii: "x") })
        }
    }

    // MARK: schemes and URLs

    func testHTTPRefusedBeforeAnyIO() throws {
        let base = try startServer()
        let c = try client()
        let start = ContinuousClock.now
        XCTAssertThrowsError(try c.perform(method: "GET", url: "\(base.http)/info")) { error in
            guard case .schemeNotAllowed(let url)? = error as? CurlHTTPError else { return XCTFail("\(error)") }
            XCTAssertEqual(url, "\(base.http)/info")
        }
        XCTAssertThrowsError(try c.perform(method: "POST", url: "HTTP://127.0.0.1:\(server!.ports[1])/echo", body: [1]))
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(10), "no connect attempt, let alone a timeout")
        XCTAssertEqual(c.connectionsOpened, 0)
        XCTAssertEqual(try serverStats(base.http)["requests"], 0)
    }

    func testHTTPAllowedWhenAsked() throws {
        let base = try startServer()
        let c = try CurlHTTPClient(configuration: .init(allowedSchemes: ["http"]))
        let r = try c.perform(method: "GET", url: "\(base.http)/info")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(try json(r.body)["method"] as? String, "GET")
        XCTAssertThrowsError(try c.perform(method: "GET", url: "\(base.https)/info")) {
            guard case .schemeNotAllowed? = $0 as? CurlHTTPError else { return XCTFail("\($0)") }
        }
        let both = try client { $0.allowedSchemes = ["http", "https"] }
        XCTAssertEqual(try both.perform(method: "GET", url: "\(base.http)/info").status, 200)
        XCTAssertEqual(try both.perform(method: "GET", url: "\(base.https)/info").status, 200)
    }

    func testInvalidURLsAndForeignSchemes() throws {
        let c = try client { $0.allowedSchemes = ["https", "ftp", "file"] }
        for url in ["not a url", "", "https://", "://x"] {
            XCTAssertThrowsError(try c.perform(method: "GET", url: url)) {
                guard case .invalidURL(let reported)? = $0 as? CurlHTTPError else { return XCTFail("\(url): \($0)") }
                XCTAssertEqual(reported, url)
            }
        }
        // Schemes other than http/https are never allowed, whatever the configuration says.
        for url in ["ftp://127.0.0.1/x", "file:///etc/passwd", "gopher://127.0.0.1/"] {
            XCTAssertThrowsError(try c.perform(method: "GET", url: url)) {
                guard case .schemeNotAllowed? = $0 as? CurlHTTPError else { return XCTFail("\(url): \($0)") }
            }
        }
        XCTAssertEqual(c.connectionsOpened, 0)
    }

    // MARK: reuse, user agent, concurrency

    func testConnectionReusedAcrossRequests() throws {
        let base = try startServer()
        let c = try client()
        XCTAssertEqual(c.connectionsOpened, 0)
        _ = try c.perform(method: "HEAD", url: "\(base.https)/head")
        for i in 0..<3 {
            XCTAssertEqual(try c.perform(method: "GET", url: "\(base.https)/info").status, 200)
            XCTAssertEqual(try c.perform(method: "POST", url: "\(base.https)/echo", body: Array("n\(i)".utf8)).body, Array("n\(i)".utf8))
        }
        _ = try c.perform(method: "GET", url: "\(base.https)/redirect")
        XCTAssertEqual(try serverStats(base.http)["requests"], 8)
        XCTAssertEqual(c.connectionsOpened, 1, "eight requests over one TLS connection")
        // A second client has its own handle and its own connection.
        let other = try client()
        _ = try other.perform(method: "GET", url: "\(base.https)/info")
        XCTAssertEqual(other.connectionsOpened, 1)
        XCTAssertEqual(c.connectionsOpened, 1)
    }

    func testDefaultUserAgentSent() throws {
        XCTAssertTrue(CurlHTTPConfiguration.defaultUserAgent.hasPrefix("libcurl/"), CurlHTTPConfiguration.defaultUserAgent)
        let curlVersion = CurlHTTPConfiguration.defaultUserAgent.dropFirst("libcurl/".count)
        XCTAssertTrue(curlVersion.first?.isNumber == true && curlVersion.contains("."), String(curlVersion))
        XCTAssertEqual(CurlHTTPConfiguration().userAgent, CurlHTTPConfiguration.defaultUserAgent)

        let base = try startServer()
        let c = try client()
        let sent = try requestHeaders(try json(try c.perform(method: "GET", url: "\(base.https)/info").body))
        XCTAssertEqual(sent.filter { $0.0 == "User-Agent" }.map(\.1), [CurlHTTPConfiguration.defaultUserAgent])

        let custom = try client { $0.userAgent = "Custom/9" }
        let sent2 = try requestHeaders(try json(try custom.perform(method: "GET", url: "\(base.https)/info").body))
        XCTAssertEqual(sent2.filter { $0.0 == "User-Agent" }.map(\.1), ["Custom/9"])
    }

    func testConcurrentCallsRunSideBySideEachOnAHandleThatKeepsItsConnection() throws {
        let base = try startServer()
        let c = try client()
        let threads = 4
        let results = Mutex<[Int: Result<[UInt8], CurlHTTPError>]>([:])
        func sendTogether(round: Int) {
            let done = DispatchSemaphore(value: 0)
            for id in 0..<threads {
                // Long enough that all four are in the server at once, even on a loaded machine.
                let url = "\(base.https)/slow?s=2&id=\(round * 10 + id)"
                let thread = Thread {
                    let result: Result<[UInt8], CurlHTTPError>
                    do { result = .success(try c.perform(method: "GET", url: url).body) }
                    catch let error as CurlHTTPError { result = .failure(error) }
                    catch { result = .failure(.invalidURL("unexpected \(error)")) }
                    results.withLock { $0[round * 10 + id] = result }
                    done.signal()
                }
                thread.start()
            }
            for _ in 0..<threads {
                XCTAssertEqual(done.wait(timeout: .now() + 60), .success)
            }
        }
        sendTogether(round: 0)
        let collected = results.withLock { $0 }
        XCTAssertEqual(collected.count, threads)
        for id in 0..<threads {
            XCTAssertEqual(try collected[id]?.get(), Array("\(id)".utf8), "each caller gets its own response")
        }
        var stats = try serverStats(base.http)
        XCTAssertEqual(stats["max_inflight"], threads, "the four requests were in the server at once, not one after another")
        XCTAssertEqual(stats["requests"], threads)
        XCTAssertEqual(c.handlesMade, threads, "one handle per request in flight")
        XCTAssertEqual(c.connectionsOpened, threads)

        // The next requests, side by side or one after another, reuse those handles and their connections.
        sendTogether(round: 1)
        for _ in 0..<3 { XCTAssertEqual(try c.perform(method: "GET", url: "\(base.https)/info").status, 200) }
        stats = try serverStats(base.http)
        XCTAssertEqual(stats["requests"], 2 * threads + 3)
        XCTAssertLessThanOrEqual(c.handlesMade, threads + 1)
        XCTAssertEqual(c.connectionsOpened, c.handlesMade, "no connection opened again: each handle kept its own")
    }

    func testErrorDescriptions() {
        XCTAssertEqual("\(CurlHTTPError.schemeNotAllowed(url: "http://x/"))", "URL scheme not allowed: http://x/")
        XCTAssertEqual("\(CurlHTTPError.responseTooLarge(url: "https://x/", limit: 5))", "response from https://x/ exceeds the limit of 5 bytes")
        XCTAssertTrue("\(CurlHTTPError.transport(url: "https://x/", code: 28, message: "timed out: t"))".contains("curl error 28"))
    }
}
