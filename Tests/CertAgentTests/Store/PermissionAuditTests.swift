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
        XCTAssertEqual(try PermissionAudit.run(store: store), PermissionAuditReport(), "a fresh store needs nothing")

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

        XCTAssertEqual(try PermissionAudit.run(store: store, mode: .reportOnly).fixes,
                       expected.map { PermissionFix(path: $0.path, oldMode: $0.oldMode, newMode: $0.newMode, applied: false) })
        for fix in expected { XCTAssertEqual(fileMode(fix.path), Int(fix.oldMode), "report-only changes no mode: \(fix.path)") }
        XCTAssertEqual(PermissionFix(path: "/s/f", oldMode: 0o644, newMode: 0o600, applied: false).description,
                       "would tighten /s/f from 0644 to 0600: certagent issue or run fixes it")

        let fixes = try PermissionAudit.run(store: store).fixes
        XCTAssertEqual(fixes, expected)
        XCTAssertEqual(fixes.first?.description, "tightened \(store.root) from 0755 to 0700")
        for fix in fixes { XCTAssertEqual(fileMode(fix.path), Int(fix.newMode), fix.path) }
        XCTAssertEqual(fileMode(stricter), 0o400, "a stricter mode is left alone")
        XCTAssertNotNil(store.currentFiles("site"), "the links still work")
        XCTAssertEqual(try PermissionAudit.run(store: store), PermissionAuditReport(), "idempotent")
    }

    func testAStoreReachedThroughASymbolicLinkIsAuditedAsConfigured() throws {
        // `storage` may name a link (e.g. /var/lib/certagent → /data/certagent): the root is taken as configured.
        let temp = try TemporaryDirectory()
        let real = try CertificateStore(root: temp.path("data/store"), webroots: [])
        try real.commit(try real.stage(material("1"), for: "site"), for: "site")
        XCTAssertEqual(symlink(real.root, temp.path("store-link")), 0)
        let linked = try CertificateStore(root: temp.path("store-link"), webroots: [], create: false)
        XCTAssertEqual(chmod(real.certificateDirectory("site"), 0o755), 0)
        let report = try PermissionAudit.run(store: linked)
        XCTAssertEqual(report.fixes.map(\.newMode), [0o700], "the loosened directory is found below the linked root: \(report)")
    }

    func testForeignEntriesAreReportedButNeverWalkedIntoOrChanged() throws {
        let temp = try TemporaryDirectory()
        let store = try CertificateStore(root: temp.path("store"), webroots: [])
        try store.commit(try store.stage(material("1"), for: "site"), for: "site")
        let version = try XCTUnwrap(try store.linkedVersion("site")).directory
        let notes = try temp.write("store/notes.txt", "mine")
        let backup = try temp.make("store/backup")
        let inside = try temp.write("store/backup/old-key.pem", "key")
        let stray = try temp.write("store/certificates/site/README", "x")
        let extra = try temp.write("store/certificates/site/versions/" + (version as NSString).lastPathComponent + "/extra.pem", "x")
        for (path, mode) in [(notes, 0o644), (backup, 0o755), (inside, 0o644), (stray, 0o664), (extra, 0o644)] as [(String, mode_t)] {
            XCTAssertEqual(chmod(path, mode), 0)
        }
        XCTAssertEqual(chmod(store.root, 0o750), 0)

        for mode in [PermissionAudit.Mode.reportOnly, .fix] {
            let report = try PermissionAudit.run(store: store, mode: mode)
            XCTAssertEqual(report.findings.map(\.path), [backup, stray, extra, notes])
            XCTAssertEqual(report.findings.first?.description,
                           "\(backup) (a directory) is not part of CertAgent's store: left as it is; move it out of the store")
            XCTAssertFalse(report.findings.contains { $0.path == inside }, "a foreign directory is not walked into")
            XCTAssertEqual(report.fixes.map(\.path), [store.root], "only the store's own entries are tightened")
        }
        XCTAssertEqual(fileMode(store.root), 0o700)
        XCTAssertEqual([fileMode(notes), fileMode(backup), fileMode(inside), fileMode(stray), fileMode(extra)], [0o644, 0o755, 0o644, 0o664, 0o644])
    }

    func testLinksAreNeverFollowedOutOfTheStoreAndAreReported() throws {
        let temp = try TemporaryDirectory()
        let store = try CertificateStore(root: temp.path("store"), webroots: [])
        try store.commit(try store.stage(material("1"), for: "site"), for: "site")
        let version = try XCTUnwrap(try store.linkedVersion("site")).directory
        let outside = try temp.write("outside-key.pem", "public")
        XCTAssertEqual(chmod(outside, 0o644), 0)
        let outsideDirectory = try temp.make("elsewhere")
        XCTAssertEqual(chmod(outsideDirectory, 0o755), 0)
        XCTAssertEqual(unlink(version + "/privkey.pem"), 0)
        XCTAssertEqual(symlink(outside, version + "/privkey.pem"), 0)
        XCTAssertEqual(symlink(outsideDirectory, store.root + "/accounts"), 0)
        XCTAssertEqual(symlink(outsideDirectory, store.certificateDirectory("site") + "/previous"), 0)

        let report = try PermissionAudit.run(store: store)
        XCTAssertEqual(report.findings, [
            StoreFinding(path: store.root + "/accounts", kind: .link(target: outsideDirectory)),
            StoreFinding(path: store.certificateDirectory("site") + "/previous", kind: .badVersionLink(target: outsideDirectory)),
            StoreFinding(path: version + "/privkey.pem", kind: .link(target: outside)),
        ])
        XCTAssertTrue(report.findings.allSatisfy(\.isLink))
        XCTAssertTrue(report.findings[2].description.contains("\(version)/privkey.pem is a symbolic link to \(outside)"), report.findings[2].description)
        XCTAssertEqual(report.fixes, [])
        XCTAssertEqual(fileMode(outside), 0o644, "the link's target outside the store is untouched")
        XCTAssertEqual(fileMode(outsideDirectory), 0o755)
    }

    func testForeignOwnerIsAnErrorNamingPathAndUidWhileOtherFixesStillHappen() throws {
        try XCTSkipUnless(geteuid() == 0, "needs root to chown")
        let temp = try TemporaryDirectory()
        let store = try temp.make("store")
        chmod(store, 0o755)
        let foreign = try temp.write("store/secrets.sealed", "x")
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
