import CertAgent
import Foundation
import Logging
import TestSupport
import XCTest

/// `certagent account show/update/rollover/deactivate` against a real Pebble: every fact checked is the CA's answer.
final class AccountCommandTests: XCTestCase {
    private var testbed: Testbed!
    private var storage = ""
    private var certificates: [[String: Any]] = []

    override func setUpWithError() throws {
        testbed = try Testbed()
        storage = testbed.directory + "/store"
        certificates = [
            ["name": "shop", "domains": ["shop.test"], "webroot": try testbed.webroot(for: "shop.test")],
            ["name": "blog", "domains": ["blog.test"], "webroot": try testbed.webroot(for: "blog.test")],
        ]
    }

    override func tearDown() {
        testbed = nil
    }

    private func config(emails: [String] = ["admin@example.com"], storage: String? = nil) throws -> String {
        try testbed.writeConfig(certificates, storage: storage ?? self.storage, extra: ["email": emails])
    }

    @discardableResult
    private func certagent(_ arguments: [String], expect status: Int32 = 0, file: StaticString = #filePath, line: UInt = #line) throws -> Subprocess.Result {
        let result = try runCommand(ProjectPaths.certagentBinary, arguments)
        XCTAssertEqual(result.status, status, "certagent \(arguments.joined(separator: " "))\nstdout:\n\(result.stdout)\nstderr:\n\(result.stderr)",
                       file: file, line: line)
        return result
    }

    /// `account show --json`, parsed.
    private func show(_ config: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let result = try certagent(["account", "show", "--json", "--config", config], file: file, line: line)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], result.stdout, file: file, line: line)
    }

    func testShowUpdateRolloverAndDeactivateAgainstPebble() throws {
        let config = try config()

        // No account yet: said plainly, and nothing is registered by looking.
        let none = try certagent(["account", "show", "--config", config])
        XCTAssertTrue(none.stdout.contains("no account at \(testbed.directoryURL) yet"), none.stdout)
        XCTAssertEqual(try show(config)["exists"] as? Bool, false)
        XCTAssertFalse(try testbed.acmeRequests().contains("POST /sign-me-up"), "looking registers nothing")
        try certagent(["account", "update", "--config", config], expect: 1)

        try certagent(["issue", "--config", config, "shop"])
        let first = try show(config)
        XCTAssertEqual(first["exists"] as? Bool, true)
        XCTAssertEqual(first["status"] as? String, "valid")
        XCTAssertEqual(first["directory"] as? String, testbed.directoryURL)
        XCTAssertEqual(first["contact"] as? [String], ["mailto:admin@example.com"])
        XCTAssertEqual(first["keyType"] as? String, "ec256")
        let firstThumbprint = try XCTUnwrap(first["keyThumbprint"] as? String)
        XCTAssertEqual(firstThumbprint.count, 43, "base64url of a SHA-256 digest")
        let url = try XCTUnwrap(first["url"] as? String)
        XCTAssertTrue(url.contains("/my-account/"), url)
        XCTAssertNotNil(first["createdAt"] as? String)
        let text = try certagent(["account", "show", "--config", config]).stdout
        XCTAssertTrue(text.contains("status:  valid") && text.contains(firstThumbprint) && text.contains(url), text)

        // update: Pebble returns the new contacts, read back from the CA.
        let changed = try self.config(emails: ["ops@example.com", "security@example.com"])
        let updated = try certagent(["account", "update", "--config", changed])
        XCTAssertTrue(updated.stdout.contains("✓ account \(url)"), updated.stdout)
        XCTAssertEqual(try show(changed)["contact"] as? [String], ["mailto:ops@example.com", "mailto:security@example.com"])

        // rollover: the old key is refused afterwards, the new one issues.
        let keyFile = try XCTUnwrap(first["keyFile"] as? String)
        let oldKey = try Data(contentsOf: URL(fileURLWithPath: keyFile))
        let rolled = try certagent(["account", "rollover", "--config", changed])
        XCTAssertTrue(rolled.stdout.contains("✓ account \(url): key rolled over"), rolled.stdout)
        let afterRollover = try show(changed)
        let newThumbprint = try XCTUnwrap(afterRollover["keyThumbprint"] as? String)
        XCTAssertNotEqual(newThumbprint, firstThumbprint)
        XCTAssertEqual(afterRollover["url"] as? String, url, "the same account")
        XCTAssertEqual(afterRollover["status"] as? String, "valid")
        XCTAssertNotNil(afterRollover["keyRolledOverAt"] as? String)
        XCTAssertFalse(FileManager.default.fileExists(atPath: keyFile + ".rollover"))

        let oldStore = testbed.directory + "/store-with-the-old-key"
        try FileManager.default.copyItem(atPath: storage, toPath: oldStore)
        try oldKey.write(to: URL(fileURLWithPath: oldStore + "/accounts/" + URL(fileURLWithPath: keyFile).deletingLastPathComponent().lastPathComponent + "/account-key.pem"))
        let withOldKey = try show(try self.config(storage: oldStore))
        XCTAssertEqual(withOldKey["exists"] as? Bool, false, "Pebble knows no account for the old key: \(withOldKey)")
        XCTAssertEqual(withOldKey["keyThumbprint"] as? String, firstThumbprint)
        let oldKeyText = try certagent(["account", "show", "--config", try self.config(storage: oldStore)]).stdout
        XCTAssertTrue(oldKeyText.contains("knows no account for the key \(firstThumbprint)"), oldKeyText)

        try certagent(["issue", "--config", changed, "blog"])
        XCTAssertEqual(try show(changed)["keyThumbprint"] as? String, newThumbprint)

        // deactivate: refused without a terminal and --yes, then done; the next issuance registers a new account.
        let copiedStore = testbed.directory + "/store-with-the-deactivated-key"
        try FileManager.default.copyItem(atPath: storage, toPath: copiedStore)
        let refused = try certagent(["account", "deactivate", "--config", changed], expect: 2)
        XCTAssertTrue(refused.stderr.contains("add --yes"), refused.stderr)
        XCTAssertEqual(try show(changed)["status"] as? String, "valid")
        let deactivated = try certagent(["account", "deactivate", "--yes", "--config", changed])
        XCTAssertTrue(deactivated.stdout.contains("✓ account \(url) deactivated"), deactivated.stdout)
        let gone = try show(changed)
        XCTAssertEqual(gone["status"] as? String, "deactivated")
        XCTAssertEqual(gone["url"] as? String, url)
        XCTAssertNotNil(gone["deactivatedAt"] as? String)
        XCTAssertNil(gone["keyThumbprint"])

        // Pebble refuses the deactivated account's key: a copy of the store still holding it is told what to do.
        let copyConfig = try self.config(emails: ["ops@example.com", "security@example.com"], storage: copiedStore)
        let refusedKey = try show(copyConfig)
        XCTAssertEqual(refusedKey["status"] as? String, "deactivated")
        XCTAssertTrue((refusedKey["refusal"] as? String ?? "").contains("unauthorized"), "\(refusedKey)")
        let stale = try certagent(["renew", "--force", "--config", copyConfig, "shop"], expect: 1)
        XCTAssertTrue(stale.stderr.contains("`certagent account deactivate --yes` forgets it here"), stale.stderr)

        try certagent(["renew", "--force", "--config", changed, "shop"])
        let fresh = try show(changed)
        XCTAssertEqual(fresh["status"] as? String, "valid")
        let freshURL = try XCTUnwrap(fresh["url"] as? String)
        XCTAssertNotEqual(freshURL, url, "a new registration")
        XCTAssertNotEqual(fresh["keyThumbprint"] as? String, newThumbprint, "with a new key")
        XCTAssertEqual(fresh["contact"] as? [String], ["mailto:ops@example.com", "mailto:security@example.com"])
        XCTAssertNil(fresh["deactivatedAt"])
    }

    /// A rollover cut short right after staging the new key, and right after Pebble switched keys: the next `certagent`
    /// run finds the staged key, asks Pebble which key the account has, and issues with it.
    func testARolloverCutShortIsFinishedOrUndoneByTheNextRun() throws {
        for step in [AccountRolloverStep.newKeyStaged, .changedAtCA] {
            let storage = testbed.directory + "/store-\(step.rawValue)"
            let config = try self.config(storage: storage)
            try certagent(["issue", "--config", config, "shop"])
            let before = try show(config)
            let url = try XCTUnwrap(before["url"] as? String)

            let session = try AgentSession(config: try ConfigLoader.load(path: config), logger: Logger(label: "test"))
            let accounts = AccountManager(store: session.store, config: session.config, secrets: session.secrets)
            var staged = ""
            XCTAssertThrowsError(try accounts.rollover(transport: session.transport, logger: Logger(label: "test")) { done in
                guard done == step else { return }
                staged = try AccountKeySigner(key: try AccountKeyFile.read(accounts.rolloverKeyFile, masterKey: session.secrets.masterKey)).thumbprint
                throw CancellationError()   // the process dies here
            })
            XCTAssertTrue(FileManager.default.fileExists(atPath: accounts.rolloverKeyFile))
            let expected = step == .newKeyStaged ? try XCTUnwrap(before["keyThumbprint"] as? String) : staged

            let issued = try certagent(["issue", "--verbose", "--config", config, "blog"])
            XCTAssertTrue(issued.stdout.contains("✓ blog: issued"), issued.stdout)
            XCTAssertTrue(issued.stderr.contains(step == .newKeyStaged ? "undone" : "finished an interrupted account key rollover"), issued.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: accounts.rolloverKeyFile))
            let after = try show(config)
            XCTAssertEqual(after["keyThumbprint"] as? String, expected, "\(step)")
            XCTAssertEqual(after["url"] as? String, url, "\(step): the same account")
        }
    }
}
