import Foundation
import TestSupport
import XCTest

/// Runs `executable` with `arguments` and waits for it; background children it leaves running do not block.
@discardableResult
func runCommand(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, input: String? = nil) throws -> Subprocess.Result {
    try Subprocess.run([executable] + arguments, stdin: input.map { Array($0.utf8) }, environment: environment)
}

/// The project's root folder (for scripts/) and the built `certagent` binary.
enum ProjectPaths {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static var certagentBinary: String {
        // The test runner sits in the same build folder as the executable product.
        let runner = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: runner).deletingLastPathComponent().path + "/certagent"
    }
}

/// Pebble, dnsmasq and nginx on free loopback ports, started by `scripts/testbed` and stopped by PID.
final class Testbed {
    let directory: String
    private(set) var values: [String: String] = [:]

    /// Starts a test bed; `pebbleEnvironment` sets Pebble's fault switches (e.g. `PEBBLE_WFE_NONCEREJECT`).
    init(pebbleEnvironment: [String: String] = [:], eab: Bool = false, options: [String] = []) throws {
        // Only dnsmasq, Pebble's resolver, knows the `*.test` names: the binaries these tests start skip the pre-flight
        // check, which resolves through the system (PreflightTests run it with a private /etc/hosts instead).
        setenv(Self.skipPreflightVariable, "1", 1)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("certagent-testbed-\(UUID().uuidString.prefix(8))").path
        var environment = ProcessInfo.processInfo.environment
        environment["PEBBLE_AUTHZREUSE"] = "0"
        environment["PEBBLE_WFE_NONCEREJECT"] = "0"
        environment.merge(pebbleEnvironment) { $1 }
        let result = try runCommand(ProjectPaths.root + "/scripts/testbed", ["start", directory] + (eab ? ["--eab"] : []) + options, environment: environment)
        guard result.status == 0 else {
            throw NSError(domain: "Testbed", code: Int(result.status), userInfo: [NSLocalizedDescriptionKey: "testbed did not start: \(result.stderr)"])
        }
        let text = try String(contentsOfFile: directory + "/testbed.env", encoding: .utf8)
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { values[parts[0]] = parts[1] }
        }
    }

    /// `CERTAGENT_SKIP_PREFLIGHT`, set for every binary a test starts (see `init`).
    static let skipPreflightVariable = "CERTAGENT_SKIP_PREFLIGHT"

    func stop() {
        _ = try? runCommand(ProjectPaths.root + "/scripts/testbed", ["stop", directory])
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    var directoryURL: String { values["TESTBED_DIRECTORY_URL"]! }
    var caFile: String { values["TESTBED_CA_FILE"]! }
    var sites: String { values["TESTBED_SITES"]! }
    var eabKeyID: String? { values["TESTBED_EAB_KID"].flatMap { $0.isEmpty ? nil : $0 } }
    var eabKey: String? { values["TESTBED_EAB_KEY_FILE"].flatMap { try? String(contentsOfFile: $0, encoding: .utf8) }?.trimmingCharacters(in: .whitespacesAndNewlines) }

    /// The webroot nginx serves for `site` and `www.site`, created empty.
    func webroot(for site: String) throws -> String {
        let path = sites + "/" + site + "/public_html"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Pebble's issuing root (`index` > 0: an alternate root), written to a file for `openssl verify`.
    func rootFile(index: Int = 0) throws -> String {
        let result = try runCommand(ProjectPaths.root + "/scripts/testbed", ["root", directory, String(index)])
        let path = directory + "/pebble-root-\(index).pem"
        try result.stdout.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// ACME requests Pebble has handled so far (from its log), e.g. `POST /order-plz`.
    func acmeRequests() throws -> [String] {
        let log = try String(contentsOfFile: values["TESTBED_PEBBLE_LOG"]!, encoding: .utf8)
        return log.split(separator: "\n").compactMap { line in
            guard let range = line.range(of: " -> calling handler()") else { return nil }
            return line[..<range.lowerBound].split(separator: " ").suffix(2).joined(separator: " ")
        }
    }

    /// Orders Pebble has created so far (rejected attempts not counted).
    func ordersCreated() throws -> Int {
        try String(contentsOfFile: values["TESTBED_PEBBLE_LOG"]!, encoding: .utf8).components(separatedBy: "Added order").count - 1
    }

    /// Writes a config file for the given certificates and returns its path.
    func writeConfig(_ certificates: [[String: Any]], storage: String? = nil, extra: [String: Any] = [:]) throws -> String {
        var config: [String: Any] = ["email": "admin@example.com", "acceptTermsOfService": true, "directory": directoryURL, "caFile": caFile, "certificates": certificates]
        if let storage { config["storage"] = storage }
        config.merge(extra) { $1 }
        let path = directory + "/config-\(UUID().uuidString.prefix(6)).json"
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: path))
        return path
    }
}

/// Every file below `directory`, recursively.
func filesBelow(_ directory: String) -> [String] {
    (FileManager.default.enumerator(atPath: directory)?.allObjects as? [String]) ?? []
}
