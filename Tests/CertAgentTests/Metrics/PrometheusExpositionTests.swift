import CertAgent
import Foundation
import TestSupport
import XCTest

/// The exposition text, read back by a real Prometheus text parser (Debian's python3-prometheus-client).
final class PrometheusExpositionTests: XCTestCase {
    /// Parses `text` with `prometheus_client.parser.text_string_to_metric_families`; returns each sample as
    /// "name{label=value} value" lines, sorted, and the families' names and types.
    static func parse(_ text: String) throws -> (samples: [String: Double], families: [String: String]) {
        let script = """
        import json, sys
        from prometheus_client.parser import text_string_to_metric_families
        samples, families = {}, {}
        for family in text_string_to_metric_families(sys.stdin.read()):
            families[family.name] = family.type
            for s in family.samples:
                labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
                samples[f"{s.name}{{{labels}}}"] = s.value
        print(json.dumps({"samples": samples, "families": families}))
        """
        let result = try Subprocess.run(["/usr/bin/python3", "-c", script], stdin: Array(text.utf8))
        guard result.status == 0 else { throw ParseFailure(description: result.stderr) }
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        return (try XCTUnwrap(object["samples"] as? [String: Double]), try XCTUnwrap(object["families"] as? [String: String]))
    }

    struct ParseFailure: Error, CustomStringConvertible { let description: String }

    func testEverySampleParsesWithItsValueAndUnknownValuesAreLeftOut() throws {
        let expiry = Date(timeIntervalSince1970: 1_798_761_600)
        let renewed = Date(timeIntervalSince1970: 1_790_985_600)
        let next = Date(timeIntervalSince1970: 1_796_083_200)
        let pass = Date(timeIntervalSince1970: 1_791_000_123)
        let snapshot = MetricsSnapshot(certificates: [
            .init(name: "shop", notAfter: expiry, lastRenewed: renewed, consecutiveFailures: 0, nextRenewal: next, siteServesCurrent: true),
            .init(name: "we\"ird\\name", notAfter: nil, lastRenewed: nil, consecutiveFailures: 3, nextRenewal: next, siteServesCurrent: false),
            .init(name: "unchecked", notAfter: expiry, lastRenewed: nil, consecutiveFailures: 0, nextRenewal: nil),
        ], lastPass: pass, notificationDeliveryFailures: 2)
        let (samples, families) = try Self.parse(PrometheusExposition.render(snapshot))

        XCTAssertEqual(samples["certagent_certificate_expiry_timestamp_seconds{certificate=shop}"], expiry.timeIntervalSince1970)
        XCTAssertEqual(samples["certagent_certificate_last_renewal_timestamp_seconds{certificate=shop}"], renewed.timeIntervalSince1970)
        XCTAssertEqual(samples["certagent_certificate_consecutive_failures{certificate=shop}"], 0)
        XCTAssertEqual(samples["certagent_certificate_next_renewal_timestamp_seconds{certificate=shop}"], next.timeIntervalSince1970)
        XCTAssertEqual(samples["certagent_certificate_site_serves_current{certificate=shop}"], 1)
        // A label value with a quote and a backslash is escaped by the library and read back as it was.
        XCTAssertEqual(samples["certagent_certificate_consecutive_failures{certificate=we\"ird\\name}"], 3)
        XCTAssertEqual(samples["certagent_certificate_site_serves_current{certificate=we\"ird\\name}"], 0)
        XCTAssertNil(samples["certagent_certificate_expiry_timestamp_seconds{certificate=we\"ird\\name}"], "no certificate, no expiry")
        XCTAssertNil(samples["certagent_certificate_site_serves_current{certificate=unchecked}"], "unknown is absent, not 0")
        XCTAssertNil(samples["certagent_certificate_last_renewal_timestamp_seconds{certificate=unchecked}"])
        XCTAssertEqual(samples["certagent_last_pass_timestamp_seconds{}"], pass.timeIntervalSince1970)
        XCTAssertEqual(samples["certagent_notification_delivery_failures_total{}"], 2)
        XCTAssertEqual(families["certagent_notification_delivery_failures"], "counter")
        XCTAssertEqual(families["certagent_certificate_expiry_timestamp_seconds"], "gauge")
        XCTAssertEqual(samples.count, 12, "5 for shop, 3 for the odd name, 2 for unchecked, 2 for the process")
    }

    func testProcessValuesAreAbsentWhenNotKnown() throws {
        let text = PrometheusExposition.render(MetricsSnapshot(certificates: [
            .init(name: "a", notAfter: nil, lastRenewed: nil, consecutiveFailures: 1, nextRenewal: nil),
        ]))
        let (samples, families) = try Self.parse(text)
        XCTAssertEqual(samples, ["certagent_certificate_consecutive_failures{certificate=a}": 1])
        XCTAssertEqual(Set(families.keys), ["certagent_certificate_consecutive_failures"])
    }

    func testMetricsWriterReadsBackTheProcessValuesItPublished() throws {
        let temp = try TemporaryDirectory()
        let pass = Date(timeIntervalSince1970: 1_791_000_123)
        let text = PrometheusExposition.render(MetricsSnapshot(certificates: [], lastPass: pass, notificationDeliveryFailures: 4))
        let path = try temp.write("certagent.prom", text)
        let published = MetricsWriter.publishedProcessValues(path: path)
        XCTAssertEqual(published.lastPass, pass)
        XCTAssertEqual(published.notificationDeliveryFailures, 4)
        let none = MetricsWriter.publishedProcessValues(path: temp.path("missing.prom"))
        XCTAssertNil(none.lastPass)
        XCTAssertNil(none.notificationDeliveryFailures)
    }
}

extension PrometheusExpositionTests {
    func testFamiliesComeInAFixedOrderEachOnce() {
        let snapshot = MetricsSnapshot(certificates: [
            .init(name: "a", notAfter: Date(timeIntervalSince1970: 2_000_000_000), lastRenewed: Date(timeIntervalSince1970: 1_900_000_000),
                  consecutiveFailures: 0, nextRenewal: Date(timeIntervalSince1970: 1_950_000_000), siteServesCurrent: true),
        ], lastPass: Date(timeIntervalSince1970: 1_900_000_100), notificationDeliveryFailures: 0)
        let text = PrometheusExposition.render(snapshot)
        let types = text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) }
        XCTAssertEqual(types, [PrometheusExposition.Name.expiry, PrometheusExposition.Name.lastRenewal, PrometheusExposition.Name.consecutiveFailures,
                               PrometheusExposition.Name.nextRenewal, PrometheusExposition.Name.siteServesCurrent, PrometheusExposition.Name.lastPass,
                               PrometheusExposition.Name.notificationDeliveryFailures])
        XCTAssertEqual(PrometheusExposition.render(snapshot), text, "the same snapshot, the same text")
    }
}
