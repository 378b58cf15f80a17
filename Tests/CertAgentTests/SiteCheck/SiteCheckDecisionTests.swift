import ACME
@testable import CertAgent
import CertCrypto
import Foundation
import TestSupport
import XCTest

/// The pure parts of the site check: the `address` field, comparing a served leaf with the current one, when the next
/// check is due, and when a served certificate is a mismatch worth telling — all against a manual clock.
final class SiteCheckDecisionTests: XCTestCase {
    private let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_000))

    // MARK: address

    func testAddressFormsAreParsed() throws {
        XCTAssertEqual(try SiteAddress.parse("127.0.0.1:8443").get(), SiteAddress(host: "127.0.0.1", port: 8443))
        XCTAssertEqual(try SiteAddress.parse("[::1]:443").get(), SiteAddress(host: "[::1]", port: 443))
        XCTAssertEqual(try SiteAddress.parse("Proxy.Example.com:443").get(), SiteAddress(host: "proxy.example.com", port: 443))
        XCTAssertEqual(try SiteAddress.parse("[2001:db8::5]:65535").get().description, "[2001:db8::5]:65535")
    }

    func testBadAddressesSayWhatIsWrong() {
        func problem(_ text: String) -> String? {
            if case .failure(let problem) = SiteAddress.parse(text) { return problem.message }
            return nil
        }
        XCTAssertEqual(problem("127.0.0.1"), "has no port: write host:port, ip:port or [ipv6]:port (e.g. 127.0.0.1:8443)")
        XCTAssertEqual(problem("127.0.0.1:0"), "has no valid port after the last ':' (1–65535)")
        XCTAssertEqual(problem("127.0.0.1:70000"), "has no valid port after the last ':' (1–65535)")
        XCTAssertEqual(problem("host:+80"), "has no valid port after the last ':' (1–65535)")
        XCTAssertEqual(problem("::1:443"), "an IPv6 address must be written in brackets: [::1]:443")
        XCTAssertEqual(problem("[::g]:443"), "has no valid IPv6 address between [ and ]")
        XCTAssertEqual(problem("[::1:443"), "has no valid IPv6 address between [ and ]")
        XCTAssertNotNil(problem("bad_host!:443"))
        XCTAssertNotNil(problem(""))
    }

    // MARK: comparison

    func testTheCurrentLeafNeedsTheSameSerialAndKey() throws {
        let temp = try TemporaryDirectory()
        let ca = try ScriptedIssuingCA(directory: try temp.make("ca"))
        func leaf(serial: String, key: PrivateKey) throws -> Certificate {
            let csr = try CertificateSigningRequest.make(key: key, domains: ["shop.test"])
            return try Certificate(pem: try ca.sign(csrDER: csr.der, serialHex: serial, days: 30))
        }
        let key = try PrivateKey.generate(.ec256)
        let current = try leaf(serial: "0B", key: key)
        let older = try leaf(serial: "0A", key: key)
        let sameSerialOtherKey = try leaf(serial: "0B", key: try PrivateKey.generate(.ec256))
        let now = clock.now()

        let same = SiteNameResult.compare(name: "shop.test", address: "shop.test:443", served: current, current: current, at: now)
        XCTAssertEqual(same.served, .current)
        XCTAssertEqual(same.serial, "0b")
        XCTAssertEqual(same.checkedAt, now)
        XCTAssertEqual(same.text, "serves the current certificate ✓")

        let old = SiteNameResult.compare(name: "shop.test", address: "shop.test:443", served: older, current: current, at: now)
        XCTAssertEqual(old.served, .other)
        XCTAssertEqual(old.serial, "0a")
        XCTAssertEqual(old.notAfter, older.notAfter)
        XCTAssertEqual(old.issuer, "CN=CertAgent Scripted ARI Test CA")
        XCTAssertEqual(SiteNameResult.compare(name: "shop.test", address: "x:1", served: sameSerialOtherKey, current: current, at: now).served, .other)
        XCTAssertEqual(SiteNameResult.compare(name: "shop.test", address: "x:1", served: current, current: nil, at: now).served, .other)
    }

    func testAnOlderServedCertificateIsCalledOlder() {
        let now = clock.now()
        let served = SiteNameResult(name: "a.test", address: "a.test:443", served: .other, serial: "0a",
                                    notAfter: now.addingTimeInterval(86_400), checkedAt: now)
        XCTAssertEqual(served.text(currentNotAfter: now.addingTimeInterval(30 * 86_400)),
                       "serves an older certificate (serial 0a, expires \(TimeText.human(now.addingTimeInterval(86_400))))")
        XCTAssertTrue(served.text(currentNotAfter: now).hasPrefix("serves another certificate (serial 0a"))
        XCTAssertEqual(SiteNameResult(name: "a.test", address: "a.test:443", served: .unreachable, reason: .refused, checkedAt: now).text,
                       "unreachable (connection refused)")
    }

    // MARK: when to check

    /// The check right after a deploy that still sees the old certificate is a reload finishing (told at notice
    /// level), not yet a mismatch; the same after the grace hour, or with a name unreachable, is a warning.
    func testAnOldCertificateJustAfterTheDeployIsSettlingNotAWarning() {
        let now = clock.now()
        var record = SiteCheckRecord()
        record.lastDeploy = now.addingTimeInterval(-1)
        record.checkedAt = now
        record.names = [result(.other, at: now), result(.current, name: "b.test", at: now)]
        XCTAssertTrue(SiteMismatch.isSettling(record), "50 ms after `systemctl reload nginx`: old workers still serve")
        record.names = [result(.current, at: now)]
        XCTAssertFalse(SiteMismatch.isSettling(record), "everything current: nothing to settle")
        record.names = [result(.other, at: now), result(.unreachable, name: "b.test", at: now)]
        XCTAssertFalse(SiteMismatch.isSettling(record), "an unreachable name is told at once")
        record.names = [result(.other, at: now)]
        record.lastDeploy = now.addingTimeInterval(-SiteMismatch.grace)
        XCTAssertFalse(SiteMismatch.isSettling(record), "after the grace hour it is a mismatch")
        record.lastDeploy = nil
        XCTAssertFalse(SiteMismatch.isSettling(record), "no deploy recorded: nothing to settle")
    }

    func testNextCheckAfterDeploysAndDaily() {
        let now = clock.now()
        var record = SiteCheckRecord()
        XCTAssertEqual(SiteMismatch.nextCheck(record: record, now: now), now, "never checked: now")

        record.checkedAt = now.addingTimeInterval(-600)
        record.names = [result(.current, at: record.checkedAt!)]
        XCTAssertEqual(SiteMismatch.nextCheck(record: record, now: now), record.checkedAt!.addingTimeInterval(86_400), "daily")

        record.lastDeploy = now.addingTimeInterval(-60)
        XCTAssertEqual(SiteMismatch.nextCheck(record: record, now: now), now, "deployed since the last check: now")

        // Checked right after the deploy, still the old one: again when the grace hour is over.
        record.lastDeploy = now.addingTimeInterval(-900)
        record.names = [result(.other, at: record.checkedAt!)]
        XCTAssertEqual(SiteMismatch.nextCheck(record: record, now: now), record.lastDeploy!.addingTimeInterval(SiteMismatch.grace))

        // Checked after the grace hour: daily again (the mismatch is reported, not re-checked every minute).
        record.lastDeploy = now.addingTimeInterval(-7200)
        XCTAssertEqual(SiteMismatch.nextCheck(record: record, now: now), record.checkedAt!.addingTimeInterval(86_400))
    }

    // MARK: mismatch

    private func result(_ served: SiteServed, name: String = "a.test", at: Date) -> SiteNameResult {
        SiteNameResult(name: name, address: "\(name):443", served: served, serial: served == .unreachable ? nil : "0a",
                       reason: served == .unreachable ? .timedOut : nil, checkedAt: at)
    }

    private func record(deploy: Date, checked: Date, _ names: [SiteNameResult]) -> SiteCheckRecord {
        var record = SiteCheckRecord()
        record.lastDeploy = deploy
        record.checkedAt = checked
        record.names = names
        return record
    }

    func testNoMismatchWithinTheGraceHourOrWhenCurrentOrUnreachable() {
        let deploy = clock.now()
        clock.advance(by: 3599)
        let early = record(deploy: deploy, checked: clock.now(), [result(.other, at: clock.now())])
        XCTAssertNil(SiteMismatch.evaluate(result: early, lastDeploy: deploy, hasReload: false, now: clock.now()))
        clock.advance(by: 1)
        let current = record(deploy: deploy, checked: clock.now(), [result(.current, at: clock.now())])
        XCTAssertNil(SiteMismatch.evaluate(result: current, lastDeploy: deploy, hasReload: true, now: clock.now()))
        let down = record(deploy: deploy, checked: clock.now(), [result(.unreachable, at: clock.now())])
        XCTAssertNil(SiteMismatch.evaluate(result: down, lastDeploy: deploy, hasReload: true, now: clock.now()))
        XCTAssertNil(SiteMismatch.evaluate(result: current, lastDeploy: nil, hasReload: true, now: clock.now()), "never deployed")
    }

    func testMismatchAnHourAfterTheDeployNamesTheLikelyCause() throws {
        let deploy = clock.now()
        clock.advance(by: 3600)
        let now = clock.now()
        let all = record(deploy: deploy, checked: now, [result(.other, name: "a.test", at: now), result(.other, name: "www.a.test", at: now)])

        let noReload = try XCTUnwrap(SiteMismatch.evaluate(result: all, lastDeploy: deploy, hasReload: false, now: now))
        XCTAssertEqual(noReload.names, ["a.test", "www.a.test"])
        XCTAssertEqual(noReload.servedSerials, ["0a", "0a"])
        XCTAssertEqual(noReload.lastDeploy, deploy)
        XCTAssertEqual(noReload.checkedAt, now)
        XCTAssertTrue(noReload.cause.hasPrefix("no reload command is configured"), noReload.cause)

        let cdn = try XCTUnwrap(SiteMismatch.evaluate(result: all, lastDeploy: deploy, hasReload: true, now: now))
        XCTAssertTrue(cdn.cause.contains("a CDN or proxy in front"), cdn.cause)

        let partial = record(deploy: deploy, checked: now, [result(.current, name: "a.test", at: now), result(.other, name: "www.a.test", at: now)])
        let vhost = try XCTUnwrap(SiteMismatch.evaluate(result: partial, lastDeploy: deploy, hasReload: true, now: now))
        XCTAssertEqual(vhost.names, ["www.a.test"])
        XCTAssertTrue(vhost.cause.contains("another virtual host (server block) answers for www.a.test"), vhost.cause)
    }

    // MARK: the record on disk

    func testTheRecordRoundTripsAndDeployAndResultsDoNotOverwriteEachOther() throws {
        let temp = try TemporaryDirectory()
        let store = try CertificateStore(root: temp.path("store"), webroots: [])
        let sites = SiteCheckStore(store: store)
        XCTAssertEqual(sites.load("shop"), SiteCheckRecord(), "none yet: fresh")
        let now = clock.now()
        try sites.noteDeploy("shop", at: now)
        try sites.update("shop") { record in
            record.checkedAt = now.addingTimeInterval(5)
            record.names = [self.result(.other, at: now.addingTimeInterval(5))]
        }
        let loaded = sites.load("shop")
        XCTAssertEqual(loaded.lastDeploy, now)
        XCTAssertEqual(loaded.checkedAt, now.addingTimeInterval(5))
        XCTAssertEqual(loaded.names.first?.served, .other)
        XCTAssertEqual(store.keys.document(.siteCheck, of: "shop"), store.certificateDirectory("shop") + "/site.json")
        XCTAssertEqual(StoreLayout.entry("site.json", in: .certificate), .file, "part of the store's layout")
        try "not json".write(toFile: store.keys.document(.siteCheck, of: "shop"), atomically: true, encoding: .utf8)
        XCTAssertEqual(sites.load("shop"), SiteCheckRecord(), "corrupt: fresh, never a crash")
    }

    func testTheNotificationEngineHearsOfAMismatchOnlyOnceTheGraceHourIsOver() {
        let deploy = Date(timeIntervalSince1970: 1_900_000_000)
        let certificate = CertificateConfig(name: "shop", domains: ["a.test", "b.test"], webroots: ["a.test": "/srv/a", "b.test": "/srv/a"],
                                            keyType: .ec256, install: nil)
        XCTAssertNil(SiteMismatch.notificationFact(certificate: certificate, record: SiteCheckRecord(), now: deploy),
                     "never checked: nothing to say")
        let early = record(deploy: deploy, checked: deploy.addingTimeInterval(60), [result(.other, at: deploy), result(.current, name: "b.test", at: deploy)])
        XCTAssertNil(SiteMismatch.notificationFact(certificate: certificate, record: early, now: deploy.addingTimeInterval(120)),
                     "within the grace hour a reload may still be under way")
        let checked = deploy.addingTimeInterval(2 * 3600)
        let late = record(deploy: deploy, checked: checked, [result(.other, at: checked), result(.current, name: "b.test", at: checked)])
        guard case .servesOther(let detail)? = SiteMismatch.notificationFact(certificate: certificate, record: late, now: checked) else {
            return XCTFail("a mismatch two hours after the deploy is told")
        }
        XCTAssertTrue(detail.hasPrefix("a.test serves serial 0a instead of the current certificate"), detail)
        XCTAssertTrue(detail.contains("likely cause: no reload command is configured"), detail)
        let fine = record(deploy: deploy, checked: checked, [result(.current, at: checked), result(.current, name: "b.test", at: checked)])
        XCTAssertEqual(SiteMismatch.notificationFact(certificate: certificate, record: fine, now: checked), .servesCurrent)
        let down = record(deploy: deploy, checked: checked, [result(.unreachable, at: checked), result(.current, name: "b.test", at: checked)])
        XCTAssertNil(SiteMismatch.notificationFact(certificate: certificate, record: down, now: checked), "unreachable is not a mismatch")
    }
}
