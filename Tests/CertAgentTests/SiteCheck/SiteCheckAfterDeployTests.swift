import ACME
@testable import CertAgent
import Foundation
import Logging
import TestSupport
import XCTest

/// A renewal that puts a new certificate in place records the deploy time for the site check, which makes the
/// daemon's site check due at once (and not before, while the certificate is missing).
final class SiteCheckAfterDeployTests: XCTestCase {
    func testARenewalRecordsTheDeployAndMakesTheSiteCheckDue() throws {
        let bed = try ARITestbed()
        let runner = SiteCheckRunner(clock: StoppableClock(), logger: Logger(label: "site-test"), timeout: 1)
        XCTAssertEqual(runner.nextDue(bed.certificate, store: bed.session.store), .distantFuture, "nothing to check before the first certificate")

        let before = Date()
        _ = try bed.issueFirstCertificate()
        let record = SiteCheckStore(store: bed.session.store).load(ARITestbed.name)
        let deployed = try XCTUnwrap(record.lastDeploy, bed.log)
        XCTAssertGreaterThanOrEqual(deployed, before.addingTimeInterval(-1))
        XCTAssertLessThanOrEqual(deployed, Date())
        XCTAssertNil(record.checkedAt, "the deploy only notes the time; the check writes the results")
        XCTAssertLessThanOrEqual(runner.nextDue(bed.certificate, store: bed.session.store), Date(), "due at once after the deploy")

        // A check made after the deploy, serving the current certificate: next one a day later.
        try SiteCheckStore(store: bed.session.store).update(ARITestbed.name) { record in
            record.checkedAt = deployed.addingTimeInterval(30)
            record.names = [SiteNameResult(name: ARITestbed.domain, address: "\(ARITestbed.domain):443", served: .current,
                                           checkedAt: deployed.addingTimeInterval(30))]
        }
        XCTAssertEqual(runner.nextDue(bed.certificate, store: bed.session.store).timeIntervalSince1970,
                       deployed.addingTimeInterval(30 + 86_400).timeIntervalSince1970, accuracy: 0.01, "stored to the millisecond")
    }
}
