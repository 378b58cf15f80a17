import ACME
@testable import CertAgent
import Foundation
import TestSupport
import XCTest

/// The words an admin reads: one time format, what happens next, why a renewal is held back, what a failed HTTP-01
/// check means, `status --json` for machines, and init's errors naming its own flags.
final class TruthfulMessagesTests: XCTestCase {
    /// 2026-12-01 14:20:07 UTC.
    private let moment = Date(timeIntervalSince1970: 1_796_134_807)

    func testOneTimeFormatForPeopleAndRFC3339ForMachines() {
        XCTAssertEqual(TimeText.human(moment), "2026-12-01 14:20 UTC")
        XCTAssertEqual(TimeText.human(moment, seconds: true), "2026-12-01 14:20:07 UTC")
        XCTAssertEqual(TimeText.rfc3339(moment), "2026-12-01T14:20:07Z")
        XCTAssertEqual(TimeText.human(Date(timeIntervalSince1970: 1_835_395_200)), "2028-02-29 00:00 UTC", "a leap day")
        XCTAssertEqual(TimeText.rfc3339(Date(timeIntervalSince1970: -1)), "1969-12-31T23:59:59Z")
        // Checked against Foundation's own ISO 8601 formatting, over four centuries.
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let date = Date(timeIntervalSince1970: Double(Int64.random(in: 0...13_000_000_000, using: &generator)))
            XCTAssertEqual(TimeText.rfc3339(date), date.formatted(.iso8601), "\(date.timeIntervalSince1970)")
        }
        XCTAssertEqual(CertificateStatus.format(moment), "2026-12-01 14:20 UTC", "status uses the same")
    }

    func testNoMessageMixesInFoundationsDateFormat() throws {
        let action = RenewalAction.renewAt(moment, .lifetimeThreshold)
        XCTAssertEqual(action.description, "renew at 2026-12-01 14:20 UTC: its renewal point: a third of its lifetime left, half for lifetimes of 10 days or less")
        XCTAssertEqual(RenewalAction.checkRenewalInfo(at: moment).description, "check renewal information at 2026-12-01 14:20 UTC")
        XCTAssertEqual(RenewalWindow(start: moment, end: moment.addingTimeInterval(3_600)).description, "2026-12-01 14:20 UTC – 2026-12-01 15:20 UTC")
        let problem = ACMEProblem(type: "urn:ietf:params:acme:error:rateLimited", detail: "slow down")
        XCTAssertTrue(ACMEError.problem(problem, url: "https://ca.test/new-order", retryAfter: moment).description
            .hasSuffix("(retry after 2026-12-01 14:20 UTC)"))
        let leaf = try RenewalFixtures.selfSignedLeaf()
        XCTAssertEqual(StoredCertificateState.valid(leaf: leaf, chain: [leaf]).description, "valid until \(TimeText.human(leaf.notAfter))")
        XCTAssertFalse(StoredCertificateState.expired(leaf: leaf).description.contains("+0000"))
    }

    func testTheRenewalPointIsNotSaidToBeReachedBeforeItIs() {
        XCTAssertEqual(RenewalReason.lifetimeThreshold.description,
                       "it has reached its renewal point (a third of its lifetime left, half for lifetimes of 10 days or less)")
        XCTAssertFalse(RenewalReason.lifetimeThreshold.upcoming.contains("reached"))
        XCTAssertEqual(RenewalReason.inWindow.upcoming, "a time inside the CA's suggested renewal window (ARI)")
        let step = NextStep(action: .renewAt, at: moment, reason: .lifetimeThreshold)
        XCTAssertEqual(step.text, "renews at 2026-12-01 14:20 UTC (its renewal point: a third of its lifetime left, half for lifetimes of 10 days or less)")
        XCTAssertFalse(step.text.contains("lifetimeThreshold"), "no internal names")
        XCTAssertEqual(NextStep(action: .renewNow, at: nil, reason: .missing).text, "gets its first certificate now")
        XCTAssertEqual(NextStep(action: .checkRenewalInfo, at: moment, reason: nil).text,
                       "checks the CA's renewal information (ARI) at 2026-12-01 14:20 UTC")
    }

    func testAHeldBackRenewalSaysAfterHowManyFailuresAndUntilWhen() {
        var record = RenewalRecord()
        record.recordFailure("connection refused", retryAfter: nil, at: moment.addingTimeInterval(-60))
        record.recordFailure("connection refused", retryAfter: nil, at: moment.addingTimeInterval(-30))
        record.recordFailure("connection refused", retryAfter: nil, at: moment)
        let decision = RenewalPolicy().decide(state: .missing, record: record, ariSupported: false, now: moment,
                                              random: SystemRandomSource())
        let step = NextStep(decision)
        XCTAssertEqual(step.action, .retryAt)
        XCTAssertEqual(step.failures, 3)
        let until = moment.addingTimeInterval(FailureBackoff.delay(afterFailures: 3))
        XCTAssertEqual(step.heldBack, "held back after 3 failures until \(TimeText.human(until))")
        XCTAssertEqual(step.text, "retries at \(TimeText.human(until)) (held back after 3 failures until \(TimeText.human(until)): no certificate yet)")
        let handMade = RenewalDecision(action: .renewAt(moment, .expired), wakeAt: moment, heldBackByFailures: true, record: record)
        XCTAssertEqual(NextStep(handMade).heldBack, "held back after 3 failures until 2026-12-01 14:20 UTC")
    }

    func testAFirstIssuanceIsNotLoggedAsAForcedRenewal() throws {
        XCTAssertEqual(RenewalService.startLine(reason: .forced, state: .missing), "issuing the first certificate (asked for now)")
        XCTAssertEqual(RenewalService.startLine(reason: .missing, state: .missing), "issuing the first certificate")
        let leaf = try RenewalFixtures.selfSignedLeaf()
        XCTAssertEqual(RenewalService.startLine(reason: .forced, state: .valid(leaf: leaf, chain: [leaf])),
                       "renewing: the admin asked for a renewal now")
    }

    func testAFailedHTTP01CheckSaysWhereWhatAndWhy() {
        let hostile = "Invalid response from http://shop.example/.well-known/acme-challenge/tok: 404\u{1b}[2J"
        let failure = HTTP01ValidationFailure(domain: "shop.example", webroot: "/var/www/shop",
                                              tokenFile: "/var/www/shop/.well-known/acme-challenge/tok",
                                              problem: ACMEProblem(type: "urn:ietf:params:acme:error:unauthorized", detail: hostile))
        let text = failure.description
        XCTAssertTrue(text.hasPrefix("shop.example did not pass the CA's HTTP-01 check\n"), text)
        XCTAssertTrue(text.contains("\n  the token was written to /var/www/shop/.well-known/acme-challenge/tok\n"), text)
        XCTAssertTrue(text.contains("\n  the CA fetched http://shop.example/.well-known/acme-challenge/tok\n"), text)
        XCTAssertTrue(text.contains("\n  and got: unauthorized: Invalid response from http://shop.example/.well-known/acme-challenge/tok: 404\\x1b[2J"), text)
        XCTAssertFalse(text.contains("\u{1b}"), "the CA's words are escaped")
        XCTAssertTrue(text.contains("usual causes: the web server's site for shop.example does not serve /var/www/shop at /.well-known/acme-challenge/"), text)
        for cause in ["a redirect to another host, or to https", "an AAAA record", "IPv6", "a firewall closing port 80"] {
            XCTAssertTrue(text.contains(cause), cause)
        }
        XCTAssertTrue(text.contains("curl -4 http://shop.example/.well-known/acme-challenge/check; curl -6 "), text)
        // A refusal by policy (CAA) is not about the webroot: no guessed causes.
        let caa = HTTP01ValidationFailure(domain: "shop.example", webroot: "/var/www/shop", tokenFile: nil,
                                          problem: ACMEProblem(type: "urn:ietf:params:acme:error:caa", detail: "CAA record forbids issuance"))
        XCTAssertEqual(caa.description, "shop.example did not pass the CA's HTTP-01 check\n  and got: caa: CAA record forbids issuance")
    }

    func testAFailedAuthorizationIsExplainedWithTheTokenFile() throws {
        let temp = try TemporaryDirectory()
        let webroot = try temp.make("www")
        let certificate = try XCTUnwrap(try ConfigLoader.parse(Data("""
            {"storage": "\(temp.path("store"))", "certificates": [{"name": "shop", "domains": ["shop.test"], "webroot": "\(webroot)"}]}
            """.utf8), path: temp.path("config.json")).certificates.first)
        let solver = WebrootSolver(webroots: certificate.webroots)
        try solver.present(domain: "shop.test", token: "abc_DEF-1", keyAuthorization: "abc_DEF-1.thumb")
        solver.cleanUp(domain: "shop.test", token: "abc_DEF-1")
        let error = ACMEError.authorizationFailed(identifier: .dns("SHOP.test"), problem: ACMEProblem(type: "urn:ietf:params:acme:error:connection"))
        let explained = try XCTUnwrap(CertificateIssuer.explained(error, certificate: certificate, solver: solver) as? HTTP01ValidationFailure)
        XCTAssertEqual(explained.domain, "shop.test")
        XCTAssertEqual(explained.tokenFile, webroot + "/.well-known/acme-challenge/abc_DEF-1")
        XCTAssertEqual(explained.url, "http://shop.test/.well-known/acme-challenge/abc_DEF-1")
        XCTAssertTrue(CertificateIssuer.explained(ACMEError.invalidToken("x y"), certificate: certificate, solver: solver) is ACMEError,
                      "other errors stay as they are")
    }

    func testStatusJSONHasStableValuesRFC3339TimesAndUnescapedSlashes() throws {
        let temp = try TemporaryDirectory()
        let webroot = try temp.make("www")
        let store = try CertificateStore(root: temp.path("store"), webroots: [webroot])
        let config = try ConfigLoader.parse(Data("""
            {"storage": "\(store.root)", "certificates": [{"name": "shop", "domains": ["shop.test"], "webroot": "\(webroot)"}]}
            """.utf8), path: temp.path("config.json"))
        var report = CertificateStatus(certificate: config.certificates[0], store: store, now: moment)
        XCTAssertEqual(report.state, .missing)
        XCTAssertEqual(report.summary, "no certificate yet")
        XCTAssertEqual(report.nextAction, .renewNow)
        XCTAssertEqual(report.nextActionReason, .missing)
        XCTAssertEqual(report.next, "gets its first certificate now")
        report.notAfter = moment
        report.fullChain = "/var/lib/certagent/certificates/shop/current/fullchain.pem"
        let json = try StatusJSON.encode([report])
        XCTAssertTrue(json.contains(#""notAfter" : "2026-12-01T14:20:07Z""#), json)
        XCTAssertTrue(json.contains(#""fullChain" : "/var/lib/certagent/certificates/shop/current/fullchain.pem""#), json)
        XCTAssertFalse(json.contains(#"\/"#), json)
        XCTAssertTrue(json.contains(#""state" : "missing""#), json)
        XCTAssertTrue(json.contains(#""nextAction" : "renewNow""#), json)
        XCTAssertTrue(json.contains(#""summary" : "no certificate yet""#), json)
        // The documented values, and nothing else.
        XCTAssertEqual(CertificateState.allCases.map(\.rawValue),
                       ["valid", "missing", "unreadable", "keyMismatch", "namesMissing", "expired", "revoked", "notConfigured"])
        XCTAssertEqual(NextAction.allCases.map(\.rawValue), ["renewNow", "renewAt", "retryAt", "checkRenewalInfo", "none"])
        XCTAssertFalse(report.text.contains("(missing)"), "no internal names in the text: \(report.text)")
    }

    func testInitNamesItsOwnFlags() {
        XCTAssertEqual(InitArguments.domainProblem("https://example.com/"), "--domain https://example.com/: give a name, not a URL (example.com)")
        XCTAssertEqual(InitArguments.domainProblem("example.com/shop"), "--domain example.com/shop: give a name, not a URL (example.com)")
        XCTAssertNil(InitArguments.domainProblem("192.0.2.1"))
        XCTAssertNil(InitArguments.domainProblem("2001:db8::1"))
        XCTAssertEqual(InitArguments.domainProblem("2001:db8:0:0::1"), "--domain 2001:db8:0:0::1: is not written in canonical form (RFC 5952 for IPv6): write 2001:db8::1")
        XCTAssertNil(InitArguments.domainProblem("Example.com"))
        XCTAssertNil(InitArguments.nameProblem("shop"))
        XCTAssertTrue(InitArguments.nameProblem("a b")?.hasPrefix("--name a b: must be 1–64 characters") == true)
        XCTAssertEqual(DomainName.problem(with: "http://example.com"), "is a URL, not a name: write example.com")
        XCTAssertNil(DomainName.host(inURL: "example.com"))
        XCTAssertNil(DomainName.host(inURL: "::1"))
    }
}
