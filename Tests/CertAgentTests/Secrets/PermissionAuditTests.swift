@testable import CertAgent
import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

final class PermissionAuditTests: XCTestCase {
    private func material(_ tag: String) -> CertificateMaterial {
        CertificateMaterial(privateKeyPEM: "key-\(tag)\n", csrPEM: "csr-\(tag)\n", certificatePEM: "cert-\(tag)\n", chainPEM: "chain-\(tag)\n")
    }

    func testLoosenedStoreIsTightenedAndEveryFixReported() throws {
        let temp = try TemporaryDirectory()
        let store = try CertificateStore(root: temp.path("store"), webroots: [])
        try store.commit(try store.stage(material("1"), for: "site"), for: "site")
        try store.commit(try store.stage(material("2"), for: "site"), for: "site")
        let accounts = store.root + "/accounts/ca"
        try AtomicFile.makeDirectory(accounts)
        try AtomicFile.write("key", to: accounts + "/account-key.pem")
        XCTAssertEqual(try PermissionAudit.run(storeRoot: store.root), [], "a fresh store needs nothing")

        // Loosen everything, as a careless `chmod -R` or a bad umask would.
        var expected: [PermissionFix] = []
        func loosen(_ path: String, _ mode: mode_t, target: mode_t) {
            XCTAssertEqual(chmod(path, mode), 0, path)
            expected.append(PermissionFix(path: path, oldMode: mode, newMode: target))
        }
        let site = store.certificateDirectory("site")
        let versions = try FileManager.default.contentsOfDirectory(atPath: site + "/versions").sorted()
        loosen(store.root, 0o755, target: 0o700)
        loosen(store.root + "/accounts", 0o755, target: 0o700)
        loosen(accounts, 0o750, target: 0o700)
        loosen(accounts + "/account-key.pem", 0o644, target: 0o600)
        loosen(store.root + "/certificates", 0o711, target: 0o700)
        loosen(site, 0o755, target: 0o700)
        loosen(site + "/versions", 0o755, target: 0o700)
        for version in versions {
            let directory = site + "/versions/" + version
            loosen(directory, 0o2755, target: 0o700)
            for file in ["cert.pem", "chain.pem", "csr.pem", "fullchain.pem", "privkey.pem"] {
                loosen(directory + "/" + file, file == "privkey.pem" ? 0o640 : 0o644, target: 0o600)
            }
        }
        let stricter = site + "/versions/" + versions[0] + "/cert.pem"
        XCTAssertEqual(chmod(stricter, 0o400), 0)
        expected.removeAll { $0.path == stricter }

        let fixes = try PermissionAudit.run(storeRoot: store.root)
        XCTAssertEqual(fixes, expected)
        XCTAssertEqual(fixes.first?.description, "tightened \(store.root) from 0755 to 0700")
        for fix in fixes { XCTAssertEqual(fileMode(fix.path), Int(fix.newMode), fix.path) }
        XCTAssertEqual(fileMode(stricter), 0o400, "a stricter mode is left alone")
        XCTAssertNotNil(store.currentFiles("site"), "the links still work")
        XCTAssertEqual(try PermissionAudit.run(storeRoot: store.root), [], "idempotent")
    }

    func testSymlinksAreNotFollowedOutOfTheStore() throws {
        let temp = try TemporaryDirectory()
        let store = try temp.make("store")
        chmod(store, 0o700)
        let outside = try temp.write("outside.txt", "public")
        chmod(outside, 0o644)
        XCTAssertEqual(symlink(outside, store + "/link"), 0)
        XCTAssertEqual(try PermissionAudit.run(storeRoot: store), [])
        XCTAssertEqual(fileMode(outside), 0o644, "the link's target outside the store is untouched")
    }

    func testForeignOwnerIsAnErrorNamingPathAndUidWhileOtherFixesStillHappen() throws {
        try XCTSkipUnless(geteuid() == 0, "needs root to chown")
        let temp = try TemporaryDirectory()
        let store = try temp.make("store")
        chmod(store, 0o755)
        let foreign = try temp.write("store/foreign.pem", "x")
        chmod(foreign, 0o600)
        XCTAssertEqual(chown(foreign, 4321, 4321), 0)
        XCTAssertThrowsError(try PermissionAudit.run(storeRoot: store)) { error in
            guard let error = error as? PermissionAuditError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.problems.count, 1)
            XCTAssertTrue(error.description.contains(foreign) && error.description.contains("uid 4321"), error.description)
            XCTAssertEqual(error.fixes, [PermissionFix(path: store, oldMode: 0o755, newMode: 0o700)])
        }
        XCTAssertEqual(fileMode(store), 0o700)
    }
}
