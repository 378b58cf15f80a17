import CertCrypto
import Foundation
import TestSupport
import XCTest

/// `certagent delete` and `certagent rollback` through the real binary against a real Pebble.
final class DeleteRollbackTests: XCTestCase {
    private func certagent(_ arguments: [String]) throws -> Subprocess.Result {
        try runCommand(ProjectPaths.certagentBinary, arguments)
    }

    private func serial(ofCertificateAt path: String) throws -> String {
        try Certificate(pem: String(contentsOfFile: path, encoding: .utf8)).serialHex
    }

    private func entry(_ site: String, _ testbed: Testbed, install: [String: Any]? = nil) throws -> [String: Any] {
        var entry: [String: Any] = ["name": site, "domains": [site, "www." + site], "webroot": try testbed.webroot(for: site)]
        if let install { entry["install"] = install }
        return entry
    }

    func testDeleteRemovesOneCertificateKeepsTheRestByteForByteAndRevokesWhenAsked() throws {
        let testbed = try Testbed()
        let store = testbed.directory + "/store"
        let deployed = testbed.directory + "/deployed/one"
        try FileManager.default.createDirectory(atPath: deployed, withIntermediateDirectories: true)
        let config = try testbed.writeConfig([try entry("one.test", testbed, install: ["directory": deployed]), try entry("two.test", testbed),
                                              try entry("three.test", testbed)], storage: store)
        let issued = try certagent(["issue", "--config", config])
        XCTAssertEqual(issued.status, 0, issued.output)
        let original = try String(contentsOfFile: config, encoding: .utf8)
        let twoChain = try String(contentsOfFile: store + "/certificates/two.test/current/fullchain.pem", encoding: .utf8)

        // Without a terminal and without --yes: refused, nothing changed.
        let unconfirmed = try certagent(["delete", "--config", config, "one.test"])
        XCTAssertEqual(unconfirmed.status, 2, unconfirmed.output)
        XCTAssertTrue(unconfirmed.stderr.contains("standard input is not a terminal: add --yes to confirm (nothing was changed)"), unconfirmed.stderr)
        XCTAssertEqual(try String(contentsOfFile: config, encoding: .utf8), original)
        XCTAssertTrue(FileManager.default.fileExists(atPath: store + "/certificates/one.test/current/privkey.pem"))

        let deleted = try certagent(["delete", "--yes", "--config", config, "one.test"])
        XCTAssertEqual(deleted.status, 0, deleted.output)
        XCTAssertTrue(deleted.stdout.contains("✓ one.test: removed from \(config)"), deleted.stdout)
        XCTAssertTrue(deleted.stdout.contains("✓ one.test: removed \(store)/certificates/one.test"), deleted.stdout)
        XCTAssertTrue(deleted.stdout.contains("still in place, remove them yourself if unused: \(deployed)/privkey.pem"), deleted.stdout)
        XCTAssertTrue(deleted.stdout.contains("no certagent daemon is running on this store"), deleted.stdout)
        // The config is the original with exactly one contiguous run of bytes — the entry — cut out.
        let edited = try String(contentsOfFile: config, encoding: .utf8)
        let prefix = zip(original.utf8, edited.utf8).prefix { $0 == $1 }.count
        let suffix = zip(original.utf8.reversed(), edited.utf8.reversed()).prefix { $0 == $1 }.count
        XCTAssertGreaterThanOrEqual(prefix + suffix, edited.utf8.count, "everything else is byte for byte the same")
        let cut = String(decoding: Array(original.utf8)[min(prefix, original.utf8.count - suffix) ..< original.utf8.count - suffix], as: UTF8.self)
        XCTAssertTrue(cut.contains("one.test") && !cut.contains("two.test") && !cut.contains("three.test"), cut)
        XCTAssertFalse(edited.contains("one.test"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: store + "/certificates/one.test"))
        XCTAssertEqual(try String(contentsOfFile: store + "/certificates/two.test/current/fullchain.pem", encoding: .utf8), twoChain)
        XCTAssertTrue(FileManager.default.fileExists(atPath: deployed + "/fullchain.pem"), "deployed copies are left in place")
        let status = try certagent(["status", "--config", config])
        XCTAssertEqual(status.status, 0, status.output)
        XCTAssertFalse(status.stdout.contains("one.test"), status.stdout)

        // --revoke: the CA has it revoked before the files go.
        let threeSerial = try serial(ofCertificateAt: store + "/certificates/three.test/current/cert.pem")
        XCTAssertEqual(try testbed.pebbleStatus(ofSerial: threeSerial), "Valid")
        let revoked = try certagent(["delete", "--revoke", "--yes", "--config", config, "three.test"])
        XCTAssertEqual(revoked.status, 0, revoked.output)
        XCTAssertTrue(revoked.stdout.contains("✓ three.test: certificate \(threeSerial) revoked (cessationOfOperation)"), revoked.stdout)
        XCTAssertEqual(try testbed.pebbleStatus(ofSerial: threeSerial), "Revoked")
        XCTAssertFalse(FileManager.default.fileExists(atPath: store + "/certificates/three.test"))

        // The last certificate cannot go: a config lists at least one.
        let last = try certagent(["delete", "--yes", "--config", config, "two.test"])
        XCTAssertEqual(last.status, 2, last.output)
        XCTAssertTrue(last.stderr.contains("two.test is the only certificate in \(config)"), last.stderr)
        XCTAssertEqual(try String(contentsOfFile: store + "/certificates/two.test/current/fullchain.pem", encoding: .utf8), twoChain)
    }

    /// Runs certagent on a pseudo-terminal (util-linux `script`), typing `answer` at its question.
    private func certagentOnATerminal(_ arguments: [String], answer: String) throws -> Subprocess.Result {
        let command = ([ProjectPaths.certagentBinary] + arguments).map { "'" + $0 + "'" }.joined(separator: " ")
        return try runCommand("script", ["-qec", command, "/dev/null"], input: answer + "\n")
    }

    func testRevokeAndDeleteAskOnATerminalAndDoNothingUnlessTheAnswerIsYes() throws {
        let testbed = try Testbed()
        let store = testbed.directory + "/store"
        let config = try testbed.writeConfig([try entry("asked.test", testbed), try entry("other.test", testbed)], storage: store)
        XCTAssertEqual(try certagent(["issue", "--config", config]).status, 0)
        let original = try String(contentsOfFile: config, encoding: .utf8)
        let serial = try serial(ofCertificateAt: store + "/certificates/asked.test/current/cert.pem")

        let declined = try certagentOnATerminal(["revoke", "--config", config, "asked.test"], answer: "n")
        XCTAssertEqual(declined.status, 1, declined.output)
        XCTAssertTrue(declined.stdout.contains("Revoke the current certificate of asked.test at the CA (unspecified)? This cannot be undone. [y/N]"), declined.stdout)
        XCTAssertTrue(declined.stdout.contains("not confirmed: nothing was changed"), declined.stdout)
        XCTAssertEqual(try testbed.pebbleStatus(ofSerial: serial), "Valid")

        let notDeleted = try certagentOnATerminal(["delete", "--config", config, "asked.test"], answer: "")
        XCTAssertEqual(notDeleted.status, 1, notDeleted.output)
        XCTAssertTrue(notDeleted.stdout.contains("Delete asked.test? [y/N]"), notDeleted.stdout)
        XCTAssertEqual(try String(contentsOfFile: config, encoding: .utf8), original)
        XCTAssertTrue(FileManager.default.fileExists(atPath: store + "/certificates/asked.test/current/cert.pem"))

        let confirmed = try certagentOnATerminal(["revoke", "--config", config, "asked.test"], answer: "y")
        XCTAssertEqual(confirmed.status, 0, confirmed.output)
        XCTAssertEqual(try testbed.pebbleStatus(ofSerial: serial), "Revoked")
    }

    func testStatusReportsACertificateRemovedFromTheConfigByHandUntilItIsDeleted() throws {
        let testbed = try Testbed()
        let store = testbed.directory + "/store"
        let both = try testbed.writeConfig([try entry("kept.test", testbed), try entry("dropped.test", testbed)], storage: store)
        let issued = try certagent(["issue", "--config", both])
        XCTAssertEqual(issued.status, 0, issued.output)
        let config = try testbed.writeConfig([try entry("kept.test", testbed)], storage: store)   // edited by hand

        let status = try certagent(["status", "--config", config])
        XCTAssertEqual(status.status, 0, status.output)
        XCTAssertTrue(status.stdout.contains("✗ dropped.test: dropped.test, www.dropped.test"), status.stdout)
        XCTAssertTrue(status.stdout.contains("state         in the store, not in the config: `certagent delete dropped.test` removes its files"), status.stdout)
        let json = try certagent(["status", "--json", "--config", config])
        let reports = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(reports.map { $0["name"] as? String }, ["kept.test", "dropped.test"])
        XCTAssertEqual(reports.map { $0["configured"] as? Bool }, [true, false])
        XCTAssertEqual(reports[1]["healthy"] as? Bool, false)

        let deleted = try certagent(["delete", "--yes", "--config", config, "dropped.test"])
        XCTAssertEqual(deleted.status, 0, deleted.output)
        XCTAssertTrue(deleted.stdout.contains("(it is no longer in \(config))"), deleted.stdout)
        let after = try certagent(["status", "--config", config])
        XCTAssertFalse(after.stdout.contains("dropped.test"), after.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: store + "/certificates/kept.test/current/fullchain.pem"))
        let unknown = try certagent(["delete", "--yes", "--config", config, "never.test"])
        XCTAssertEqual(unknown.status, 2, unknown.output)
    }

    func testRollbackRestoresTheFirstCertificateDeploysItAndASecondRollbackUndoesIt() throws {
        let testbed = try Testbed()
        let store = testbed.directory + "/store"
        let deployed = testbed.directory + "/deployed"
        let reloads = testbed.directory + "/reloads.log"
        try FileManager.default.createDirectory(atPath: deployed, withIntermediateDirectories: true)
        let install: [String: Any] = ["directory": deployed, "reload": ["/bin/sh", "-c", "echo \"$CERTAGENT_NAME\" >> \(reloads)"]]
        let config = try testbed.writeConfig([try entry("roll.test", testbed, install: install), try entry("single.test", testbed)], storage: store)
        let current = store + "/certificates/roll.test/current/cert.pem"
        XCTAssertEqual(try certagent(["issue", "--config", config]).status, 0)
        let first = try serial(ofCertificateAt: current)
        let renewed = try certagent(["renew", "--force", "--config", config, "roll.test"])
        XCTAssertEqual(renewed.status, 0, renewed.output)
        XCTAssertTrue(renewed.stdout.contains("    deployed      \(deployed)/"), "renew --force says what it deployed: \(renewed.stdout)")
        XCTAssertTrue(renewed.stdout.contains("; ran /bin/sh -c echo"), "and the reload it ran: \(renewed.stdout)")
        let second = try serial(ofCertificateAt: current)
        XCTAssertNotEqual(first, second)

        let rolledBack = try certagent(["rollback", "--config", config, "roll.test"])
        XCTAssertEqual(rolledBack.status, 0, rolledBack.output)
        XCTAssertEqual(try serial(ofCertificateAt: current), first)
        XCTAssertEqual(try serial(ofCertificateAt: deployed + "/cert.pem"), first, "deployed through the install block")
        XCTAssertEqual(try String(contentsOfFile: reloads, encoding: .utf8), "roll.test\nroll.test\nroll.test\n", "reloaded after the issue, the renewal and the rollback")
        XCTAssertTrue(rolledBack.stdout.contains("✓ roll.test: rolled back to certificate \(first)"), rolledBack.stdout)
        XCTAssertTrue(rolledBack.stdout.contains("kept          \(second) as previous: `certagent rollback roll.test` again undoes this"), rolledBack.stdout)
        XCTAssertTrue(rolledBack.stdout.contains("ran the reload command"), rolledBack.stdout)
        let status = try certagent(["status", "--json", "--config", config])
        let reports = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(reports[0]["serial"] as? String, first)
        XCTAssertEqual(reports[0]["nextAction"] as? String, "renewAt", "planned from its lifetime, not renewed away at once")

        let undone = try certagent(["rollback", "--config", config, "roll.test"])
        XCTAssertEqual(undone.status, 0, undone.output)
        XCTAssertEqual(try serial(ofCertificateAt: current), second)
        XCTAssertEqual(try serial(ofCertificateAt: deployed + "/cert.pem"), second)

        // One issuance only: nothing kept to roll back to.
        let nothing = try certagent(["rollback", "--config", config, "single.test"])
        XCTAssertEqual(nothing.status, 1, nothing.output)
        XCTAssertTrue(nothing.stderr.contains("single.test has no previous certificate kept"), nothing.stderr)
        XCTAssertTrue(nothing.stderr.contains("(nothing was changed)"), nothing.stderr)
    }

    func testRollbackToAnExpiredCertificateIsRefused() throws {
        let testbed = try Testbed(options: ["--validity", "6"])
        let store = testbed.directory + "/store"
        let config = try testbed.writeConfig([try entry("brief.test", testbed), try entry("other.test", testbed)], storage: store)
        let current = store + "/certificates/brief.test/current/cert.pem"
        XCTAssertEqual(try certagent(["issue", "--config", config, "brief.test"]).status, 0)
        let first = try Certificate(pem: String(contentsOfFile: current, encoding: .utf8))
        let renewed = try certagent(["renew", "--force", "--config", config, "brief.test"])
        XCTAssertEqual(renewed.status, 0, renewed.output)
        let second = try serial(ofCertificateAt: current)
        let wait = first.notAfter.timeIntervalSinceNow + 1.5
        if wait > 0 { Thread.sleep(forTimeInterval: wait) }

        let refused = try certagent(["rollback", "--config", config, "brief.test"])
        XCTAssertEqual(refused.status, 1, refused.output)
        XCTAssertTrue(refused.stderr.contains("✗ brief.test: cannot roll back: the previous certificate expired on "), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("`certagent renew --force` gets a new one instead (nothing was changed)"), refused.stderr)
        XCTAssertEqual(try serial(ofCertificateAt: current), second)
    }
}

extension Testbed {
    /// What Pebble's management interface says of the certificate with serial `serialHex` (`Valid`, `Revoked`).
    func pebbleStatus(ofSerial serialHex: String) throws -> String? {
        let trimmed = String(serialHex.drop { $0 == "0" })
        let result = try runCommand("curl", ["-fsS", "--cacert", caFile, values["TESTBED_MANAGEMENT_URL"]! + "/cert-status-by-serial/" + trimmed])
        guard result.status == 0 else { throw NSError(domain: "Pebble", code: Int(result.status), userInfo: [NSLocalizedDescriptionKey: result.output]) }
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return object?["Status"] as? String
    }
}
