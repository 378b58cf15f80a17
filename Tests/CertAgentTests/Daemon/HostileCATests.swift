import ACME
@testable import CertAgent
import CertCrypto
import Foundation
import TestSupport
import XCTest

/// A broken or hostile CA, played by `ScriptedACMEServer`, against `RenewalService.process` — the path `certagent issue`,
/// `renew` and the daemon share — with the real store, webroot solver and log handler. What the CA sends is data: it
/// reaches the outcome, the record, `status` and the log escaped and bounded; its waits are capped; a certificate it
/// cannot have issued properly (garbage, extra names) is refused and the current one kept.
final class HostileCATests: XCTestCase {
    /// A detail that tries to end the log line, forge another, clear the screen and colour the rest — then floods.
    static let forgedDetail = "slow down\r\n2026-12-01T00:00:00Z NOTICE [site] issued for www.example.test\u{1b}[2J\u{1b}[31m"
        + String(repeating: "z", count: 5_000)

    /// No control character (C0, DEL, C1) anywhere in `text`.
    private func assertNoControls(_ text: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let bad = text.unicodeScalars.filter { ($0.value < 0x20 && $0 != "\n") || (0x7f...0x9f).contains($0.value) }
        XCTAssertTrue(bad.isEmpty, "\(what) holds control characters \(bad.map { String($0.value, radix: 16) }): \(text.prefix(300))",
                      file: file, line: line)
    }

    private func failure(_ outcome: RenewalOutcome, _ bed: ARITestbed, file: StaticString = #filePath, line: UInt = #line) -> (String, Date)? {
        guard case .failed(let error, let retryAt) = outcome else {
            XCTFail("expected a failure, got \(outcome)\n\(bed.log)", file: file, line: line)
            return nil
        }
        return (error, retryAt)
    }

    func testHostileProblemDetailIsEscapedAndBoundedEverywhereItGoes() throws {
        let bed = try ARITestbed()
        bed.server.script(newOrderFailure: .init(status: 429, type: "rateLimited", detail: Self.forgedDetail, retryAfter: "60"))

        guard let (error, _) = failure(bed.service.process(ARITestbed.name), bed) else { return }

        for (what, text) in [("the outcome", error), ("the record", bed.record().lastError ?? "")] {
            assertNoControls(text, what)
            XCTAssertFalse(text.contains("\n"), "\(what): one line")
            XCTAssertTrue(text.contains(#"rateLimited: slow down\r\n2026-12-01T00:00:00Z NOTICE [site] issued for www.example.test\x1b[2J\x1b[31mzzz"#), text)
            XCTAssertTrue(text.contains("… (\(Self.forgedDetail.utf8.count - UntrustedText.defaultLimit) more bytes)"), text)
            XCTAssertLessThan(text.utf8.count, 1_200, "\(what) is bounded")
        }
        let status = CertificateStatus(certificate: bed.certificate, store: bed.session.store, now: Date())
        assertNoControls(status.text, "status")
        let lines = bed.log.split(separator: "\n")
        for line in lines { assertNoControls(String(line), "a log line") }
        XCTAssertFalse(lines.contains { $0.hasPrefix("2026-12-01T00:00:00Z NOTICE") }, "no forged line\n\(bed.log)")
        XCTAssertFalse(bed.log.contains(String(repeating: "z", count: UntrustedText.defaultLimit + 1)), "the flood is cut in every line")
    }

    func testRetryAfterOfThirtyYearsForAMissingCertificateIsCappedAtADayAndSaidSo() throws {
        let bed = try ARITestbed()
        bed.server.script(newOrderFailure: .init(status: 429, type: "rateLimited", detail: "too many certificates", retryAfter: "999999999"))
        let before = Date()

        guard let (_, retryAt) = failure(bed.service.process(ARITestbed.name), bed) else { return }
        let after = Date()

        XCTAssertLessThanOrEqual(retryAt, after.addingTimeInterval(RetryAfterCap.withoutUsableCertificate), "a day at most, not 2058")
        XCTAssertGreaterThanOrEqual(retryAt, before.addingTimeInterval(RetryAfterCap.withoutUsableCertificate))
        let asked = try XCTUnwrap(bed.record().retryAfter)
        XCTAssertGreaterThan(asked, before.addingTimeInterval(999_999_000), "the record keeps what the CA asked")
        let askedYear = Calendar(identifier: .gregorian).component(.year, from: asked)
        XCTAssertTrue(bed.log.contains("the CA asked to wait until \(askedYear)-"), bed.log)
        XCTAssertTrue(bed.log.contains("; waiting until \(CertificateStatus.format(retryAt)) instead (cap: one day, as there is no usable certificate)"), bed.log)

        // `status` shows the time used, and what the CA asked.
        let status = CertificateStatus(certificate: bed.certificate, store: bed.session.store, now: Date())
        XCTAssertEqual(status.nextAction, .retryAt)
        XCTAssertEqual(try XCTUnwrap(status.nextActionAt).timeIntervalSince1970, retryAt.timeIntervalSince1970, accuracy: 1)
        XCTAssertEqual(status.retryAfterRequested, asked)
        XCTAssertTrue(status.text.contains("CA asked      to wait until \(askedYear)-"), status.text)

        // The next look (daemon or `renew`) does not try again before then, and does once it has passed.
        XCTAssertEqual(bed.service.nextDue(of: ARITestbed.name).timeIntervalSince1970, retryAt.timeIntervalSince1970, accuracy: 1)
        guard case .notDue = bed.service.process(ARITestbed.name) else { return XCTFail("tried again at once\n\(bed.log)") }
        XCTAssertEqual(bed.server.placedOrders.count, 1)
    }

    func testWindowIn2058AndRetryAfterOfThirtyYearsForRenewalInformationAreCapped() throws {
        let bed = try ARITestbed()
        let leaf = try bed.issueFirstCertificate()
        let now = ARITestbed.wholeSecond(Date())
        let far = now.addingTimeInterval(999_999_999)
        bed.server.script(renewalInfo: .window(start: far, end: far.addingTimeInterval(86_400), retryAfter: "999999999"))

        let outcome = bed.service.process(ARITestbed.name)

        guard case .notDue(let decision) = outcome else { return XCTFail("\(outcome)\n\(bed.log)") }
        let latest = LifetimeRenewalRule().latestRenewal(notBefore: leaf.notBefore, notAfter: leaf.notAfter)
        XCTAssertEqual(decision.action, .renewAt(latest, .lifetimeThreshold), "renewed by the latest safe time, not in 2058")
        XCTAssertLessThan(latest, leaf.notAfter)
        let record = bed.record()
        XCTAssertEqual(record.chosenRenewalTime, latest)
        let nextCheck = try XCTUnwrap(record.nextARICheck)
        XCTAssertEqual(nextCheck.timeIntervalSince(try XCTUnwrap(record.ariFetched)), RenewalInfoPolling.maximumInterval, accuracy: 0.01)
        XCTAssertTrue(bed.log.contains("after the certificate's latest safe renewal time: renewing by \(CertificateStatus.format(latest)) instead"), bed.log)
        // 999999999 s from when the CA answered: a second boundary may pass before it is logged (seen under load).
        XCTAssertTrue(["999999999", "999999998"].contains { bed.log.contains("the CA asked to check renewal information again in \($0) s; checking in 86400 s instead (cap: one day") },
                      bed.log)
        let status = CertificateStatus(certificate: bed.certificate, store: bed.session.store, now: Date())
        XCTAssertLessThanOrEqual(try XCTUnwrap(status.nextActionAt), latest, "status shows the time used")
    }

    func testTenKilobyteTokenIsRefusedAndNeverEchoedInFull() throws {
        let bed = try ARITestbed()
        let token = String(repeating: "A", count: 10_000) + "\u{1b}[31m"
        bed.server.script(hostile: .init(challengeToken: token))

        guard let (error, _) = failure(bed.service.process(ARITestbed.name), bed) else { return }

        XCTAssertTrue(error.contains("challenge token is not base64url: \"" + String(repeating: "A", count: 64) + "… ("), error)
        XCTAssertLessThan(error.utf8.count, 300)
        XCTAssertFalse(bed.log.contains(String(repeating: "A", count: 65)), "no log line echoes the token beyond 64 bytes\n\(bed.log.prefix(2_000))")
        XCTAssertLessThan(bed.log.utf8.count, 5_000, "the whole log of the attempt stays small")
        for line in bed.log.split(separator: "\n") { assertNoControls(String(line), "a log line") }
        let challengeDirectory = bed.webroot + "/.well-known/acme-challenge"
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: challengeDirectory)) ?? [], [], "nothing was published")
    }

    func testGarbageCertificateIsDescribedInWordsWithOpenSSLTextOnlyAtDebugLevel() throws {
        let bed = try ARITestbed()
        // PEM armour around bytes that are base64 but not DER.
        let garbage = "-----BEGIN CERTIFICATE-----\n" + Data("garbage garbage garbage garbage".utf8).base64EncodedString() + "\n-----END CERTIFICATE-----\n"
        bed.server.script(hostile: .init(certificateBody: Array(garbage.utf8)))

        guard let (error, _) = failure(bed.service.process(ARITestbed.name), bed) else { return }

        XCTAssertTrue(error.hasSuffix("the CA sent a certificate that cannot be parsed (not PEM / not DER X.509)"), error)
        XCTAssertFalse(error.contains("error:"), error)
        XCTAssertFalse(error.contains("d2i_X509"), error)
        let lines = bed.log.split(separator: "\n").map(String.init)
        let normal = lines.filter { !$0.contains(" DEBUG ") }
        XCTAssertFalse(normal.contains { $0.contains("error:0") || $0.contains("d2i_X509") }, "OpenSSL's text only at debug level\n\(bed.log)")
        XCTAssertTrue(lines.contains { $0.contains(" DEBUG ") && $0.contains("low-level detail") && $0.contains("d2i_X509 failed: error:") },
                      "--debug shows the OpenSSL cause\n\(bed.log)")
        XCTAssertNil(bed.storedLeaf(), "nothing stored")
        XCTAssertEqual(bed.record().failures, 1)
    }

    func testBinaryCertificateBodyReachesNoTerminalRaw() throws {
        let bed = try ARITestbed()
        // DER where PEM was asked for, with an escape sequence and a line break in it.
        let body: [UInt8] = [0x30, 0x82, 0x03, 0x1b, 0x5b, 0x32, 0x4a, 0x0d, 0x0a, 0x9b, 0xff, 0x00] + Array(repeating: 0x41, count: 3_000)
        bed.server.script(hostile: .init(certificateBody: body))

        guard let (error, _) = failure(bed.service.process(ARITestbed.name), bed) else { return }

        assertNoControls(error, "the outcome")
        XCTAssertTrue(error.contains(#"not a PEM certificate chain: 0\x82\x03\x1b[2J\r\n\x9b\xff\x00AAA"#), error)
        XCTAssertTrue(error.contains("… (\(body.count - 200) more bytes)"), error)
        for line in bed.log.split(separator: "\n") { assertNoControls(String(line), "a log line") }
    }

    func testCertificateWithNamesThatWereNotRequestedIsRefusedAndTheCurrentOneKept() throws {
        let bed = try ARITestbed()
        let first = try bed.issueFirstCertificate()
        bed.server.script(hostile: .init(extraNames: ["DNS:evil.example", "IP:192.0.2.66"]))

        guard let (error, retryAt) = failure(bed.service.process(ARITestbed.name, forced: true), bed) else { return }

        XCTAssertEqual(bed.server.issued.count, 2, "the CA did issue the second certificate")
        XCTAssertTrue(error.contains("for names that were not requested: evil.example, 192.0.2.66 (requested: www.example.test)"), error)
        XCTAssertTrue(error.contains("refused and the current certificate is kept"), error)
        XCTAssertEqual(bed.storedLeaf()?.serialHex, first.serialHex, "the current certificate stays in service")
        let record = bed.record()
        XCTAssertEqual(record.failures, 1, "a renewal failure, retried with backoff")
        XCTAssertEqual(retryAt.timeIntervalSinceNow, FailureBackoff.delay(afterFailures: 1), accuracy: 5)
    }

    func testFirstCertificateWithAnExtraNameIsNotStored() throws {
        let bed = try ARITestbed()
        bed.server.script(hostile: .init(extraNames: ["DNS:WWW.Other.Example"]))
        guard let (error, _) = failure(bed.service.process(ARITestbed.name), bed) else { return }
        XCTAssertTrue(error.contains("not requested: WWW.Other.Example"), error)
        XCTAssertNil(bed.storedLeaf())
        XCTAssertNil(bed.session.store.currentFiles(ARITestbed.name), "no version was made current")
    }
}
