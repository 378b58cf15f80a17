@testable import CertAgent
import CurlHTTP
import Foundation
import Synchronization
import TestSupport
import XCTest

/// A web server per address, scripted: answers each GET from what the test says, and records every request.
private final class ScriptedProbeTransport: ProbeTransport, Sendable {
    struct Request: Equatable {
        let url: String
        let connectTo: [String]
        let verifyPeer: Bool
    }

    private let requests = Mutex<[Request]>([])
    private let answer: @Sendable (Request) throws -> ProbeAnswer

    init(answer: @escaping @Sendable (Request) throws -> ProbeAnswer) { self.answer = answer }

    var received: [Request] { requests.withLock { $0 } }

    func get(_ url: String, connectTo: [String], verifyPeer: Bool) throws -> ProbeAnswer {
        let request = Request(url: url, connectTo: connectTo, verifyPeer: verifyPeer)
        requests.withLock { $0.append(request) }
        return try answer(request)
    }

    /// What a web server serving `webroot` answers for `url`: the file, or 404.
    static func serve(_ webroot: String, _ url: String) -> ProbeAnswer {
        let path = URL(string: url)!.path
        guard let data = FileManager.default.contents(atPath: webroot + path) else { return ProbeAnswer(status: 404, body: [], location: nil) }
        return ProbeAnswer(status: 200, body: Array(data), location: nil)
    }
}

final class HTTP01PreflightTests: XCTestCase {
    private static let name = "www.example.test"

    private func setUp(_ temp: TemporaryDirectory) throws -> (CertificateConfig, webroot: String, journal: String) {
        let webroot = try temp.make("public_html")
        let certificate = CertificateConfig(name: "site", domains: [Self.name], webroots: [Self.name: webroot], keyType: .ec256)
        return (certificate, webroot, temp.path("store-journal"))
    }

    private func assertNothingLeft(_ webroot: String, journal: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(FileManager.default.fileExists(atPath: webroot + "/.well-known"), "probe file and the directories made for it removed", file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: journal), "the journal is cleared", file: file, line: line)
    }

    func testEachAddressIsFetchedThroughThatAddressAndTheFailingOneIsNamed() throws {
        let temp = try TemporaryDirectory()
        let (certificate, webroot, journal) = try setUp(temp)
        let transport = ScriptedProbeTransport { request in
            // The IPv6 server block serves another root: 404.
            if request.connectTo.first?.contains("[::1]") == true { return ProbeAnswer(status: 404, body: [], location: nil) }
            return ScriptedProbeTransport.serve(webroot, request.url)
        }
        let preflight = HTTP01Preflight(transport: transport, resolve: { _ in
            [ResolvedAddress(family: .ipv4, address: "127.0.0.1"), ResolvedAddress(family: .ipv6, address: "::1")]
        })
        let report = try preflight.check(certificate, journal: journal)
        XCTAssertEqual(report.lines, [
            "✓ www.example.test A 127.0.0.1 served the probe file from \(webroot)",
            "✗ www.example.test AAAA ::1 answered 404 — the IPv6 server block does not serve \(webroot)",
        ])
        XCTAssertFalse(report.passed)
        let requests = transport.received
        XCTAssertEqual(requests.count, 2)
        XCTAssertEqual(requests.map { $0.connectTo.first }, ["www.example.test:80:127.0.0.1:80", "www.example.test:80:[::1]:80"])
        let url = requests[0].url
        XCTAssertTrue(url.hasPrefix("http://www.example.test/.well-known/acme-challenge/"), url)
        XCTAssertEqual(url.split(separator: "/").last?.count, 32, "a random probe name")
        XCTAssertNotEqual(requests[0].url, requests[1].url, "a fresh probe per address")
        assertNothingLeft(webroot, journal: journal)
    }

    func testAnotherPortMovesTheNamesPort80AndEveryOtherHostsToo() throws {
        let temp = try TemporaryDirectory()
        let (certificate, webroot, journal) = try setUp(temp)
        let transport = ScriptedProbeTransport { ScriptedProbeTransport.serve(webroot, $0.url) }
        let preflight = HTTP01Preflight(port: 5002, transport: transport, resolve: { _ in [ResolvedAddress(family: .ipv4, address: "127.0.0.1")] })
        XCTAssertTrue(try preflight.check(certificate, journal: journal).passed)
        XCTAssertEqual(transport.received.first?.connectTo, ["www.example.test:80:127.0.0.1:5002", "www.example.test:5002:127.0.0.1:5002",
                                                             "www.example.test:443:127.0.0.1:443", ":80::5002"])
    }

    func testTheProbeIsRemovedWhenTheRequestFails() throws {
        let temp = try TemporaryDirectory()
        let (certificate, webroot, journal) = try setUp(temp)
        let sawProbe = Mutex(false)
        let transport = ScriptedProbeTransport { request in
            let path = webroot + URL(string: request.url)!.path
            sawProbe.withLock { $0 = FileManager.default.fileExists(atPath: path) && FileManager.default.fileExists(atPath: journal) }
            throw CurlHTTPError.transport(url: request.url, code: 7, message: "connection failed: Failed to connect (Connection refused)")
        }
        let preflight = HTTP01Preflight(transport: transport, resolve: { _ in [ResolvedAddress(family: .ipv4, address: "127.0.0.1")] })
        let report = try preflight.check(certificate, journal: journal)
        XCTAssertTrue(sawProbe.withLock { $0 }, "the probe file was in place, journaled, while fetched")
        XCTAssertEqual(report.failureLines, ["www.example.test A 127.0.0.1: port 80 refused the connection — no web server listens there on IPv4, or a firewall rejects it"])
        assertNothingLeft(webroot, journal: journal)
    }

    func testAStopAbortsTheCheckAndStillRemovesTheProbe() throws {
        let temp = try TemporaryDirectory()
        let (certificate, webroot, journal) = try setUp(temp)
        let clock = StoppableClock()
        let transport = ScriptedProbeTransport { request in
            clock.stop()   // Ctrl-C while the request is in flight: libcurl answers "cancelled"
            throw CurlHTTPError.cancelled(url: request.url)
        }
        let preflight = HTTP01Preflight(transport: transport, resolve: { _ in
            [ResolvedAddress(family: .ipv4, address: "127.0.0.1"), ResolvedAddress(family: .ipv6, address: "::1")]
        }, isStopped: { clock.isStopped })
        XCTAssertThrowsError(try preflight.check(certificate, journal: journal)) { XCTAssertTrue($0 is PreflightInterrupted, "\($0)") }
        XCTAssertEqual(transport.received.count, 1, "nothing more is fetched after the stop")
        assertNothingLeft(webroot, journal: journal)
    }

    func testRedirectsAreFollowedAsTheCAFollowsThem() throws {
        let temp = try TemporaryDirectory()
        let (certificate, webroot, journal) = try setUp(temp)
        let resolve: @Sendable (String) throws -> [ResolvedAddress] = { _ in [ResolvedAddress(family: .ipv4, address: "127.0.0.1")] }

        // http → https with an untrusted certificate: asked again without checking it, served, and said so.
        let toHTTPS = ScriptedProbeTransport { request in
            if request.url.hasPrefix("http:") {
                return ProbeAnswer(status: 301, body: [], location: request.url.replacing("http:", with: "https:"))
            }
            if request.verifyPeer {
                throw CurlHTTPError.transport(url: request.url, code: 60, message: "TLS certificate verification failed: self-signed certificate")
            }
            return ScriptedProbeTransport.serve(webroot, request.url)
        }
        let served = try HTTP01Preflight(transport: toHTTPS, resolve: resolve).check(certificate, journal: journal)
        XCTAssertTrue(served.passed, "\(served.lines)")
        XCTAssertEqual(toHTTPS.received.map(\.verifyPeer), [false, true, false])
        XCTAssertTrue(served.lines[0].contains("redirected to https with a certificate error (TLS certificate verification failed: self-signed certificate), which Let's Encrypt accepts"),
                      served.lines[0])

        // A port the CA never connects to: not followed.
        let toOtherPort = ScriptedProbeTransport { _ in ProbeAnswer(status: 302, body: [], location: "https://www.example.test:8443/x") }
        let refused = try HTTP01Preflight(transport: toOtherPort, resolve: resolve).check(certificate, journal: journal)
        XCTAssertEqual(refused.failureLines, ["www.example.test A 127.0.0.1 redirected to https://www.example.test:8443/x, which the CA does not follow (only http on port 80 and https on port 443)"])
        XCTAssertEqual(toOtherPort.received.count, 1)

        // A loop: 10 redirects followed, then given up.
        let loop = ScriptedProbeTransport { request in ProbeAnswer(status: 302, body: [], location: "/loop/\(request.url.count)") }
        let looped = try HTTP01Preflight(transport: loop, resolve: resolve).check(certificate, journal: journal)
        XCTAssertEqual(looped.failureLines, ["www.example.test A 127.0.0.1 redirected more than 10 times, more than the CA follows"])
        XCTAssertEqual(loop.received.count, 11)
        assertNothingLeft(webroot, journal: journal)
    }

    func testANameWithoutAddressIsNotProbed() throws {
        let temp = try TemporaryDirectory()
        let (certificate, webroot, journal) = try setUp(temp)
        let transport = ScriptedProbeTransport { _ in XCTFail("nothing to fetch"); return ProbeAnswer(status: 500, body: [], location: nil) }
        let report = try HTTP01Preflight(transport: transport, resolve: { _ in [] }).check(certificate, journal: journal)
        XCTAssertEqual(report.failureLines, ["www.example.test: no A or AAAA record — the CA cannot reach it; publish the name in DNS first"])
        assertNothingLeft(webroot, journal: journal)
    }

    func testTheSystemResolverIsAskedPerFamily() throws {
        XCTAssertEqual(try AddressLookup.addresses(of: "127.0.0.1", family: .ipv4), ["127.0.0.1"])
        XCTAssertEqual(try AddressLookup.addresses(of: "::1", family: .ipv6), ["::1"])
        XCTAssertEqual(try AddressLookup.addresses(of: "::1", family: .ipv4), [], "an IPv6 address has no A record")
        XCTAssertEqual(try AddressLookup.addresses(of: "::1"), [ResolvedAddress(family: .ipv6, address: "::1")])
    }

    /// An IP address entry (RFC 8738) is fetched as the CA fetches it: `http://<address>/…`, IPv6 in brackets, from
    /// that address, with no lookup at all; its lines say the address once.
    func testAnAddressEntryIsProbedAtItselfWithoutALookup() throws {
        let temp = try TemporaryDirectory()
        let webroot = try temp.make("public_html")
        let certificate = CertificateConfig(name: "site", domains: ["127.0.0.1", "::1"], webroots: ["127.0.0.1": webroot, "::1": webroot], keyType: .ec256)
        let transport = ScriptedProbeTransport { request in
            if request.url.hasPrefix("http://[::1]/") { return ProbeAnswer(status: 404, body: [], location: nil) }
            return ScriptedProbeTransport.serve(webroot, request.url)
        }
        let looked = Mutex<[String]>([])
        let preflight = HTTP01Preflight(port: 5002, transport: transport, resolve: { name in
            looked.withLock { $0.append(name) }
            return []
        })
        let report = try preflight.check(certificate, journal: temp.path("journal"))
        XCTAssertEqual(looked.withLock { $0 }, [], "an address is not looked up")
        XCTAssertEqual(report.lines, [
            "✓ 127.0.0.1 (IPv4) served the probe file from \(webroot)",
            "✗ ::1 (IPv6) answered 404 — the server block answering requests for the address itself (the default one) does not serve \(webroot)",
        ])
        let requests = transport.received
        XCTAssertTrue(requests[0].url.hasPrefix("http://127.0.0.1/.well-known/acme-challenge/"), requests[0].url)
        XCTAssertTrue(requests[1].url.hasPrefix("http://[::1]/.well-known/acme-challenge/"), requests[1].url)
        XCTAssertEqual(requests[1].connectTo, ["[::1]:80:[::1]:5002", "[::1]:5002:[::1]:5002", "[::1]:443:[::1]:443", ":80::5002"])
        assertNothingLeft(webroot, journal: temp.path("journal"))
    }
}
