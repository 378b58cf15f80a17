import CertAgent
import CertCrypto
import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

// MARK: Helpers shared by the Secret*Tests

/// Runs the built `certagent` with `arguments`, `input` on its standard input.
@discardableResult
func certagent(_ arguments: [String], input: String? = nil) throws -> Subprocess.Result {
    try runCommand(ProjectPaths.certagentBinary, arguments, input: input)
}

/// A file's bytes.
func fileBytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

/// A random printable value no test could produce by accident.
func distinctiveValue(_ prefix: String) -> String {
    prefix + (0 ..< 24).map { _ in UInt8.random(in: 0 ... 255) }.hex
}

/// Every regular file below `directory` (symbolic links not followed), as full paths.
func regularFilesBelow(_ directory: String) -> [String] {
    filesBelow(directory).map { directory + "/" + $0 }.filter { path in
        var info = stat()
        return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFREG
    }
}

/// Path → (mode, contents) of everything below `directory`: to prove nothing was written.
func snapshot(_ directory: String) throws -> [String: String] {
    var result: [String: String] = [:]
    for relative in filesBelow(directory) {
        let path = directory + "/" + relative
        var info = stat()
        guard lstat(path, &info) == 0 else { continue }
        let kind = info.st_mode & S_IFMT
        let contents = kind == S_IFREG ? (try fileBytes(path)).hex
            : kind == S_IFLNK ? ((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?") : "dir"
        result[relative] = String(info.st_mode, radix: 8) + " " + contents
    }
    return result
}

/// The account key file in a store (one CA).
func accountKeyFile(in storage: String) throws -> String {
    let files = regularFilesBelow(storage + "/accounts").filter { $0.hasSuffix("/account-key.pem") }
    XCTAssertEqual(files.count, 1, "\(files)")
    return try XCTUnwrap(files.first)
}

/// The emergency command block of the README's "Secrets and the master key" section (the `sh` block starting
/// with `PASS=`), checked to be exactly the one documented at `MasterKey.accountKeyPassphrase`.
func readmeAccountKeyCommand() throws -> String {
    let readme = try String(contentsOfFile: ProjectPaths.root + "/README.md", encoding: .utf8)
    let section = try XCTUnwrap(readme.components(separatedBy: "## Secrets and the master key").dropFirst().first)
    let blocks = section.components(separatedBy: "```sh\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
    let block = try XCTUnwrap(blocks.first { $0.hasPrefix("PASS=") }, "no PASS= block in the README section")
    let source = try String(contentsOfFile: ProjectPaths.root + "/Sources/CertAgent/Secrets/MasterKey.swift", encoding: .utf8)
    let documented = try XCTUnwrap(source.components(separatedBy: "/// ```sh\n").dropFirst().first)
        .components(separatedBy: "/// ```")[0]
        .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces).replacing("/// ", with: "", maxReplacements: 1) }
        .filter { !$0.isEmpty }
        .joined(separator: "\n") + "\n"
    XCTAssertEqual(block, documented, "the README's command must be the one documented in MasterKey.swift")
    return block
}

/// Runs the README's emergency command on copies of `masterKey` and `accountKey` (named as the README expects).
func openAccountKeyWithReadmeCommand(masterKey: String, accountKey: String) throws -> Subprocess.Result {
    let directory = try TemporaryDirectory()
    _ = try directory.write("master.key", bytes: try fileBytes(masterKey))
    _ = try directory.write("account-key.pem", bytes: try fileBytes(accountKey))
    return try Subprocess.run(["/bin/sh", "-c", try readmeAccountKeyCommand()], in: directory.url)
}

/// The master key in a key file.
func masterKey(at path: String) throws -> MasterKey { try MasterKey(bytes: try fileBytes(path)) }

// MARK: secret set / list / remove

/// `certagent secret` through the binary, without a CA (the commands never contact one).
final class SecretCommandTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var config = ""
    private var storage: String { directory.path + "/store" }
    private var keyFile: String { directory.path + "/master.key" }

    override func setUpWithError() throws {
        directory = try TemporaryDirectory()
        let webroot = try directory.make("public_html")
        config = try directory.write("config.json", """
            {"email": "admin@example.com", "directory": "https://127.0.0.1:1/dir", "storage": "\(storage)",
             "eab": {"kid": "kid-1", "hmacKeySecret": "eab-hmac"},
             "certificates": [{"name": "x", "domains": ["x.test"], "webroot": "\(webroot)"}]}
            """)
    }

    func testSetListRemoveRoundTripNeverShowsAValue() throws {
        let token = distinctiveValue("tok-"), password = distinctiveValue("pw-")
        var outputs: [String] = []

        let list0 = try certagent(["secret", "list", "--config", config])
        XCTAssertEqual(list0.status, 0, list0.output)
        XCTAssertEqual(list0.stdout, "")
        XCTAssertTrue(list0.stderr.contains("eab-hmac, which is not set"), list0.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: keyFile), "list creates no master key")

        let set1 = try certagent(["secret", "set", "api-token", "--config", config], input: token + "\n")
        XCTAssertEqual(set1.status, 0, set1.output)
        XCTAssertTrue(set1.stdout.contains("✓ secret api-token stored in \(storage)/secrets.sealed"), set1.stdout)
        XCTAssertTrue(set1.stderr.contains("created the master key \(keyFile)"), set1.stderr)
        XCTAssertEqual(fileMode(keyFile), 0o600)
        XCTAssertEqual(fileMode(storage + "/secrets.sealed"), 0o600)
        let set2 = try certagent(["secret", "set", "eab-hmac", "--config", config], input: password)
        XCTAssertEqual(set2.status, 0, set2.output)
        let set3 = try certagent(["secret", "set", "api-token", "--config", config], input: token + "-v2\n")
        XCTAssertEqual(set3.status, 0, set3.output)
        XCTAssertTrue(set3.stdout.contains("✓ secret api-token replaced"), set3.stdout)
        outputs += [set1.output, set2.output, set3.output]

        // The stored values, read back in-process: exactly one trailing newline stripped.
        let secrets = try SecretsFile.open(path: storage + "/secrets.sealed", masterKey: try masterKey(at: keyFile), createIfMissing: false)
        XCTAssertEqual(try secrets.value(named: "api-token"), Array((token + "-v2").utf8))
        XCTAssertEqual(try secrets.value(named: "eab-hmac"), Array(password.utf8))

        let list = try certagent(["secret", "list", "--config", config])
        XCTAssertEqual(list.status, 0, list.output)
        XCTAssertEqual(list.stdout, "api-token\neab-hmac  (used by the config)\n")
        XCTAssertFalse(list.stderr.contains("missing"), list.stderr)
        outputs.append(list.output)

        let check = try certagent(["check", "--config", config])
        XCTAssertEqual(check.status, 0, check.output)
        XCTAssertTrue(check.stdout.contains("secrets      \(storage)/secrets.sealed (2 secrets)"), check.stdout)

        let removeAbsent = try certagent(["secret", "remove", "nothing-here", "--config", config])
        XCTAssertEqual(removeAbsent.status, 1)
        XCTAssertTrue(removeAbsent.stderr.contains("there is no secret nothing-here in \(storage)/secrets.sealed"), removeAbsent.stderr)
        let remove = try certagent(["secret", "remove", "eab-hmac", "--config", config])
        XCTAssertEqual(remove.status, 0, remove.output)
        XCTAssertTrue(remove.stderr.contains("warning: the config \(config) still uses the secret eab-hmac"), remove.stderr)
        let after = try certagent(["secret", "list", "--config", config])
        XCTAssertEqual(after.stdout, "api-token\n")
        XCTAssertTrue(after.stderr.contains("missing: the config \(config) uses the secret eab-hmac"), after.stderr)
        outputs += [removeAbsent.output, remove.output, after.output]

        let invalid = try certagent(["secret", "set", "no/slashes", "--config", config], input: "v")
        XCTAssertEqual(invalid.status, 2)
        XCTAssertTrue(invalid.stderr.contains("invalid secret name"), invalid.stderr)
        let empty = try certagent(["secret", "set", "empty", "--config", config], input: "\n")
        XCTAssertEqual(empty.status, 1)
        XCTAssertTrue(empty.stderr.contains("refusing an empty value"), empty.stderr)
        XCTAssertFalse(try SecretsFile.open(path: storage + "/secrets.sealed", masterKey: try masterKey(at: keyFile)).names().contains("empty"))

        for output in outputs {
            XCTAssertFalse(output.contains(token) || output.contains(password), "a value was printed: \(output)")
        }
    }

    func testWrongMasterKeyIsRefusedAndTheSecretsFileLeftAlone() throws {
        let set = try certagent(["secret", "set", "eab-hmac", "--config", config], input: distinctiveValue("v-"))
        XCTAssertEqual(set.status, 0, set.output)
        let before = try fileBytes(storage + "/secrets.sealed")
        // Another 32-byte key, with good permissions: only the key check can tell.
        try Data((0 ..< 32).map { _ in UInt8.random(in: 0 ... 255) }).write(to: URL(fileURLWithPath: keyFile))
        XCTAssertEqual(chmod(keyFile, 0o600), 0)

        for arguments in [["secret", "list"], ["secret", "remove", "eab-hmac"]] {
            let result = try certagent(arguments + ["--config", config])
            XCTAssertEqual(result.status, 1, result.output)
            XCTAssertTrue(result.stderr.contains("\(storage)/secrets.sealed cannot be opened with this master key"), result.stderr)
            XCTAssertTrue(result.stderr.contains("the key file \(keyFile)"), result.stderr)
            XCTAssertEqual(result.stdout, "")
        }
        let setAgain = try certagent(["secret", "set", "other", "--config", config], input: "value")
        XCTAssertEqual(setAgain.status, 1, setAgain.output)
        let check = try certagent(["check", "--config", config])
        XCTAssertEqual(check.status, 2, check.output)
        XCTAssertTrue(check.stderr.contains("cannot be opened with this master key"), check.stderr)
        XCTAssertEqual(try fileBytes(storage + "/secrets.sealed"), before, "the secrets file is unchanged")
    }
}
