import CertAgent
import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The config's JSON Schema (`certagent config schema`) and the loader `check` runs judge configs alike. Every config the
/// test suite knows (Tests/ConfigCorpus/harvested.jsonl: the configs the unit and integration tests handed the loader,
/// with the files they stood beside) and a set of boundary configs go to both the loader and an independent validator
/// (Debian's python3-jsonschema). Each config ends in one of three verdicts:
/// - both accept, or both refuse;
/// - the schema accepts and the loader refuses, for a reason named in `OutsideReason` (what no JSON Schema can state,
///   such as a webroot that does not exist) — every problem of the config must have such a reason;
/// anything else (the schema refusing what the loader accepts, or missing a rule it could state) fails the test.
final class ConfigSchemaAgreementTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let corpusFile = repository + "/Tests/ConfigCorpus/harvested.jsonl"
    static let validator = repository + "/Tests/ConfigCorpus/schema_verdicts.py"

    // MARK: The schema file and the example

    func testTheCommittedSchemaFileIsWhatTheCommandPrints() throws {
        let committed = try String(contentsOfFile: Self.repository + "/schema/config.schema.json", encoding: .utf8)
        XCTAssertEqual(committed, ConfigSchema.text, "schema/config.schema.json differs from ConfigSchema: regenerate it with `certagent config schema > schema/config.schema.json`")
    }

    func testTheBinaryPrintsTheSchema() throws {
        let result = try Subprocess.run([Self.repository + "/.build/debug/certagent", "config", "schema"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, ConfigSchema.text)
    }

    func testTheSchemaIsAValidDraft202012SchemaAndTheExampleConfigNamesAndPassesIt() throws {
        let example = try String(contentsOfFile: Self.repository + "/config.example.json", encoding: .utf8)
        let object = try JSONSerialization.jsonObject(with: Data(example.utf8)) as? [String: Any]
        XCTAssertEqual(object?["$schema"] as? String, ConfigSchema.installedURI, "config.example.json names the installed schema")
        let temp = try TemporaryDirectory()
        let verdicts = try schemaVerdicts(files: [try temp.write("example.json", example)], in: temp)
        XCTAssertEqual(verdicts.first?.valid, true, "config.example.json against the schema: \(verdicts.first?.errors ?? [])")
        let fleet = try String(contentsOfFile: Self.repository + "/config.fleet.example.json", encoding: .utf8)
        let fleetVerdicts = try schemaVerdicts(files: [try temp.write("fleet.json", fleet)], in: temp)
        XCTAssertEqual(fleetVerdicts.first?.valid, true, "config.fleet.example.json against the schema: \(fleetVerdicts.first?.errors ?? [])")
    }

    // MARK: Agreement

    func testEveryConfigTheTestsHandedTheLoaderGetsTheSameVerdictFromTheSchema() throws {
        let lines = try String(contentsOfFile: Self.corpusFile, encoding: .utf8).split(separator: "\n")
        var cases: [ConfigCase] = []
        var directories: [TemporaryDirectory] = []
        for (number, line) in lines.enumerated() {
            let record = try JSONDecoder().decode(HarvestedConfig.self, from: Data(line.utf8))
            cases.append(try record.materialized(into: &directories, label: "harvested #\(number + 1) (\(record.source))"))
        }
        // The corpus is what the suite knows: a handful of configs would prove nothing.
        XCTAssertGreaterThanOrEqual(cases.count, 250)
        XCTAssertTrue(Set(lines.compactMap { try? JSONDecoder().decode(HarvestedConfig.self, from: Data($0.utf8)).source })
            .isSuperset(of: ["ConfigLoaderTests", "HostileConfigTests", "StrictJSONTests", "ConfigExampleTests", "NotifyConfigTests", "InitCommandTests"]))
        try assertAgreement(cases)
    }

    func testBoundaryConfigsGetTheSameVerdictFromTheSchemaAndTheLoader() throws {
        let temp = try TemporaryDirectory()
        for directory in ["www", "www2", "install"] { try temp.make(directory) }
        let boundary = BoundaryConfigs(root: temp.path)
        try assertAgreement(boundary.cases)
    }

    /// Runs every case through the loader and the schema, and fails for each disagreement the schema cannot excuse.
    private func assertAgreement(_ cases: [ConfigCase], file: StaticString = #filePath, line: UInt = #line) throws {
        let work = try TemporaryDirectory()
        let files = try cases.enumerated().map { index, item in try work.write("case-\(index).json", bytes: item.bytes) }
        let verdicts = try schemaVerdicts(files: files, in: work)
        XCTAssertEqual(verdicts.count, cases.count, "the validator judged every config", file: file, line: line)
        var tally: [String: Int] = [:]
        for (item, schema) in zip(cases, verdicts) {
            let problems: [ConfigProblem]
            do {
                _ = try ConfigLoader.parse(item.bytes, path: item.path, environment: item.environment, runningAsRoot: item.runningAsRoot)
                problems = []
            } catch let error as ConfigError {
                problems = error.problems
            }
            switch (problems.isEmpty, schema.valid) {
            case (true, true): tally["both accept", default: 0] += 1
            case (false, false):
                // The schema must refuse for a rule check enforces too, not only beside a problem beyond its reach.
                // (Only reasons wholly beyond a schema count here: the others, such as a domain listed twice, a schema
                // catches when they are written the same way, and the loader reports a JSON error before anything else.)
                if problems.allSatisfy({ problem in OutsideReason.allCases.contains { $0.isWhollyBeyondASchema && $0.explains(problem, schemaParsedTheJSON: schema.json) } }) {
                    XCTFail("\(item.label): the schema refuses it (\(schema.errors)), but the loader refuses it only for reasons beyond a schema: \(problems)\n\(item.text)", file: file, line: line)
                }
                tally["both refuse", default: 0] += 1
            case (true, false):
                XCTFail("\(item.label): the loader accepts it, the schema refuses it: \(schema.errors)\n\(item.text)", file: file, line: line)
            case (false, true):
                var reasons: Set<OutsideReason> = []
                for problem in problems {
                    guard let reason = OutsideReason.allCases.first(where: { $0.explains(problem, schemaParsedTheJSON: schema.json) }) else {
                        XCTFail("\(item.label): the schema accepts it, the loader refuses it for a rule the schema should state: \(problem)\n\(item.text)", file: file, line: line)
                        continue
                    }
                    reasons.insert(reason)
                }
                for reason in reasons { tally["schema accepts, check refuses: \(reason)", default: 0] += 1 }
            }
        }
        print("ConfigSchemaAgreementTests: \(cases.count) configs: " + tally.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; "))
    }

    // MARK: The independent validator

    struct SchemaVerdict: Decodable {
        var file: String
        var json: Bool
        var valid: Bool
        var errors: [String]
    }

    /// python3-jsonschema's verdict on each file, against the schema `ConfigSchema` builds (Debian's python3, as
    /// scripts/install-deps installs it: without it the test fails rather than passing unchecked).
    private func schemaVerdicts(files: [String], in directory: TemporaryDirectory) throws -> [SchemaVerdict] {
        let schema = try directory.write("config.schema.json", ConfigSchema.text)
        let result = try Subprocess.run(["/usr/bin/python3", Self.validator, schema], stdin: Array(files.joined(separator: "\n").utf8))
        XCTAssertEqual(result.status, 0, "python3-jsonschema is required (scripts/install-deps): \(result.stderr)")
        return try result.stdout.split(separator: "\n").map { try JSONDecoder().decode(SchemaVerdict.self, from: Data($0.utf8)) }
    }
}

/// One config to judge: its bytes, its path and the loader's other inputs.
struct ConfigCase {
    var label: String
    var bytes: [UInt8]
    var path: String
    var environment: [String: String] = [:]
    var runningAsRoot = false

    var text: String { String(decoding: bytes.prefix(2000), as: UTF8.self) }
}

/// Why the loader may refuse a config the schema accepts: the rules no JSON Schema can state. A problem of a refused
/// config that none of these explains fails `ConfigSchemaAgreementTests`.
enum OutsideReason: String, CaseIterable, CustomStringConvertible {
    case fileSystem = "a file or directory that must exist, or must be of another kind (webroot, caFile and its PEM content, install paths, metricsFile, masterKeyFile, storage)"
    case machineAccounts = "a user or group unknown on this machine (install.owner, install.group)"
    case reloadProgram = "a reload program that is not an executable file or not on PATH"
    case pathsInsideOthers = "a path inside another after links are resolved (store, master key, metrics file or installed file inside a webroot; metrics file inside the store)"
    case crossReference = "one value naming another: a webroots key not in domains, a domain without a webroot"
    case sameThingTwice = "one thing under two spellings or in two places: a certificate name used twice, a CA listed twice, a domain twice (case, address form), one file for two install paths"
    case ipv6CanonicalForm = "an IPv6 address not in its RFC 5952 form (where :: goes, an embedded IPv4 address)"
    case jsonText = "the JSON text itself (a member name given twice, a lone surrogate, nesting deeper than the parser takes): a schema sees the parsed value only"
    case fileSize = "a config over 1 MiB"
    case byteLengths = "a byte limit on non-ASCII text, which a schema's maxLength counts in characters"

    var description: String { rawValue }

    /// True when no config with this problem can fail the schema for it; false for problems a schema catches in some
    /// spellings (a literal duplicate, a non-canonical IPv6 address a pattern refuses, ASCII over a byte limit, …).
    var isWhollyBeyondASchema: Bool {
        switch self {
        case .fileSystem, .machineAccounts, .reloadProgram, .pathsInsideOthers, .fileSize: true
        case .crossReference, .sameThingTwice, .ipv6CanonicalForm, .jsonText, .byteLengths: false
        }
    }

    private static let messages: [OutsideReason: [String]] = [
        .fileSystem: ["is not an existing directory", "does not exist", "exists and is not a directory", "is a directory", "cannot be written: its directory",
                      "which is not an existing directory", "not a PEM file", "is larger than 16 MiB", "is empty: it must hold the PEM", "cannot be read",
                      "cannot be opened", "is a loop of symbolic links", "is a symbolic link that leads to nothing", "cannot be created", "cannot be inspected",
                      "not a key file", "give a PEM file of the CA certificate(s)"],
        .machineAccounts: ["is not a known user on this machine", "is not a known group on this machine"],
        .reloadProgram: ["is not an executable file", "is not found on PATH"],
        .pathsInsideOthers: ["inside the webroot", "holds the webroot", "is inside the store"],
        .crossReference: ["names a domain that is not in domains", "is required: no webroot serves"],
        .sameThingTwice: ["is used by another certificate", "is the same CA as", "is listed twice", "is the same file as"],
        .ipv6CanonicalForm: ["is not written in canonical form", "is an IPv6 address that only carries the IPv4 address"],
        .fileSize: ["more than the 1 MiB a config may be"],
        .byteLengths: ["bytes long"],
    ]

    /// Whether this reason explains `problem`. `schemaParsedTheJSON`: the validator read the text as JSON.
    func explains(_ problem: ConfigProblem, schemaParsedTheJSON: Bool) -> Bool {
        switch self {
        case .jsonText:
            return schemaParsedTheJSON && problem.message.hasPrefix("is not valid JSON")
        case .byteLengths:
            // The excerpt of a long value ends in "…", which is not the value's.
            let value = (problem.value ?? "").hasSuffix("…") ? String((problem.value ?? "").dropLast()) : problem.value ?? ""
            return problem.message.contains(/[0-9]+ bytes/) && value.unicodeScalars.contains { !$0.isASCII }
        default:
            return Self.messages[self, default: []].contains { problem.message.contains($0) }
        }
    }
}

/// A config as a test handed it to the loader, with the files of its temporary directory (`@TMP@` in every path).
struct HarvestedConfig: Decodable {
    struct Entry: Decodable {
        var path: String
        var kind: String
        var mode: UInt32
        var content: String?
        var target: String?
    }

    var source: String
    var config: String?
    var configBase64: String?
    var path: String
    var environment: [String: String]
    var runningAsRoot: Bool
    var tree: [Entry]

    /// The config with its files recreated in new temporary directories (`@TMP@`, `@TMP2@`, … each one; a tree path
    /// without a placeholder is below `@TMP@`), which `directories` keeps until the test ends.
    func materialized(into directories: inout [TemporaryDirectory], label: String) throws -> ConfigCase {
        var places: [String: String] = [:]
        let everything = ([config ?? "", path] + environment.values + tree.flatMap { [$0.path, $0.target ?? ""] }).joined(separator: "\n")
        for match in everything.matches(of: /@TMP[0-9]*@/) where places[String(match.output)] == nil {
            let directory = try TemporaryDirectory()
            directories.append(directory)
            places[String(match.output)] = directory.path
        }
        if places["@TMP@"] == nil {
            let directory = try TemporaryDirectory()
            directories.append(directory)
            places["@TMP@"] = directory.path
        }
        func placed(_ text: String) -> String { places.reduce(text) { $0.replacing($1.key, with: $1.value) } }
        for entry in tree {
            let path = placed(entry.path.hasPrefix("@TMP") ? entry.path : "@TMP@/" + entry.path)
            switch entry.kind {
            case "directory":
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            case "file":
                let bytes = entry.content.flatMap { Data(base64Encoded: $0) } ?? Data()
                guard FileManager.default.createFile(atPath: path, contents: bytes) else { throw CocoaError(.fileWriteUnknown) }
            case "fifo":
                XCTAssertEqual(mkfifo(path, mode_t(entry.mode)), 0, "\(label): \(entry.path)")
            case "symlink":
                try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: placed(entry.target ?? ""))
            default:
                throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "\(label): \(entry.path) is a \(entry.kind), which the corpus cannot recreate"])
            }
            if entry.kind != "symlink" { XCTAssertEqual(chmod(path, mode_t(entry.mode)), 0) }
        }
        let bytes: [UInt8]
        if let config { bytes = Array(placed(config).utf8) } else { bytes = [UInt8](Data(base64Encoded: configBase64 ?? "") ?? Data()) }
        return ConfigCase(label: label, bytes: bytes, path: placed(path), environment: environment.mapValues(placed), runningAsRoot: runningAsRoot)
    }
}
