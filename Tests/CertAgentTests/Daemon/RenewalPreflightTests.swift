import ACME
@testable import CertAgent
import Foundation
import Synchronization
import XCTest

/// A pre-flight check that answers what the test says and counts its calls.
private final class FakePreflight: CertificatePreflight, Sendable {
    private let passes: Mutex<Bool>
    private let calls = Mutex<[String]>([])

    init(passes: Bool) { self.passes = Mutex(passes) }

    func setPasses(_ value: Bool) { passes.withLock { $0 = value } }
    var checked: [String] { calls.withLock { $0 } }

    func check(_ certificate: CertificateConfig, journal: String?) throws -> PreflightReport {
        calls.withLock { $0.append(certificate.name) }
        let outcome: PreflightOutcome = passes.withLock { $0 } ? .served : .status(404)
        let address = PreflightAddressResult(name: certificate.domains[0], address: ResolvedAddress(family: .ipv6, address: "::1"), outcome: outcome)
        return PreflightReport(certificate: certificate.name, names: [
            PreflightNameResult(name: certificate.domains[0], webroot: certificate.webroots[certificate.domains[0]], addresses: [address]),
        ])
    }
}

/// The decision around the pre-flight check, through `RenewalService.process` against the scripted CA.
final class RenewalPreflightTests: XCTestCase {
    func testAFailedPreflightOrdersNothingAndCountsAsAFailureWithBackoff() throws {
        let preflight = FakePreflight(passes: false)
        let testbed = try ARITestbed(preflight: preflight)
        let outcome = testbed.service.process(ARITestbed.name)
        guard case .failed(let error, let retryAt) = outcome else { return XCTFail("\(outcome)\n\(testbed.log)") }
        XCTAssertTrue(error.hasPrefix("pre-flight check failed, nothing was ordered"), error)
        XCTAssertTrue(error.contains("www.example.test AAAA ::1 answered 404 — the IPv6 server block does not serve \(testbed.webroot)"), error)
        XCTAssertGreaterThan(retryAt, Date(), "retried later, with backoff")
        XCTAssertEqual(testbed.server.placedOrders.count, 0, "no order reached the CA")
        XCTAssertEqual(preflight.checked, [ARITestbed.name])
        let record = testbed.record()
        XCTAssertEqual(record.failures, 1)
        XCTAssertEqual(record.lastError, error)
        XCTAssertNil(record.inFlightSince)

        // Held back by the backoff like any failure: not checked again until it is due (or forced).
        guard case .notDue = testbed.service.process(ARITestbed.name) else { return XCTFail("retried before the backoff ended") }
        XCTAssertEqual(preflight.checked.count, 1)

        // Fixed: the forced retry passes the check and orders.
        preflight.setPasses(true)
        guard case .renewed = testbed.service.process(ARITestbed.name, forced: true) else { return XCTFail(testbed.log) }
        XCTAssertEqual(testbed.server.placedOrders.count, 1)
        XCTAssertEqual(preflight.checked.count, 2)
        XCTAssertEqual(testbed.record().failures, 0)
    }

    func testARenewalOfAUsableCertificateIsNotPreflighted() throws {
        let preflight = FakePreflight(passes: true)
        let testbed = try ARITestbed(preflight: preflight)
        _ = try testbed.issueFirstCertificate()
        XCTAssertEqual(preflight.checked.count, 1, "the first order is checked")
        preflight.setPasses(false)
        guard case .renewed = testbed.service.process(ARITestbed.name, forced: true) else { return XCTFail(testbed.log) }
        XCTAssertEqual(preflight.checked.count, 1, "a usable certificate's renewal is not held back by the check")
        XCTAssertEqual(testbed.server.placedOrders.count, 2)
    }

    func testWithoutAPreflightTheOrderGoesToTheCA() throws {
        let testbed = try ARITestbed(preflight: nil)   // --skip-preflight
        _ = try testbed.issueFirstCertificate()
        XCTAssertEqual(testbed.server.placedOrders.count, 1)
    }
}
