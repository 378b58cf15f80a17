import ACME
@testable import CertAgent
import Foundation
import TestSupport
import XCTest

/// Which CA an attempt goes to (`CertificateAuthorityFallback`): a pure function of the renewal record, the cap on
/// waits and the time, driven here by a manual clock.
final class CertificateAuthorityFallbackTests: XCTestCase {
    private let primary = "https://primary.example/dir"
    private let second = "https://second.example/dir"
    private let third = "https://third.example/dir"
    private var authorities: [String] { [primary, second, third] }
    private let day: TimeInterval = 86_400

    /// The cap for a certificate whose latest safe renewal time is `latest`.
    private func cap(_ latest: Date) -> RetryAfterCap { RetryAfterCap(latest: latest, reason: "test") }

    /// `record` after a failed attempt at `authority` at the clock's time, as `RenewalService` records it.
    private func failing(_ record: RenewalRecord, at authority: String, retryAfter: Date? = nil, clock: ManualClock,
                         limit: Int = 3, latest: Date? = nil) -> (RenewalRecord, CertificateAuthorityFallback.Choice) {
        CertificateAuthorityFallback.recordingFailure("boom", at: authority, retryAfter: retryAfter, in: record, authorities: authorities,
                                                      fallbackAfterFailures: limit, retryAfterCap: cap(latest ?? clock.now().addingTimeInterval(20 * day)),
                                                      now: clock.now())
    }

    func testNoFailureMeansThePrimary() {
        let clock = ManualClock()
        let choice = CertificateAuthorityFallback.choose(authorities: authorities, record: RenewalRecord(), fallbackAfterFailures: 3,
                                                         retryAfterCap: cap(clock.now().addingTimeInterval(day)), now: clock.now())
        XCTAssertEqual(choice, .init(index: 0, directoryURL: primary, reason: .primary))
    }

    func testMovesOnAfterTheConfiguredNumberOfConsecutiveFailuresThenStartsOverAtThePrimary() {
        let clock = ManualClock()
        var record = RenewalRecord()
        var choices: [CertificateAuthorityFallback.Choice] = []
        var attempted: [String] = []
        var next = CertificateAuthorityFallback.Choice(index: 0, directoryURL: primary, reason: .primary)
        for _ in 1...7 {
            attempted.append(next.directoryURL)
            (record, next) = failing(record, at: next.directoryURL, clock: clock, limit: 2)
            choices.append(next)
            clock.advance(by: 600)
        }
        XCTAssertEqual(attempted, [primary, primary, second, second, third, third, primary],
                       "two failures at each CA in turn, then the primary again")
        XCTAssertEqual(choices[0].reason, .sameAsLastAttempt(failures: 1))
        XCTAssertEqual(choices[1].reason, .afterFailures(previous: primary, failures: 2))
        XCTAssertEqual(choices[5], .init(index: 0, directoryURL: primary, reason: .afterFailures(previous: third, failures: 2)))
        XCTAssertEqual(record.failures, 7, "the backoff still counts every failure since the last success")
        XCTAssertEqual(record.failuresAtAuthority, 1)
        XCTAssertEqual(record.failedAuthority, primary)
    }

    func testASuccessSendsTheNextRenewalToThePrimaryAgain() {
        let clock = ManualClock()
        var (record, next) = failing(RenewalRecord(), at: primary, clock: clock, limit: 1)
        XCTAssertEqual(next.directoryURL, second)
        record.recordSuccess(at: clock.now())
        clock.advance(by: 30 * day)
        let choice = CertificateAuthorityFallback.choose(authorities: authorities, record: record, fallbackAfterFailures: 1,
                                                         retryAfterCap: cap(clock.now().addingTimeInterval(day)), now: clock.now())
        XCTAssertEqual(choice, .init(index: 0, directoryURL: primary, reason: .primary))
        XCTAssertNil(record.failedAuthority)
    }

    func testRetryAfterPastTheCertificatesLatestRenewalMovesOnAtOnceAndHoldsNothingBack() throws {
        let clock = ManualClock()
        let latest = clock.now().addingTimeInterval(2 * day)
        let asked = clock.now().addingTimeInterval(3 * day)
        let (record, next) = failing(RenewalRecord(), at: primary, retryAfter: asked, clock: clock, latest: latest)
        XCTAssertEqual(next, .init(index: 1, directoryURL: second, reason: .retryAfterTooLate(previous: primary, until: asked, latest: latest)))
        XCTAssertEqual(record.authorityRetryAfter, asked, "what the CA asked is kept")
        XCTAssertNil(record.retryAfter, "the primary's wait does not hold back the attempt at the second CA")
        let nextAttempt = try XCTUnwrap(FailureBackoff.nextAttempt(for: record, now: clock.now()))
        XCTAssertEqual(nextAttempt, clock.now().addingTimeInterval(FailureBackoff.delay(afterFailures: 1)), "only the backoff paces it")
    }

    func testRetryAfterTheCertificateCanWaitForStaysAndIsHonoured() {
        let clock = ManualClock()
        let asked = clock.now().addingTimeInterval(3_600)
        let (record, next) = failing(RenewalRecord(), at: primary, retryAfter: asked, clock: clock,
                                     latest: clock.now().addingTimeInterval(2 * day))
        XCTAssertEqual(next, .init(index: 0, directoryURL: primary, reason: .sameAsLastAttempt(failures: 1)))
        XCTAssertEqual(record.retryAfter, asked, "the same CA's wait is honoured")
    }

    func testARetryAfterThatHasPassedNoLongerCounts() {
        let clock = ManualClock()
        let latest = clock.now().addingTimeInterval(600)
        let (record, next) = failing(RenewalRecord(), at: primary, retryAfter: clock.now().addingTimeInterval(3_600), clock: clock, latest: latest)
        XCTAssertEqual(next.directoryURL, second, "an hour is past what the certificate can wait")
        clock.advance(by: 7_200)
        let choice = CertificateAuthorityFallback.choose(authorities: authorities, record: record, fallbackAfterFailures: 3,
                                                         retryAfterCap: cap(latest), now: clock.now())
        XCTAssertEqual(choice, .init(index: 0, directoryURL: primary, reason: .sameAsLastAttempt(failures: 1)))
    }

    func testWithoutACertificateAWaitBeyondADayMovesOn() {
        let clock = ManualClock()
        let policy = RenewalPolicy()
        let asked = clock.now().addingTimeInterval(2 * day)
        let result = CertificateAuthorityFallback.recordingFailure(
            "rateLimited", at: primary, retryAfter: asked, in: RenewalRecord(), authorities: authorities, fallbackAfterFailures: 3,
            retryAfterCap: policy.retryAfterCap(for: .missing, failedAt: clock.now()), now: clock.now())
        XCTAssertEqual(result.next.directoryURL, second, "no certificate: a day is the most worth waiting")
    }

    func testOneCAAlwaysGetsTheAttempt() {
        let clock = ManualClock()
        var record = RenewalRecord()
        record.recordFailure("x", at: clock.now())
        record.recordFailure(atAuthority: primary, retryAfter: clock.now().addingTimeInterval(100 * day))
        let choice = CertificateAuthorityFallback.choose(authorities: [primary], record: record, fallbackAfterFailures: 1,
                                                         retryAfterCap: cap(clock.now()), now: clock.now())
        XCTAssertEqual(choice, .init(index: 0, directoryURL: primary, reason: .primary))
    }

    func testARecordNamingACANoLongerConfiguredStartsOverAtThePrimary() {
        let clock = ManualClock()
        var record = RenewalRecord()
        record.recordFailure("x", at: clock.now())
        record.recordFailure(atAuthority: "https://removed.example/dir", retryAfter: nil)
        let choice = CertificateAuthorityFallback.choose(authorities: authorities, record: record, fallbackAfterFailures: 1,
                                                         retryAfterCap: cap(clock.now()), now: clock.now())
        XCTAssertEqual(choice.index, 0)
    }

    func testTheRecordKeepsTheCountsAcrossARestart() throws {
        let clock = ManualClock()
        let (record, _) = failing(RenewalRecord(), at: second, retryAfter: clock.now().addingTimeInterval(60), clock: clock)
        let decoded = try JSONDecoder().decode(RenewalRecord.self, from: JSONEncoder().encode(record))
        XCTAssertEqual(decoded, record)
        let old = try JSONDecoder().decode(RenewalRecord.self, from: Data(#"{"formatVersion": 1, "failures": 2}"#.utf8))
        XCTAssertNil(old.failedAuthority, "a record written before these fields reads as no CA known: the primary")
    }

    func testAFailureThatSaysNothingAboutTheCAIsBackedOffButDoesNotMoveOn() {
        let clock = ManualClock()
        let (record, next) = CertificateAuthorityFallback.recordingFailure(
            "validation failed", at: primary, retryAfter: nil, in: RenewalRecord(), authorities: authorities, fallbackAfterFailures: 1,
            retryAfterCap: cap(clock.now().addingTimeInterval(day)), now: clock.now(), blamesCA: false)
        XCTAssertEqual(next, .init(index: 0, directoryURL: primary, reason: .primary))
        XCTAssertEqual(record.failures, 1, "counted for the backoff")
        XCTAssertNil(record.failedAuthority)
    }

    func testWhichFailuresCountAgainstTheCA() {
        let validation = HTTP01ValidationFailure(domain: "a.example", webroot: "/var/www/a", tokenFile: nil,
                                                 problem: ACMEProblem(type: "urn:ietf:params:acme:error:unauthorized"))
        XCTAssertFalse(CertificateAuthorityFallback.blamesCertificateAuthority(IssuanceError(name: "a", underlying: validation)))
        let authorization = ACMEError.authorizationFailed(identifier: ACMEIdentifier(type: "ip", value: "127.0.0.1"), problem: nil)
        XCTAssertFalse(CertificateAuthorityFallback.blamesCertificateAuthority(IssuanceError(name: "a", underlying: authorization)))
        let rateLimited = ACMEError.problem(ACMEProblem(type: "urn:ietf:params:acme:error:rateLimited"), url: primary, retryAfter: nil)
        XCTAssertTrue(CertificateAuthorityFallback.blamesCertificateAuthority(IssuanceError(name: "a", underlying: rateLimited)))
        XCTAssertTrue(CertificateAuthorityFallback.blamesCertificateAuthority(ACMEError.unexpectedResponse(url: primary, status: 502, detail: "bad gateway")))
        XCTAssertTrue(CertificateAuthorityFallback.blamesCertificateAuthority(URLError(.cannotConnectToHost)), "a CA that cannot be reached")
    }
}
