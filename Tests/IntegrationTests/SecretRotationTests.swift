import CertAgent
import CertCrypto
import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `certagent rotate-master-key` through the binary, against a store with an account key and secrets.
final class SecretRotationTests: XCTestCase {
    func testRotationReencryptsEverythingAndTheNewKeyOpensIt() throws {
        let testbed = try Testbed()
        let one = try testbed.webroot(for: "one.test"), two = try testbed.webroot(for: "two.test")
        let storage = testbed.directory + "/store"
        let keyFile = testbed.directory + "/master.key"
        let certificates: [[String: Any]] = [["name": "one", "domains": ["one.test"], "webroot": one]]
        let config = try testbed.writeConfig(certificates, storage: storage)
        let token = distinctiveValue("token-")
        XCTAssertEqual(try certagent(["secret", "set", "api-token", "--config", config], input: token).status, 0)
        let first = try certagent(["issue", "--config", config])
        XCTAssertEqual(first.status, 0, first.output)

        let accountKey = try accountKeyFile(in: storage)
        let oldBytes = try fileBytes(keyFile)
        let oldKey = try masterKey(at: keyFile)
        let accountPEM = try AccountKeyFile.read(accountKey, masterKey: oldKey).pkcs8PEM()
        let secretsBefore = try fileBytes(storage + "/secrets.sealed")

        // Refused while another process holds the store (as the daemon will).
        do {
            let held = try StoreLock(storeRoot: storage, mode: .shared)
            let busy = try certagent(["rotate-master-key", "--config", config])
            XCTAssertEqual(busy.status, 1, busy.output)
            XCTAssertTrue(busy.stderr.contains("stop the daemon first"), busy.stderr)
            XCTAssertEqual(try fileBytes(keyFile), oldBytes, "nothing rotated")
            withExtendedLifetime(held) {}
        }

        let rotated = try certagent(["rotate-master-key", "--config", config])
        XCTAssertEqual(rotated.status, 0, rotated.output)
        let newBytes = try fileBytes(keyFile)
        XCTAssertNotEqual(newBytes, oldBytes)
        XCTAssertEqual(fileMode(keyFile), 0o600)
        let newKey = try masterKey(at: keyFile)
        XCTAssertTrue(rotated.stdout.contains("✓ master key rotated: \(oldKey.identifier) → \(newKey.identifier)"), rotated.stdout)
        XCTAssertTrue(rotated.stdout.contains("re-encrypted secrets file \(storage)/secrets.sealed"), rotated.stdout)
        XCTAssertTrue(rotated.stdout.contains("re-encrypted account key \(accountKey)"), rotated.stdout)
        XCTAssertTrue(rotated.stdout.contains("Back it up now"), rotated.stdout)
        for bytes in [oldBytes, newBytes] {
            let hex = bytes.hex
            XCTAssertFalse(rotated.output.contains(hex) || rotated.output.contains(Data(bytes).base64EncodedString()), "a key was printed")
        }
        XCTAssertEqual(filesBelow(storage).filter { $0.hasSuffix(".next") }, [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: keyFile + ".next"))

        // The old key opens nothing any more; the new one opens everything.
        XCTAssertNotEqual(try fileBytes(storage + "/secrets.sealed"), secretsBefore)
        XCTAssertThrowsError(try SecretsFile.open(path: storage + "/secrets.sealed", masterKey: oldKey, createIfMissing: false)) {
            XCTAssertEqual($0 as? SecretsError, .wrongMasterKey(path: storage + "/secrets.sealed"))
        }
        XCTAssertThrowsError(try AccountKeyFile.read(accountKey, masterKey: oldKey))
        XCTAssertEqual(try SecretsFile.open(path: storage + "/secrets.sealed", masterKey: newKey).value(named: "api-token"), Array(token.utf8))
        XCTAssertEqual(try AccountKeyFile.read(accountKey, masterKey: newKey).pkcs8PEM(), accountPEM, "the same account key")

        // The README's openssl command opens the account key with the new key file, and no longer with the old one.
        let opened = try openAccountKeyWithReadmeCommand(masterKey: keyFile, accountKey: accountKey)
        XCTAssertEqual(opened.status, 0, opened.output)
        XCTAssertEqual(opened.stdout, accountPEM)
        let oldCopy = try TemporaryDirectory()
        let stale = try openAccountKeyWithReadmeCommand(masterKey: try oldCopy.write("old.key", bytes: oldBytes), accountKey: accountKey)
        XCTAssertNotEqual(stale.status, 0, stale.output)

        // The commands work with the new key: secret list, and an issuance on the same ACME account.
        let list = try certagent(["secret", "list", "--config", config])
        XCTAssertEqual(list.status, 0, list.output)
        XCTAssertEqual(list.stdout, "api-token\n")
        let bigger = try testbed.writeConfig(certificates + [["name": "two", "domains": ["two.test"], "webroot": two]], storage: storage)
        let accountRequestsBefore = try testbed.acmeRequests().filter { $0 == "POST /sign-me-up" }.count
        let second = try certagent(["issue", "--config", bigger])
        XCTAssertEqual(second.status, 0, second.output)
        XCTAssertTrue(second.stdout.contains("✓ two: issued for two.test"), second.stdout)
        XCTAssertEqual(try accountKeyFile(in: storage), accountKey, "no new account key")
        let requests = try testbed.acmeRequests()
        XCTAssertEqual(requests.filter { $0 == "POST /sign-me-up" }.count, accountRequestsBefore + 1,
                       "the existing account was looked up (onlyReturnExisting), not a new one made: \(requests)")
    }

    func testSystemdCredentialRotationWritesTheNewKeyFileAndFinishesWhenTheCredentialSwitches() throws {
        let directory = try TemporaryDirectory()
        let webroot = try directory.make("public_html")
        let storage = directory.path + "/store"
        let config = try directory.write("config.json", """
            {"email": "admin@example.com", "directory": "https://127.0.0.1:1/dir", "storage": "\(storage)",
             "certificates": [{"name": "x", "domains": ["x.test"], "webroot": "\(webroot)"}]}
            """)
        let credentials = try directory.make("credentials")
        let oldBytes = (0 ..< 32).map { _ in UInt8.random(in: 0 ... 255) }
        _ = try directory.write("credentials/certagent-master-key", bytes: oldBytes)
        var environment = ProcessInfo.processInfo.environment
        environment["CREDENTIALS_DIRECTORY"] = credentials
        func run(_ arguments: [String], input: String? = nil) throws -> Subprocess.Result {
            try runCommand(ProjectPaths.certagentBinary, arguments + ["--config", config], environment: environment, input: input)
        }
        XCTAssertEqual(try run(["secret", "set", "token"], input: "credential-sealed-value").status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path + "/master.key"), "no key file beside a credential")

        let refused = try run(["rotate-master-key"])
        XCTAssertEqual(refused.status, 1, refused.output)
        XCTAssertTrue(refused.stderr.contains("--new-key-file"), refused.stderr)

        let newKeyFile = directory.path + "/master.key.new"
        let rotated = try run(["rotate-master-key", "--new-key-file", newKeyFile])
        XCTAssertEqual(rotated.status, 0, rotated.output)
        XCTAssertEqual(fileMode(newKeyFile), 0o600)
        let newBytes = try fileBytes(newKeyFile)
        XCTAssertEqual(newBytes.count, 32)
        XCTAssertTrue(rotated.stdout.contains("LoadCredential=certagent-master-key:\(newKeyFile)"), rotated.stdout)
        XCTAssertEqual(try fileBytes(directory.path + "/master.key.next"), newBytes)
        XCTAssertThrowsError(try SecretsFile.open(path: storage + "/secrets.sealed", masterKey: try MasterKey(bytes: oldBytes), createIfMissing: false))

        // Until the credential is switched, the key is used from master.key.next (with a notice).
        let meanwhile = try run(["secret", "list"])
        XCTAssertEqual(meanwhile.stdout, "token\n", meanwhile.output)
        XCTAssertTrue(meanwhile.stderr.contains("point LoadCredential=certagent-master-key:"), meanwhile.stderr)

        // The admin points the credential at the new key: the next start removes master.key.next.
        _ = try directory.write("credentials/certagent-master-key", bytes: newBytes)
        let switched = try run(["secret", "list"])
        XCTAssertEqual(switched.stdout, "token\n", switched.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path + "/master.key.next"))
        XCTAssertEqual(try SecretsFile.open(path: storage + "/secrets.sealed", masterKey: try MasterKey(bytes: newBytes)).value(named: "token"),
                       Array("credential-sealed-value".utf8))
    }
}
