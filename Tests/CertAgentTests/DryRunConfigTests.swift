import CertAgent
import Foundation
import TestSupport
import XCTest

/// `dryRunDirectory` and `metricsFile` in the config, and which staging directory a dry run uses.
final class DryRunConfigTests: XCTestCase {
    var temp: TemporaryDirectory!
    var webroot: String!

    override func setUpWithError() throws {
        temp = try TemporaryDirectory()
        webroot = try temp.make("home/site/public_html")
    }

    private func load(_ fields: String) throws -> AgentConfig {
        let json = #"{\#(fields)"certificates": [{"domains": ["a.example"], "webroot": "\#(webroot!)"}]}"#
        return try ConfigLoader.parse(Data(json.utf8), path: "/etc/certagent/config.json", runningAsRoot: false)
    }

    private func problems(_ fields: String, file: StaticString = #filePath, line: UInt = #line) -> [ConfigProblem] {
        refusedConfig(file: file, line: line) { try load(fields) }?.problems ?? []
    }

    func testLetsEncryptProductionDryRunsAgainstLetsEncryptStaging() throws {
        let config = try load("")
        XCTAssertNil(config.dryRunDirectory)
        XCTAssertNil(config.metricsFile, "metrics are off by default")
        XCTAssertEqual(try DryRun.stagingDirectory(for: config), KnownDirectory.letsencryptStaging.url)
    }

    func testAnotherCAUsesDryRunDirectoryOrSaysWhichFieldToSet() throws {
        let configured = try load(#""directory": "https://ca.example/acme/directory", "dryRunDirectory": "https://ca.example/staging/directory", "#)
        XCTAssertEqual(try DryRun.stagingDirectory(for: configured), "https://ca.example/staging/directory")

        let unconfigured = try load(#""directory": "https://ca.example/acme/directory", "#)
        XCTAssertThrowsError(try DryRun.stagingDirectory(for: unconfigured)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("/etc/certagent/config.json: dryRunDirectory: not set"), text)
            XCTAssertTrue(text.contains("https://ca.example/acme/directory"), text)
        }
    }

    func testDryRunDirectoryIsValidatedLikeDirectory() {
        let found = problems(#""dryRunDirectory": "http://ca.example/staging", "#)
        XCTAssertEqual(found.map(\.field), ["dryRunDirectory"])
        XCTAssertTrue(found.first?.message.contains("must be an https:// URL") ?? false, "\(found)")
        XCTAssertEqual(problems(#""dryRunDirectory": 7, "#).map(\.field), ["dryRunDirectory"])
        XCTAssertEqual(try load(#""dryRunDirectory": "letsencrypt-staging", "#).dryRunDirectory, KnownDirectory.letsencryptStaging.url)
    }

    func testMetricsFileMustBeAnAbsoluteFileInAnExistingDirectory() throws {
        let directory = try temp.make("textfile")
        XCTAssertEqual(try load(#""metricsFile": "\#(directory)/certagent.prom", "#).metricsFile, directory + "/certagent.prom")
        let relative = problems(#""metricsFile": "certagent.prom", "#)
        XCTAssertEqual(relative.map(\.field), ["metricsFile"])
        XCTAssertTrue(relative.first?.message.contains("absolute path") ?? false, "\(relative)")
        let isDirectory = problems(#""metricsFile": "\#(directory)", "#)
        XCTAssertEqual(isDirectory.map(\.field), ["metricsFile"])
        XCTAssertTrue(isDirectory.first?.message.contains("is a directory") ?? false, "\(isDirectory)")
        let missingParent = problems(#""metricsFile": "\#(temp.path)/nowhere/certagent.prom", "#)
        XCTAssertEqual(missingParent.map(\.field), ["metricsFile"])
        XCTAssertTrue(missingParent.first?.message.contains("not an existing directory") ?? false, "\(missingParent)")
        let store = try temp.make("store")
        let inStore = problems(#""storage": "\#(store)", "metricsFile": "\#(store)/certagent.prom", "#)
        XCTAssertEqual(inStore.map(\.field), ["metricsFile"])
        XCTAssertTrue(inStore.first?.message.contains("is inside the store \(store)") ?? false, "\(inStore)")
    }

    func testDryRunConfigUsesAThrowawayStoreAndKeyAndDeploysNothing() throws {
        let installed = try temp.make("installed")
        let json = #"{"directory": "https://ca.example/acme/directory", "dryRunDirectory": "https://ca.example/staging/directory", "certificates": [{"domains": ["a.example"], "webroot": "\#(webroot!)", "install": {"directory": "\#(installed)", "reload": ["/bin/true"]}}]}"#
        let real = try ConfigLoader.parse(Data(json.utf8), path: "/etc/certagent/config.json", runningAsRoot: false)
        var workspace = ""
        do {
            let dryRun = try DryRun(realConfig: real)
            workspace = dryRun.workspace
            XCTAssertEqual(fileMode(workspace), 0o700)
            XCTAssertEqual(dryRun.config.directoryURL, "https://ca.example/staging/directory")
            XCTAssertEqual(dryRun.config.storagePath, workspace + "/store")
            XCTAssertEqual(dryRun.config.masterKeyFile, workspace + "/master.key")
            XCTAssertNil(dryRun.config.certificates[0].install, "a dry run never deploys or reloads")
            XCTAssertEqual(dryRun.config.certificates[0].webroots, real.certificates[0].webroots, "validated through the real webroots")
            XCTAssertFalse(dryRun.usesEABSecret)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: workspace), "the workspace is removed with the dry run")
    }
}
