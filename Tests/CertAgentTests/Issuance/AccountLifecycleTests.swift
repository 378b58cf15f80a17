import ACME
@testable import CertAgent
import CertCrypto
import Foundation
import Logging
import Synchronization
import TestSupport
import XCTest

/// A store, master key and config on disk with the scripted CA as transport. Each `session` is a fresh start of
/// CertAgent on the same files (as after a crash or a restart).
final class AccountTestbed {
    static let domain = "www.example.test"

    let temporary: TemporaryDirectory
    let webroot: String
    let server: ScriptedACMEServer
    let sink = ARITestbed.LineSink()

    init() throws {
        temporary = try TemporaryDirectory()
        webroot = try temporary.make("webroot")
        server = ScriptedACMEServer(ca: try ScriptedIssuingCA(directory: try temporary.make("ca")), webroots: [Self.domain: webroot])
    }

    var logger: Logger {
        let sink = self.sink
        var logger = Logger(label: "account-test") { label in
            AgentLogHandler(label: label, level: .debug, journald: false) { line in sink.lines.withLock { $0.append(line) } }
        }
        logger.logLevel = .debug
        return logger
    }

    /// Everything logged so far.
    var log: String { sink.lines.withLock { $0.joined(separator: "\n") } }

    /// Starts CertAgent afresh on the same store with `emails` in the config.
    func session(emails: [String] = ["admin@example.test"]) throws -> AgentSession {
        let config: [String: Any] = [
            "directory": ScriptedACMEServer.directoryURL,
            "storage": temporary.path("store"),
            "email": emails,
            "acceptTermsOfService": true,
            "certificates": [["name": "site", "domains": [Self.domain], "webroot": webroot]],
        ]
        let path = try temporary.write("config.json", bytes: Array(try JSONSerialization.data(withJSONObject: config)))
        return try AgentSession(config: try ConfigLoader.load(path: path, environment: [:]), logger: logger,
                                environment: [:], transport: server)
    }

    func accounts(_ session: AgentSession) -> AccountManager {
        AccountManager(store: session.store, config: session.config, secrets: session.secrets)
    }

    /// The thumbprint of the key in the store's `account-key.pem`.
    func storedKeyThumbprint(_ session: AgentSession) throws -> String {
        try AccountKeySigner(key: try AccountKeyFile.read(accounts(session).keyFile, masterKey: session.secrets.masterKey)).thumbprint
    }

    /// Issues the configured certificate through a fresh connection: the CA checks the key authorization against the
    /// key it holds for the account, so this only works when the store's key is the account's.
    func issue(_ session: AgentSession) throws -> IssuedCertificate {
        try session.connect(logger: logger).issue(session.config.certificates[0], logger: logger)
    }
}

/// A throw from a step hook, standing in for a crash right after that step.
struct SimulatedCrash: Error {}

final class AccountRolloverTests: XCTestCase {
    /// For each step of the rollover, a crash right after it leaves an account that works at the next start, with the
    /// old key (the CA never switched) or the new one (it did), and no staged key behind.
    func testACrashAfterEachStepLeavesAnAccountThatWorksWithOneOfTheTwoKeys() throws {
        for step in AccountRolloverStep.allCases {
            let testbed = try AccountTestbed()
            let first = try testbed.session()
            _ = try first.connect(logger: testbed.logger)
            let url = try XCTUnwrap(testbed.server.accountURLs.first)
            let oldThumbprint = try testbed.storedKeyThumbprint(first)
            let accounts = testbed.accounts(first)

            XCTAssertThrowsError(try accounts.rollover(transport: first.transport, logger: testbed.logger) { done in
                if done == step { throw SimulatedCrash() }
            }) { XCTAssertTrue($0 is SimulatedCrash, "\(step): \($0)") }
            let caThumbprint = try XCTUnwrap(testbed.server.keyThumbprint(ofAccount: url))
            XCTAssertEqual(caThumbprint == oldThumbprint, step == .newKeyStaged, "\(step): the CA switched only once asked")
            XCTAssertEqual(FileManager.default.fileExists(atPath: accounts.rolloverKeyFile), step != .keyReplaced,
                           "\(step): the new key is staged until it replaces the old one")

            let restarted = try testbed.session()
            let issued = try testbed.issue(restarted)
            XCTAssertGreaterThan(issued.chainLength, 0)
            XCTAssertEqual(try testbed.storedKeyThumbprint(restarted), caThumbprint, "\(step): the stored key is the one the CA holds\n\(testbed.log)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: accounts.rolloverKeyFile), "\(step): no staged key is left")
            XCTAssertEqual(testbed.server.accountURLs, [url], "\(step): still the one account, no new registration")
            let record = try XCTUnwrap(testbed.accounts(restarted).record())
            XCTAssertEqual(record.keyThumbprint, caThumbprint)
            XCTAssertEqual(record.url, url)
            switch step {
            case .newKeyStaged:
                XCTAssertTrue(testbed.log.contains("interrupted before the CA switched keys: undone"), testbed.log)
            case .changedAtCA:
                XCTAssertTrue(testbed.log.contains("finished an interrupted account key rollover"), testbed.log)
                XCTAssertNotNil(record.keyRolledOverAt)
            case .keyReplaced:
                XCTAssertNil(record.keyRolledOverAt, "the crash came before the record; the key is still the CA's")
            }
        }
    }

    func testAFinishedRolloverSwitchesTheAccountToTheNewKey() throws {
        let testbed = try AccountTestbed()
        let session = try testbed.session()
        _ = try session.connect(logger: testbed.logger)
        let url = try XCTUnwrap(testbed.server.accountURLs.first)
        let accounts = testbed.accounts(session)
        let result = try accounts.rollover(to: .ec384, transport: session.transport, logger: testbed.logger)
        XCTAssertEqual(result.accountURL, url)
        XCTAssertNotEqual(result.oldThumbprint, result.newThumbprint)
        XCTAssertEqual(result.keyType, .ec384)
        XCTAssertNil(testbed.server.account(ofKey: result.oldThumbprint), "the CA no longer knows the old key")
        XCTAssertEqual(testbed.server.account(ofKey: result.newThumbprint), url)
        XCTAssertEqual(try testbed.storedKeyThumbprint(session), result.newThumbprint)
        XCTAssertEqual(try AccountKeyFile.read(accounts.keyFile, masterKey: session.secrets.masterKey).type, .ec384)
        XCTAssertEqual(fileMode(accounts.keyFile), 0o600)
        XCTAssertFalse(FileManager.default.fileExists(atPath: accounts.rolloverKeyFile))
        let record = try XCTUnwrap(accounts.record())
        XCTAssertEqual(record.keyThumbprint, result.newThumbprint)
        XCTAssertEqual(record.keyType, "ec384")
        XCTAssertNotNil(record.keyRolledOverAt)
        XCTAssertGreaterThan(try testbed.issue(session).chainLength, 0)
    }

    func testTheCARefusingTheChangeKeepsTheOldKeyAndDropsTheStagedOne() throws {
        let testbed = try AccountTestbed()
        let session = try testbed.session()
        _ = try session.connect(logger: testbed.logger)
        let oldThumbprint = try testbed.storedKeyThumbprint(session)
        testbed.server.script(keyChangeFailure: .init(status: 409, type: "malformed", detail: "the new key already belongs to another account"))
        let accounts = testbed.accounts(session)
        XCTAssertThrowsError(try accounts.rollover(transport: session.transport, logger: testbed.logger)) {
            XCTAssertTrue("\($0)".contains("already belongs to another account"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: accounts.rolloverKeyFile))
        XCTAssertEqual(try testbed.storedKeyThumbprint(session), oldThumbprint)
        XCTAssertNotNil(testbed.server.account(ofKey: oldThumbprint))
    }

    /// The CA switched keys but its answer never came back: the staged key stays, and the next start adopts it.
    func testALostAnswerIsResolvedAtTheNextStart() throws {
        let testbed = try AccountTestbed()
        let session = try testbed.session()
        _ = try session.connect(logger: testbed.logger)
        let url = try XCTUnwrap(testbed.server.accountURLs.first)
        testbed.server.script(keyChangeAnswerLost: true)
        let accounts = testbed.accounts(session)
        XCTAssertThrowsError(try accounts.rollover(transport: session.transport, logger: testbed.logger))
        XCTAssertTrue(FileManager.default.fileExists(atPath: accounts.rolloverKeyFile))
        let caThumbprint = try XCTUnwrap(testbed.server.keyThumbprint(ofAccount: url))
        XCTAssertNotEqual(try testbed.storedKeyThumbprint(session), caThumbprint)

        let restarted = try testbed.session()
        XCTAssertGreaterThan(try testbed.issue(restarted).chainLength, 0)
        XCTAssertEqual(try testbed.storedKeyThumbprint(restarted), caThumbprint)
        XCTAssertFalse(FileManager.default.fileExists(atPath: accounts.rolloverKeyFile))
    }

    /// A master key rotation while a rollover key is staged re-seals the staged key too, so the rollover still finishes.
    func testAMasterKeyRotationReSealsAStagedRolloverKey() throws {
        let testbed = try AccountTestbed()
        let session = try testbed.session()
        _ = try session.connect(logger: testbed.logger)
        let url = try XCTUnwrap(testbed.server.accountURLs.first)
        let accounts = testbed.accounts(session)
        XCTAssertThrowsError(try accounts.rollover(transport: session.transport, logger: testbed.logger) { done in
            if done == .changedAtCA { throw SimulatedCrash() }
        })
        let files = AgentSecrets.protectedFiles(config: session.config, store: session.store)
        XCTAssertTrue(files.contains(.accountKey(path: accounts.rolloverKeyFile)), "\(files)")
        let source = MasterKeySource(keyFile: session.config.masterKeyFile, createIfMissing: false, environment: [:])
        let newMasterKey = try MasterKeyRotation(source: source, files: files).rotate(try source.load())
        XCTAssertNotNil(try? AccountKeyFile.read(accounts.rolloverKeyFile, masterKey: newMasterKey), "re-sealed under the new master key")

        let restarted = try testbed.session()
        XCTAssertTrue(restarted.secrets.masterKey.isSameKey(as: newMasterKey))
        XCTAssertGreaterThan(try testbed.issue(restarted).chainLength, 0)
        XCTAssertEqual(try testbed.storedKeyThumbprint(restarted), testbed.server.keyThumbprint(ofAccount: url))
    }

    func testTheStagedKeyIsPartOfTheStoreLayout() {
        XCTAssertEqual(StoreLayout.entry(StoreLayout.accountRolloverKeyFile, in: .account), .file)
        XCTAssertEqual(StoreLayout.entry(StoreLayout.accountRolloverKeyFile + ".next", in: .account), .file)
        XCTAssertEqual(StoreLayout.entry("." + StoreLayout.accountRolloverKeyFile + ".tmp-1-abcdef", in: .account), .temporary)
    }
}

final class AccountContactTests: XCTestCase {
    /// A changed `email` is sent to the CA at the next connection, logged, and sent only once.
    func testAChangedEmailIsPushedAtTheNextConnection() throws {
        let testbed = try AccountTestbed()
        _ = try testbed.session(emails: ["old@example.test"]).connect(logger: testbed.logger)
        let url = try XCTUnwrap(testbed.server.accountURLs.first)
        XCTAssertEqual(testbed.server.contact(ofAccount: url), ["mailto:old@example.test"])
        XCTAssertFalse(testbed.log.contains("sent the changed contact"))

        _ = try testbed.session(emails: ["new@example.test", "ops@example.test"]).connect(logger: testbed.logger)
        XCTAssertEqual(testbed.server.contact(ofAccount: url), ["mailto:new@example.test", "mailto:ops@example.test"])
        XCTAssertTrue(testbed.log.contains("sent the changed contact to the CA"), testbed.log)
        let session = try testbed.session(emails: ["new@example.test", "ops@example.test"])
        XCTAssertEqual(testbed.accounts(session).record()?.contact, ["mailto:new@example.test", "mailto:ops@example.test"])

        let updates = { testbed.server.requests.filter { $0.url == url }.count }
        let before = updates()
        _ = try session.connect(logger: testbed.logger)
        XCTAssertEqual(updates(), before, "an unchanged contact is not sent again")
        XCTAssertEqual(testbed.server.accountURLs, [url])
    }

    func testAccountUpdateSendsTheConfigsContact() throws {
        let testbed = try AccountTestbed()
        let session = try testbed.session(emails: [])
        let accounts = testbed.accounts(session)
        XCTAssertThrowsError(try accounts.updateContact(transport: session.transport, logger: testbed.logger)) {
            XCTAssertEqual($0 as? AccountLifecycleError, .noAccount(directoryURL: ScriptedACMEServer.directoryURL))
        }
        _ = try session.connect(logger: testbed.logger)
        let url = try XCTUnwrap(testbed.server.accountURLs.first)
        let changed = try testbed.session(emails: ["a@example.test"])
        let account = try testbed.accounts(changed).updateContact(transport: changed.transport, logger: testbed.logger)
        XCTAssertEqual(account.contact, ["mailto:a@example.test"])
        XCTAssertEqual(testbed.server.contact(ofAccount: url), ["mailto:a@example.test"])
        let overview = try testbed.accounts(changed).overview(transport: changed.transport, logger: testbed.logger)
        XCTAssertEqual(overview.contact, ["mailto:a@example.test"])
        XCTAssertEqual(overview.url, url)
        XCTAssertEqual(overview.status, "valid")
        XCTAssertEqual(overview.keyType, "ec256")
        XCTAssertEqual(overview.keyThumbprint, try testbed.storedKeyThumbprint(changed))
        XCTAssertNotNil(overview.createdAt)
    }

    func testShowWithoutAnAccountCreatesNothing() throws {
        let testbed = try AccountTestbed()
        let session = try testbed.session()
        let accounts = testbed.accounts(session)
        let overview = try accounts.overview(transport: session.transport, logger: testbed.logger)
        XCTAssertFalse(overview.exists)
        XCTAssertTrue(overview.text.contains("no account at \(ScriptedACMEServer.directoryURL)"), overview.text)
        XCTAssertFalse(accounts.hasKey, "no key was made")
        XCTAssertEqual(testbed.server.accountURLs, [])
        XCTAssertFalse(try overview.json().contains("\"url\""), "fields that do not apply are left out")
    }
}

final class AccountDeactivationTests: XCTestCase {
    func testDeactivationForgetsTheKeyAndTheNextIssuanceRegistersANewAccount() throws {
        let testbed = try AccountTestbed()
        let session = try testbed.session()
        _ = try session.connect(logger: testbed.logger)
        let url = try XCTUnwrap(testbed.server.accountURLs.first)
        let accounts = testbed.accounts(session)
        let record = try accounts.deactivate(transport: session.transport, logger: testbed.logger)
        XCTAssertTrue(testbed.server.isDeactivated(url))
        XCTAssertEqual(record.url, url)
        XCTAssertNotNil(record.deactivatedAt)
        XCTAssertFalse(accounts.hasKey)
        let overview = try accounts.overview(transport: session.transport, logger: testbed.logger)
        XCTAssertEqual(overview.status, "deactivated")
        XCTAssertEqual(overview.url, url)

        let restarted = try testbed.session()
        XCTAssertGreaterThan(try testbed.issue(restarted).chainLength, 0)
        XCTAssertEqual(testbed.server.accountURLs.count, 2)
        let newRecord = try XCTUnwrap(testbed.accounts(restarted).record())
        XCTAssertNotEqual(newRecord.url, url)
        XCTAssertNil(newRecord.deactivatedAt)
        XCTAssertGreaterThanOrEqual(newRecord.createdAt, try XCTUnwrap(record.deactivatedAt).addingTimeInterval(-1))
    }

    func testACrashAfterEachStepOfADeactivationIsResolvedAtTheNextStart() throws {
        for step in AccountDeactivationStep.allCases {
            let testbed = try AccountTestbed()
            let session = try testbed.session()
            _ = try session.connect(logger: testbed.logger)
            let url = try XCTUnwrap(testbed.server.accountURLs.first)
            XCTAssertThrowsError(try testbed.accounts(session).deactivate(transport: session.transport, logger: testbed.logger) { done in
                if done == step { throw SimulatedCrash() }
            })
            XCTAssertEqual(testbed.server.isDeactivated(url), step != .requestNoted, "\(step)")

            let restarted = try testbed.session()
            XCTAssertGreaterThan(try testbed.issue(restarted).chainLength, 0, "\(step)")
            let record = try XCTUnwrap(testbed.accounts(restarted).record())
            XCTAssertNil(record.deactivationRequestedAt, "\(step)")
            if step == .requestNoted {
                XCTAssertEqual(testbed.server.accountURLs, [url], "\(step): the CA never deactivated it, so it is still used")
                XCTAssertEqual(record.url, url)
            } else {
                XCTAssertEqual(testbed.server.accountURLs.count, 2, "\(step): a new account was registered\n\(testbed.log)")
                XCTAssertNotEqual(record.url, url)
            }
        }
    }

    /// An account deactivated elsewhere: connecting says what to do; `deactivate` then only forgets it.
    func testAnAccountDeactivatedElsewhereIsExplainedAndForgotten() throws {
        let testbed = try AccountTestbed()
        let session = try testbed.session()
        let client = try session.connect(logger: testbed.logger).client
        _ = try client.deactivateAccount()
        let restarted = try testbed.session()
        XCTAssertThrowsError(try restarted.connect(logger: testbed.logger)) {
            XCTAssertTrue("\($0)".contains("`certagent account deactivate --yes` forgets it"), "\($0)")
        }
        try testbed.accounts(restarted).deactivate(transport: restarted.transport, logger: testbed.logger)
        XCTAssertGreaterThan(try testbed.issue(try testbed.session()).chainLength, 0)
        XCTAssertEqual(testbed.server.accountURLs.count, 2)
    }
}

/// A daemon connected before `account rollover` or `account deactivate` reconnects with the store's key afterwards.
final class DaemonAccountChangeTests: XCTestCase {
    private func renewNow(_ bed: ARITestbed) {
        let now = ARITestbed.wholeSecond(Date())
        bed.server.script(renewalInfo: .window(start: now.addingTimeInterval(-3_600), end: now.addingTimeInterval(86_400), retryAfter: nil))
    }

    func testARunningServiceSignsWithTheRolledOverKey() throws {
        let bed = try ARITestbed()
        _ = try bed.issueFirstCertificate()
        let accounts = AccountManager(store: bed.session.store, config: bed.session.config, secrets: bed.session.secrets)
        let result = try accounts.rollover(transport: bed.session.transport, logger: Logger(label: "test"))
        renewNow(bed)
        guard case .renewed = bed.service.process(ARITestbed.name) else { return XCTFail(bed.log) }
        // The CA checks the key authorization against the account's key now: only the new key's thumbprint passes.
        XCTAssertEqual(bed.server.issued.count, 2)
        XCTAssertEqual(bed.server.keyThumbprint(ofAccount: result.accountURL), result.newThumbprint)
        XCTAssertEqual(bed.server.accountURLs, [result.accountURL])
    }

    func testARunningServiceRegistersANewAccountAfterADeactivation() throws {
        let bed = try ARITestbed()
        _ = try bed.issueFirstCertificate()
        let accounts = AccountManager(store: bed.session.store, config: bed.session.config, secrets: bed.session.secrets)
        let record = try accounts.deactivate(transport: bed.session.transport, logger: Logger(label: "test"))
        renewNow(bed)
        guard case .renewed = bed.service.process(ARITestbed.name) else { return XCTFail(bed.log) }
        XCTAssertEqual(bed.server.accountURLs.count, 2)
        XCTAssertNotEqual(accounts.record()?.url, record.url)
    }
}

final class AccountLockTests: XCTestCase {
    /// A connection that finds a staged rollover key waits while another holder (the rollover, in another process) has
    /// the account directory's lock, and resolves it only then.
    func testAConnectionFindingAStagedKeyWaitsForTheAccountLock() throws {
        let testbed = try AccountTestbed()
        let session = try testbed.session()
        _ = try session.connect(logger: testbed.logger)
        let url = try XCTUnwrap(testbed.server.accountURLs.first)
        let accounts = testbed.accounts(session)
        XCTAssertThrowsError(try accounts.rollover(transport: session.transport, logger: testbed.logger) { done in
            if done == .newKeyStaged { throw SimulatedCrash() }
        })
        var held: FileLock? = try accounts.lock()
        XCTAssertNotNil(held)
        let finished = Mutex(false)
        let done = expectation(description: "connected")
        let logger = testbed.logger
        Thread.detachNewThread {
            _ = try? session.connect(logger: logger)
            finished.withLock { $0 = true }
            done.fulfill()
        }
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertFalse(finished.withLock { $0 }, "connect waits while the lock is held")
        XCTAssertTrue(FileManager.default.fileExists(atPath: accounts.rolloverKeyFile), "and leaves the staged key alone meanwhile")
        held = nil
        wait(for: [done], timeout: 30)
        XCTAssertFalse(FileManager.default.fileExists(atPath: accounts.rolloverKeyFile))
        XCTAssertEqual(testbed.server.accountURLs, [url])
    }

    /// A key replaced between loading it and registering it (a rollover or deactivation elsewhere) is not registered.
    func testAKeyReplacedWhileConnectingIsNotRegistered() throws {
        let testbed = try AccountTestbed()
        let session = try testbed.session()
        let accounts = testbed.accounts(session)
        let loaded = try accounts.accountKey(logger: testbed.logger)
        try AccountKeyFile.write(try PrivateKey.generate(.ec256), to: accounts.keyFile, masterKey: session.secrets.masterKey)
        XCTAssertThrowsError(try accounts.connect(transport: session.transport, key: loaded, logger: testbed.logger)) {
            XCTAssertEqual($0 as? AccountLifecycleError, .keyChangedMeanwhile(keyFile: accounts.keyFile))
        }
        XCTAssertEqual(testbed.server.accountURLs, [], "nothing registered")
        _ = try accounts.connect(transport: session.transport, logger: testbed.logger)
        XCTAssertEqual(testbed.server.accountURLs.count, 1)
    }
}

extension AccountContactTests {
    /// Without a record of what was sent (a CA that keeps no contacts answers none), nothing is pushed: only a change
    /// from the recorded contact is.
    func testAnAccountFoundWithoutARecordIsRecordedNotUpdated() throws {
        let testbed = try AccountTestbed()
        let session = try testbed.session(emails: ["a@example.test"])
        _ = try session.connect(logger: testbed.logger)
        let url = try XCTUnwrap(testbed.server.accountURLs.first)
        let accounts = testbed.accounts(session)
        try FileManager.default.removeItem(atPath: accounts.store.keys.accountRecord(directoryURL: accounts.config.directoryURL))
        let requests = testbed.server.requests.count
        let changed = try testbed.session(emails: ["b@example.test"])
        _ = try changed.connect(logger: testbed.logger)
        XCTAssertFalse(testbed.server.requests.dropFirst(requests).contains { $0.url == url }, "no update request")
        XCTAssertEqual(testbed.accounts(changed).record()?.contact, ["mailto:b@example.test"])
        XCTAssertEqual(testbed.accounts(changed).record()?.url, url)
    }
}
