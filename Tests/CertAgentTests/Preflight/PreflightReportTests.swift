@testable import CertAgent
import Foundation
import XCTest

/// The words of the pre-flight report, one outcome at a time.
final class PreflightReportTests: XCTestCase {
    private let v4 = ResolvedAddress(family: .ipv4, address: "192.0.2.7")
    private let v6 = ResolvedAddress(family: .ipv6, address: "2001:db8::5")
    private let webroot = "/var/www/example"

    private func line(_ outcome: PreflightOutcome, address: ResolvedAddress? = nil, redirects: [String] = [],
                      certificateError: String? = nil) -> String {
        let result = PreflightAddressResult(name: "www.example.com", address: address ?? v6, outcome: outcome,
                                            redirects: redirects, certificateError: certificateError)
        return PreflightReport(certificate: "example", names: [PreflightNameResult(name: "www.example.com", webroot: webroot, addresses: [result])]).lines[0]
    }

    func testEachOutcomeIsWordedWithNameFamilyAndAddress() {
        XCTAssertEqual(line(.served), "✓ www.example.com AAAA 2001:db8::5 served the probe file from /var/www/example")
        XCTAssertEqual(line(.status(404)), "✗ www.example.com AAAA 2001:db8::5 answered 404 — the IPv6 server block does not serve /var/www/example")
        XCTAssertEqual(line(.status(404), address: v4), "✗ www.example.com A 192.0.2.7 answered 404 — the IPv4 server block does not serve /var/www/example")
        XCTAssertEqual(line(.status(403)), "✗ www.example.com AAAA 2001:db8::5 answered 403 instead of the probe file from /var/www/example")
        XCTAssertEqual(line(.otherContent, address: v4),
                       "✗ www.example.com A 192.0.2.7 answered 200 with other content — the IPv4 server block serves another directory than /var/www/example")
        XCTAssertEqual(line(.cannotConnect(port: 80, refused: true, detail: "Connection refused"), address: v4),
                       "✗ www.example.com A 192.0.2.7: port 80 refused the connection — no web server listens there on IPv4, or a firewall rejects it")
        XCTAssertEqual(line(.cannotConnect(port: 80, refused: false, detail: "No route to host")),
                       "✗ www.example.com AAAA 2001:db8::5: cannot connect to port 80: No route to host")
        XCTAssertEqual(line(.timedOut(port: 80)), "✗ www.example.com AAAA 2001:db8::5: port 80 timed out — a firewall may drop the connection")
        XCTAssertEqual(line(.noAnswer(port: 80)), "✗ www.example.com AAAA 2001:db8::5: port 80 closed the connection without an answer")
        XCTAssertEqual(line(.redirectNotFollowed(to: "https://www.example.com:8443/x")),
                       "✗ www.example.com AAAA 2001:db8::5 redirected to https://www.example.com:8443/x, which the CA does not follow (only http on port 80 and https on port 443)")
        XCTAssertEqual(line(.tooManyRedirects(limit: 10)), "✗ www.example.com AAAA 2001:db8::5 redirected more than 10 times, more than the CA follows")
        XCTAssertEqual(line(.tlsFailed(url: "https://www.example.com/x", detail: "handshake failure")),
                       "✗ www.example.com AAAA 2001:db8::5 redirected to https://www.example.com/x, whose TLS handshake failed: handshake failure")
    }

    func testRedirectsAndAnHTTPSCertificateErrorAreTold() {
        let served = line(.served, redirects: ["https://www.example.com/.well-known/acme-challenge/p"], certificateError: "self-signed certificate")
        XCTAssertEqual(served, "✓ www.example.com AAAA 2001:db8::5 served the probe file from /var/www/example"
            + " (after redirects to https://www.example.com/.well-known/acme-challenge/p); redirected to https with a certificate error"
            + " (self-signed certificate), which Let's Encrypt accepts: it does not check certificates on a redirect")
        XCTAssertTrue(served.hasPrefix("✓"), "a certificate error on a redirect target does not fail the check, as it does not fail the CA's")
    }

    func testNameProblems() {
        let report = PreflightReport(certificate: "example", names: [
            PreflightNameResult(name: "a.example.com", webroot: webroot, problem: .noAddress),
            PreflightNameResult(name: "b.example.com", webroot: webroot, problem: .lookupFailed("the A lookup of b.example.com failed: Temporary failure in name resolution")),
            PreflightNameResult(name: "c.example.com", webroot: nil, problem: .noWebroot),
        ])
        XCTAssertEqual(report.lines, [
            "✗ a.example.com: no A or AAAA record — the CA cannot reach it; publish the name in DNS first",
            "✗ b.example.com: DNS lookup failed: the A lookup of b.example.com failed: Temporary failure in name resolution",
            "✗ c.example.com: no webroot is configured for it",
        ])
        XCTAssertFalse(report.passed)
    }

    func testOneFailingAddressFailsTheNameAndTheFailureNamesOnlyIt() {
        let report = PreflightReport(certificate: "example", names: [PreflightNameResult(name: "www.example.com", webroot: webroot, addresses: [
            PreflightAddressResult(name: "www.example.com", address: v4, outcome: .served),
            PreflightAddressResult(name: "www.example.com", address: v6, outcome: .status(404)),
        ])])
        XCTAssertFalse(report.passed)
        XCTAssertEqual("\(PreflightFailure(report: report))",
                       "pre-flight check failed, nothing was ordered (this spares the CA's limit of 5 failed validations per name per hour; "
                       + "--skip-preflight orders anyway):\n  www.example.com AAAA 2001:db8::5 answered 404 — the IPv6 server block does not serve /var/www/example")
        XCTAssertTrue(PreflightReport(certificate: "example", names: [PreflightNameResult(name: "www.example.com", webroot: webroot, addresses: [
            PreflightAddressResult(name: "www.example.com", address: v4, outcome: .served)])]).passed)
    }

    func testProbePortComesFromTheTestOnlyVariableAndIsChecked() throws {
        XCTAssertEqual(try HTTP01Preflight.probePort(environment: [:]), 80)
        XCTAssertEqual(try HTTP01Preflight.probePort(environment: ["CERTAGENT_HTTP01_PORT": "5002"]), 5002)
        for bad in ["0", "65536", "http", "-1"] {
            XCTAssertThrowsError(try HTTP01Preflight.probePort(environment: ["CERTAGENT_HTTP01_PORT": bad])) { error in
                XCTAssertEqual("\(error)", "environment variable CERTAGENT_HTTP01_PORT: \"\(bad)\" is not a port number (1–65535)")
            }
        }
        XCTAssertNil(try HTTP01Preflight.forAgent(clock: StoppableClock(), skip: true, environment: [:]))
        XCTAssertNil(try HTTP01Preflight.forAgent(clock: StoppableClock(), skip: false, environment: ["CERTAGENT_SKIP_PREFLIGHT": "1"]))
        XCTAssertEqual(try HTTP01Preflight.forAgent(clock: StoppableClock(), skip: false, environment: ["CERTAGENT_HTTP01_PORT": "81"])?.port, 81)
    }
}
