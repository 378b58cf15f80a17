import CertAgent
import CertCrypto
import Foundation
import TestSupport
import XCTest

/// The daemon's metrics file and `certagent metrics` against a real Pebble, read by a real Prometheus text parser
/// (Debian's python3-prometheus-client).
final class MetricsTests: XCTestCase {
    /// Each sample ("name{label=value}" → value) and each family's type, as `prometheus_client` reads `text`.
    private func parse(_ text: String) throws -> (samples: [String: Double], families: [String: String]) {
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
        let result = try runCommand("/usr/bin/python3", ["-c", script], input: text)
        XCTAssertEqual(result.status, 0, "prometheus_client could not parse:\n\(text)\n\(result.stderr)")
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        return (try XCTUnwrap(object["samples"] as? [String: Double]), try XCTUnwrap(object["families"] as? [String: String]))
    }

    func testDaemonWritesAParsableMetricsFileAndTheCommandPrintsTheSameFamilies() throws {
        let testbed = try Testbed()
        let webroot = try testbed.webroot(for: "metrics.test")
        let unserved = testbed.directory + "/elsewhere/public_html"
        try FileManager.default.createDirectory(atPath: unserved, withIntermediateDirectories: true)
        let textfiles = testbed.directory + "/node-exporter"
        try FileManager.default.createDirectory(atPath: textfiles, withIntermediateDirectories: true)
        let metricsFile = textfiles + "/certagent.prom"
        let storage = testbed.directory + "/store"
        let config = try testbed.writeConfig([
            ["name": "good", "domains": ["metrics.test"], "webroot": webroot],
            ["name": "lost", "domains": ["lost.test"], "webroot": unserved],
        ], storage: storage, extra: ["metricsFile": metricsFile])
        XCTAssertEqual(try runCommand(ProjectPaths.certagentBinary, ["issue", "--config", config, "good"]).status, 0)
        let failed = try runCommand(ProjectPaths.certagentBinary, ["renew", "--config", config, "lost"])
        XCTAssertEqual(failed.status, 1, failed.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: metricsFile), "commands do not write the metrics file; the daemon does")

        let daemon = try BackgroundProcess([ProjectPaths.certagentBinary, "run", "--config", config], outputPath: testbed.directory + "/daemon.log")
        XCTAssertTrue(eventually(timeout: 60) { FileManager.default.fileExists(atPath: metricsFile) }, daemon.output)
        daemon.send(SIGTERM)
        XCTAssertEqual(daemon.waitForExit(timeout: 15), 0, daemon.output)

        XCTAssertEqual(fileMode(metricsFile), 0o644)
        XCTAssertEqual(filesBelow(textfiles), ["certagent.prom"], "no temporary file left beside it")
        let written = try String(contentsOfFile: metricsFile, encoding: .utf8)
        let (samples, families) = try parse(written)
        let leaf = try Certificate(pem: String(contentsOfFile: storage + "/certificates/good/current/cert.pem", encoding: .utf8))
        XCTAssertEqual(samples["certagent_certificate_expiry_timestamp_seconds{certificate=good}"], leaf.notAfter.timeIntervalSince1970)
        XCTAssertNil(samples["certagent_certificate_expiry_timestamp_seconds{certificate=lost}"], "lost has no certificate")
        XCTAssertEqual(samples["certagent_certificate_consecutive_failures{certificate=good}"], 0)
        XCTAssertEqual(samples["certagent_certificate_consecutive_failures{certificate=lost}"], 1)
        let renewed = try XCTUnwrap(samples["certagent_certificate_last_renewal_timestamp_seconds{certificate=good}"])
        XCTAssertEqual(renewed, leaf.notBefore.timeIntervalSince1970, accuracy: 120, "renewed when the certificate was issued")
        let next = try XCTUnwrap(samples["certagent_certificate_next_renewal_timestamp_seconds{certificate=good}"])
        XCTAssertTrue(next > renewed && next < leaf.notAfter.timeIntervalSince1970, "next renewal \(next) lies in the certificate's life")
        XCTAssertNotNil(samples["certagent_certificate_next_renewal_timestamp_seconds{certificate=lost}"], "the retry is planned")
        let lastPass = try XCTUnwrap(samples["certagent_last_pass_timestamp_seconds{}"])
        XCTAssertEqual(lastPass, Date().timeIntervalSince1970, accuracy: 120)
        XCTAssertNil(families["certagent_certificate_site_serves_current"], "no site check result known: absent, not 0")
        XCTAssertEqual(families["certagent_certificate_expiry_timestamp_seconds"], "gauge")

        // The command prints the same families and values (the daemon's last pass from the file it wrote).
        let printed = try runCommand(ProjectPaths.certagentBinary, ["metrics", "--config", config])
        XCTAssertEqual(printed.status, 0, printed.output)
        let (commandSamples, commandFamilies) = try parse(printed.stdout)
        XCTAssertEqual(commandFamilies, families)
        XCTAssertEqual(commandSamples, samples)
        XCTAssertEqual(try String(contentsOfFile: metricsFile, encoding: .utf8), written, "the command does not write the file")
    }
}
