@testable import CertAgent
import CertCrypto
import Foundation
import Synchronization
import TestSupport
import XCTest

/// Real file operations that "crash" (throw, with no clean-up) once `limit` steps have succeeded.
final class CrashingFileOperations: RotationFileOperations {
    struct SimulatedCrash: Error {}
    private let limit: Int?
    private let done = Mutex(0)
    private let system = SystemRotationFileOperations()

    init(crashAfter limit: Int?) { self.limit = limit }

    var steps: Int { done.withLock { $0 } }

    private func step() throws {
        try done.withLock { count in
            if let limit, count >= limit { throw SimulatedCrash() }
            count += 1
        }
    }

    func write(_ bytes: [UInt8], to path: String) throws { try step(); try system.write(bytes, to: path) }
    func rename(_ source: String, to destination: String) throws { try step(); try system.rename(source, to: destination) }
    func remove(_ path: String) throws { try step(); try system.remove(path) }
}

final class MasterKeyRotationTests: XCTestCase {
    /// A key file, a secrets file, two account keys and one account-key path not created yet.
    private struct Setup {
        let temp: TemporaryDirectory
        let source: MasterKeySource
        let files: [ProtectedFile]
        let secrets: [String: [UInt8]]
        let accountKeyPEMs: [String: String]  // path -> unencrypted PKCS#8, to compare

        var keyFile: String { source.keyFile }

        init() throws {
            temp = try TemporaryDirectory()
            source = MasterKeySource(keyFile: temp.path("etc/master.key"), createIfMissing: true, environment: [:])
            let key = try source.load().key
            let store = try temp.make("store")
            let secretsPath = store + "/secrets.sealed"
            secrets = ["eab-hmac-key": SecretsFixtures.eabKey, "token": SecretsFixtures.apiToken, "pw": SecretsFixtures.mailPassword]
            let file = try SecretsFile.open(path: secretsPath, masterKey: key)
            for (name, value) in secrets { try file.set(name: name, value: value) }
            var pems: [String: String] = [:]
            var accountFiles: [ProtectedFile] = []
            for (index, type) in [KeyType.ec256, .ec384].enumerated() {
                let path = try temp.make("store/accounts/ca\(index)") + "/account-key.pem"
                let privateKey = try PrivateKey.generate(type)
                try AccountKeyFile.write(privateKey, to: path, masterKey: key)
                pems[path] = try privateKey.pkcs8PEM()
                accountFiles.append(.accountKey(path: path))
            }
            accountFiles.append(.accountKey(path: store + "/accounts/not-yet/account-key.pem"))
            accountKeyPEMs = pems
            files = [.secrets(path: secretsPath)] + accountFiles
        }

        func rotation(_ operations: any RotationFileOperations = SystemRotationFileOperations()) -> MasterKeyRotation {
            MasterKeyRotation(source: source, files: files, operations: operations)
        }

        /// Asserts every secret and account key opens with `key` and holds the original value.
        func assertEverythingOpens(with key: MasterKey, _ context: String, file: StaticString = #filePath, line: UInt = #line) {
            for protected in files where FileManager.default.fileExists(atPath: protected.path) {
                XCTAssertTrue(opens(protected, with: key), "\(protected) with \(key): \(context)", file: file, line: line)
            }
        }

        /// True when `protected` opens with `key` and yields exactly the original secrets / key.
        func opens(_ protected: ProtectedFile, with key: MasterKey) -> Bool {
            switch protected {
            case .secrets(let path):
                guard let opened = try? SecretsFile.open(path: path, masterKey: key, createIfMissing: false) else { return false }
                return opened.names() == secrets.keys.sorted() && secrets.allSatisfy { (try? opened.value(named: $0.key)) == $0.value }
            case .accountKey(let path):
                guard let pem = try? AccountKeyFile.readPEM(path), AccountKeyFile.isEncrypted(pem),
                      let privateKey = try? AccountKeyFile.decrypt(pem, path: path, masterKey: key) else { return false }
                return (try? privateKey.pkcs8PEM()) == accountKeyPEMs[path]
            }
        }

        func leftovers() throws -> [String] {
            let all = FileManager.default.enumerator(atPath: temp.path)?.allObjects as? [String] ?? []
            return all.filter { $0.hasSuffix(".next") || $0.contains(".tmp-") || $0.contains(".new-") }
        }
    }

    func testRotationReencryptsEverythingToANewKey() throws {
        let setup = try Setup()
        let old = try setup.source.load()
        let new = try setup.rotation().rotate(old)
        XCTAssertFalse(new.isSameKey(as: old.key))
        let reloaded = try setup.source.load()
        XCTAssertTrue(reloaded.key.isSameKey(as: new))
        XCTAssertNil(reloaded.pendingKey)
        setup.assertEverythingOpens(with: new, "after rotation")
        for file in setup.files where FileManager.default.fileExists(atPath: file.path) {
            XCTAssertFalse(setup.opens(file, with: old.key), "\(file) no longer opens with the old key")
            XCTAssertEqual(fileMode(file.path), 0o600)
        }
        XCTAssertEqual(fileMode(setup.keyFile), 0o600)
        XCTAssertEqual(try setup.leftovers(), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: setup.files.last!.path), "a missing account key stays missing")
    }

    func testCrashAfterEveryStepOfRotationAndOfRecoveryLeavesEverythingOpenable() throws {
        // Count the steps of an uninterrupted rotation first.
        let counting = CrashingFileOperations(crashAfter: nil)
        let reference = try Setup()
        try reference.rotation(counting).rotate(try reference.source.load())
        let totalSteps = counting.steps
        XCTAssertEqual(totalSteps, 1 + 3 + 3 + 1, "key.next, 3 staged files, 3 renames, key rename")

        for crashAt in 0 ..< totalSteps {
            for recoveryCrashAt in [nil] + Array(0 ..< 8) as [Int?] {
                let setup = try Setup()
                let old = try setup.source.load().key
                XCTAssertThrowsError(try setup.rotation(CrashingFileOperations(crashAfter: crashAt)).rotate(try setup.source.load()))
                let context = "crash after step \(crashAt), recovery crash after \(recoveryCrashAt.map(String.init) ?? "-")"

                // Right after the crash, each file opens with the old key or with the one in master.key.next.
                let afterCrash = try setup.source.load()
                XCTAssertTrue(afterCrash.key.isSameKey(as: old), context)
                let candidates = [afterCrash.key] + (afterCrash.pendingKey.map { [$0] } ?? [])
                for file in setup.files where FileManager.default.fileExists(atPath: file.path) {
                    XCTAssertTrue(candidates.contains { setup.opens(file, with: $0) }, "\(file): \(context)")
                }

                // A crash during recovery too, then a clean start.
                if let recoveryCrashAt {
                    _ = try? setup.rotation(CrashingFileOperations(crashAfter: recoveryCrashAt)).recover(try setup.source.load())
                    let again = try setup.source.load()
                    let keys = [again.key] + (again.pendingKey.map { [$0] } ?? [])
                    for file in setup.files where FileManager.default.fileExists(atPath: file.path) {
                        XCTAssertTrue(keys.contains { setup.opens(file, with: $0) }, "\(file): \(context)")
                    }
                }
                let recovered = try setup.rotation().recover(try setup.source.load())
                let final = try setup.source.load()
                XCTAssertNil(final.pendingKey, context)
                XCTAssertTrue(final.key.isSameKey(as: recovered.key), context)
                if afterCrash.pendingKey != nil {
                    XCTAssertFalse(recovered.key.isSameKey(as: old), "rolled forward to the new key: \(context)")
                    if recoveryCrashAt == nil { XCTAssertNotNil(recovered.notice, context) }
                }
                setup.assertEverythingOpens(with: final.key, context)
                XCTAssertEqual(try setup.leftovers(), [], context)
            }
        }
    }

    func testRecoveryRemovesStaleStagedFilesAndTemporariesWithoutAPendingKey() throws {
        let setup = try Setup()
        let loaded = try setup.source.load()
        let secrets = setup.files[0]
        try writeFile(secrets.stagingPath, Array("garbage".utf8))
        try writeFile((setup.keyFile as NSString).deletingLastPathComponent + "/.master.key.next.tmp-AbC123", [1, 2, 3])
        let recovered = try setup.rotation().recover(loaded)
        XCTAssertTrue(recovered.key.isSameKey(as: loaded.key))
        XCTAssertNil(recovered.notice)
        XCTAssertEqual(try setup.leftovers(), [])
        setup.assertEverythingOpens(with: loaded.key, "stale files removed, nothing else touched")
    }

    func testAFileThatNoKeyOpensStopsRecoveryWithoutDamage() throws {
        let setup = try Setup()
        let old = try setup.source.load().key
        XCTAssertThrowsError(try setup.rotation(CrashingFileOperations(crashAfter: 1)).rotate(try setup.source.load()))
        // Someone replaces the secrets file with one sealed under a third key.
        let secretsPath = setup.files[0].path
        let stranger = setup.temp.path("stranger.sealed")
        try SecretsFile.open(path: stranger, masterKey: try SecretsFixtures.key(9)).set(name: "x", value: [1])
        try writeFile(secretsPath, try readBytes(stranger))
        let before = try readBytes(setup.keyFile)
        XCTAssertThrowsError(try setup.rotation().recover(try setup.source.load())) { error in
            XCTAssertTrue("\(error)".contains(secretsPath), "\(error)")
        }
        XCTAssertEqual(try readBytes(setup.keyFile), before, "master.key unchanged")
        XCTAssertNotNil(try setup.source.load().pendingKey, "master.key.next kept: nothing is lost")
        for file in setup.files.dropFirst() where FileManager.default.fileExists(atPath: file.path) {
            XCTAssertTrue(setup.opens(file, with: old), "\(file)")
        }
    }

    func testSystemdCredentialRotationNeedsAnExplicitKeyAndCompletesWhenTheCredentialIsSwitched() throws {
        let setup = try Setup()
        let oldBytes = try readBytes(setup.keyFile)
        let credentials = try setup.temp.make("credentials")
        try writeFile(credentials + "/certagent-master-key", oldBytes, mode: 0o400)
        let credentialSource = MasterKeySource(keyFile: setup.keyFile, createIfMissing: false,
                                               environment: ["CREDENTIALS_DIRECTORY": credentials])
        let rotation = MasterKeyRotation(source: credentialSource, files: setup.files)
        let loaded = try credentialSource.load()
        XCTAssertEqual(loaded.origin, .systemdCredential(path: credentials + "/certagent-master-key"))

        XCTAssertThrowsError(try rotation.rotate(loaded)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("read-only") && message.contains("LoadCredential"), message)
            XCTAssertTrue(message.contains(credentials + "/certagent-master-key"), message)
        }

        let newKey = try MasterKey.generate()
        try rotation.rotate(loaded, to: newKey)
        setup.assertEverythingOpens(with: newKey, "re-encrypted to the explicit key")
        XCTAssertEqual(try readBytes(setup.keyFile), oldBytes, "the key file is not the credential's business")

        // Next start, credential not switched yet: the pending key is used and the admin told.
        let notYet = try rotation.recover(try credentialSource.load())
        XCTAssertTrue(notYet.key.isSameKey(as: newKey))
        XCTAssertTrue(notYet.notice?.contains("LoadCredential") == true, notYet.notice ?? "")
        XCTAssertThrowsError(try rotation.rotate(try credentialSource.load(), to: try MasterKey.generate()),
                             "no second rotation before the switch")

        // Credential switched to the new key: master.key.next is removed.
        try writeFile(credentials + "/certagent-master-key", newKey.material.bytes, mode: 0o400)
        let switched = try rotation.recover(try credentialSource.load())
        XCTAssertTrue(switched.key.isSameKey(as: newKey))
        XCTAssertEqual(try setup.leftovers(), [])
        setup.assertEverythingOpens(with: newKey, "after the switch")
    }
}
