@testable import CertAgent
import CertCrypto
import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The store's files are the store's: no symbolic link out of it is ever followed.
final class StoreLinkTests: XCTestCase {
    private let certificate = CertificateConfig(name: "site", domains: ["site.test"], webroots: ["site.test": "/srv/site"], keyType: .ec256, install: nil)

    /// A store whose `site` has a current version with a real key and a self-signed certificate for site.test.
    private func storeWithValidCertificate(_ temp: TemporaryDirectory) throws -> CertificateStore {
        let result = try Subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                         "-keyout", temp.path("key.pem"), "-out", temp.path("cert.pem"), "-subj", "/CN=site.test",
                                         "-addext", "subjectAltName=DNS:site.test", "-days", "30"])
        XCTAssertEqual(result.status, 0, result.output)
        let store = try CertificateStore(root: temp.path("store"), webroots: [])
        let material = CertificateMaterial(privateKeyPEM: try temp.read("key.pem"), csrPEM: "", certificatePEM: try temp.read("cert.pem"), chainPEM: "")
        try store.commit(try store.stage(material, for: "site"), for: "site")
        let state = StoredCertificateState.inspect(certificate, in: store, now: Date())
        guard case .valid = state else { throw FixtureError(description: "the fixture must be valid before it is tampered with: \(state)") }
        return store
    }

    private func assertUnreadable(_ store: CertificateStore, mentioning parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        let state = StoredCertificateState.inspect(certificate, in: store, now: Date())
        guard case .unreadable(let reason) = state else { return XCTFail("expected unreadable, got \(state)", file: file, line: line) }
        for part in parts { XCTAssertTrue(reason.contains(part), "\(reason) does not mention \(part)", file: file, line: line) }
        XCTAssertFalse(state.isUsable, file: file, line: line)
    }

    func testAVersionsKeyReplacedByALinkToAMatchingKeyOutsideIsNotUsed() throws {
        let temp = try TemporaryDirectory()
        let store = try storeWithValidCertificate(temp)
        let version = try XCTUnwrap(try store.linkedVersion("site")).directory
        // The very key of the certificate, moved out of the store and world-readable: followed, the version would be valid.
        let outside = temp.path("stolen-key.pem")
        XCTAssertEqual(rename(version + "/privkey.pem", outside), 0)
        XCTAssertEqual(chmod(outside, 0o644), 0)
        XCTAssertEqual(symlink(outside, version + "/privkey.pem"), 0)
        assertUnreadable(store, mentioning: ["\(version)/privkey.pem is a symbolic link to \(outside)", "never follows a link out of its store"])
    }

    func testALinkedDirectoryOnTheWayIsRefusedToo() throws {
        let temp = try TemporaryDirectory()
        let store = try storeWithValidCertificate(temp)
        let versions = store.certificateDirectory("site") + "/versions"
        let copy = temp.path("versions-copy")
        XCTAssertEqual(rename(versions, copy), 0)
        XCTAssertEqual(symlink(copy, versions), 0)
        assertUnreadable(store, mentioning: ["\(versions)", "symbolic link to \(copy)"])
    }

    func testCurrentPointingAnywhereButAVersionIsNotFollowedNorKeptAsPrevious() throws {
        let temp = try TemporaryDirectory()
        let store = try storeWithValidCertificate(temp)
        let version = try XCTUnwrap(try store.linkedVersion("site")).directory
        let copy = temp.path("copy")
        XCTAssertEqual(try Subprocess.run(["cp", "-a", version, copy]).status, 0)
        let current = store.certificateDirectory("site") + "/current"
        for target in [copy, "versions/../../../copy", "versions", "versions/missing"] {
            XCTAssertEqual(unlink(current), 0)
            XCTAssertEqual(symlink(target, current), 0)
            assertUnreadable(store, mentioning: ["\(current) points at \(target)", "not a version directory of this certificate"])
            XCTAssertNil(store.currentFiles("site"), target)
        }
        XCTAssertEqual(unlink(current), 0)
        XCTAssertEqual(mkdir(current, 0o700), 0)
        assertUnreadable(store, mentioning: ["\(current) is a directory where CertAgent keeps a symbolic link to a version"])
        XCTAssertEqual(rmdir(current), 0)

        XCTAssertEqual(symlink(copy, current), 0)
        let material = CertificateMaterial(privateKeyPEM: "k", csrPEM: "c", certificatePEM: "x", chainPEM: "y")
        try store.commit(try store.stage(material, for: "site"), for: "site")
        XCTAssertNil(store.previousFiles("site"), "a foreign current does not become previous")
        var info = stat()
        XCTAssertNotEqual(lstat(store.certificateDirectory("site") + "/previous", &info), 0, "no previous link at all")
        XCTAssertNotNil(store.currentFiles("site"), "the new version is current")
    }

    func testARenewalRecordThatIsALinkIsNotReadAndTheNextSaveReplacesOnlyTheLink() throws {
        let temp = try TemporaryDirectory()
        let store = try CertificateStore(root: temp.path("store"), webroots: [])
        let records = RenewalRecordStore(store: store)
        var record = RenewalRecord()
        record.failures = 3
        try records.save(record, for: "site")
        let outside = temp.path("outside.json")
        XCTAssertEqual(rename(store.keys.document(.renewal, of: "site"), outside), 0)
        XCTAssertEqual(symlink(outside, store.keys.document(.renewal, of: "site")), 0)
        let loaded = records.load("site")
        XCTAssertEqual(loaded.record.failures, 0, "not read through the link")
        XCTAssertTrue(loaded.problem?.contains("is a symbolic link to \(outside)") == true, loaded.problem ?? "no problem reported")
        let before = try temp.read("outside.json")
        try records.save(RenewalRecord(), for: "site")
        XCTAssertEqual(try temp.read("outside.json"), before, "the link's target is untouched")
        var info = stat()
        XCTAssertEqual(lstat(store.keys.document(.renewal, of: "site"), &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFREG, "the record is a file of the store again")
    }

    func testAnAccountKeyOrSecretsFileThatIsALinkIsRefusedNamingItsTarget() throws {
        let temp = try TemporaryDirectory()
        let outside = try temp.write("outside.pem", "-----BEGIN PRIVATE KEY-----\n")
        try temp.make("store/accounts/ca")
        let keyFile = temp.path("store/accounts/ca/account-key.pem")
        let secretsFile = temp.path("store/secrets.sealed")
        for path in [keyFile, secretsFile] { XCTAssertEqual(symlink(outside, path), 0) }
        XCTAssertThrowsError(try AccountKeyFile.readPEM(keyFile)) { error in
            XCTAssertTrue("\(error)".contains("\(keyFile) is a symbolic link to \(outside)"), "\(error)")
        }
        XCTAssertThrowsError(try SecretsFile.read(path: secretsFile, key: try MasterKey.generate().secretsKey())) { error in
            XCTAssertTrue("\(error)".contains("\(secretsFile) is a symbolic link to \(outside)"), "\(error)")
        }
    }
}
