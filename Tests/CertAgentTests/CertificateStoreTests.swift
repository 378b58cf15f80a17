import CertAgent
import Foundation
import TestSupport
import XCTest

final class CertificateStoreTests: XCTestCase {
    private func material(_ tag: String) -> CertificateMaterial {
        CertificateMaterial(privateKeyPEM: "key-\(tag)\n", csrPEM: "csr-\(tag)\n", certificatePEM: "cert-\(tag)\n", chainPEM: "chain-\(tag)\n")
    }

    func testCommitMakesAVersionCurrentAtomicallyWithPrivateModes() throws {
        let temp = try TemporaryDirectory()
        let store = try CertificateStore(root: temp.path + "/store", webroots: [try temp.make("public_html")])
        XCTAssertEqual(fileMode(store.root), 0o700)
        XCTAssertNil(store.currentFiles("site"))

        let staged = try store.stage(material("1"), for: "site")
        XCTAssertNil(store.currentFiles("site"), "staging alone changes nothing a web server sees")
        let current = try store.commit(staged, for: "site")
        XCTAssertEqual(current.directory, store.certificateDirectory("site") + "/current", "stable path")
        XCTAssertEqual(try String(contentsOfFile: current.fullChain, encoding: .utf8), "cert-1\nchain-1\n")
        for file in current.all { XCTAssertEqual(fileMode(file), 0o600, file) }
        XCTAssertEqual(fileMode(store.certificateDirectory("site")), 0o700)
        XCTAssertEqual(fileMode(store.certificateDirectory("site") + "/versions"), 0o700)
        XCTAssertNil(store.previousFiles("site"))
    }

    func testPreviousVersionIsKeptAndOlderOnesPruned() throws {
        let temp = try TemporaryDirectory()
        let store = try CertificateStore(root: temp.path + "/store", webroots: [])
        for tag in ["1", "2", "3"] {
            try store.commit(try store.stage(material(tag), for: "site"), for: "site")
        }
        XCTAssertEqual(try String(contentsOfFile: store.currentFiles("site")!.privateKey, encoding: .utf8), "key-3\n")
        XCTAssertEqual(try String(contentsOfFile: store.previousFiles("site")!.privateKey, encoding: .utf8), "key-2\n")
        let versions = try FileManager.default.contentsOfDirectory(atPath: store.certificateDirectory("site") + "/versions")
        XCTAssertEqual(versions.count, 2, "only current and previous are kept: \(versions)")
    }

    func testIssuanceFactsTravelWithTheirVersion() throws {
        let temp = try TemporaryDirectory()
        let store = try CertificateStore(root: temp.path + "/store", webroots: [])
        var first = material("1")
        first.facts = IssuanceFacts(directoryURL: "https://ca-one.test/dir", accountURL: "https://ca-one.test/acct/1", profile: "tlsserver")
        try store.commit(try store.stage(first, for: "site"), for: "site")
        XCTAssertEqual(store.issuanceFacts(of: "site"), first.facts)
        XCTAssertEqual(fileMode(store.certificateDirectory("site") + "/current/issuance.json"), 0o600)
        try store.commit(try store.stage(material("2"), for: "site"), for: "site")
        XCTAssertNil(store.issuanceFacts(of: "site"), "a version written without facts has none")
        XCTAssertEqual(store.issuanceFacts(of: "site", link: "previous"), first.facts, "the previous version keeps its own")
        XCTAssertTrue(try PermissionAudit.run(store: store).findings.isEmpty, "issuance.json is one of the store's own files")
    }

    func testDiscardedStagingNeverBecomesCurrentAndLeavesNothing() throws {
        let temp = try TemporaryDirectory()
        let store = try CertificateStore(root: temp.path + "/store", webroots: [])
        try store.commit(try store.stage(material("good"), for: "site"), for: "site")
        let bad = try store.stage(material("bad"), for: "site")
        store.discard(bad)
        XCTAssertEqual(try String(contentsOfFile: store.currentFiles("site")!.certificate, encoding: .utf8), "cert-good\n")
        let entries = try FileManager.default.contentsOfDirectory(atPath: store.certificateDirectory("site") + "/versions")
        XCTAssertEqual(entries.filter { $0.hasPrefix(".") }, [], "no staging or temporary files left")
    }

    func testAbandonedStagingFromACrashIsRemovedNextTime() throws {
        let temp = try TemporaryDirectory()
        let store = try CertificateStore(root: temp.path + "/store", webroots: [])
        _ = try store.stage(material("crashed"), for: "site")   // never committed nor discarded
        try store.commit(try store.stage(material("next"), for: "site"), for: "site")
        let entries = try FileManager.default.contentsOfDirectory(atPath: store.certificateDirectory("site") + "/versions")
        XCTAssertEqual(entries.count, 1, "\(entries)")
    }

    func testStoreInsideAWebrootIsRefused() throws {
        let temp = try TemporaryDirectory()
        let webroot = try temp.make("public_html")
        XCTAssertThrowsError(try CertificateStore(root: webroot + "/certs", webroots: [webroot])) { error in
            XCTAssertTrue("\(error)".contains("inside the webroot \(webroot)"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: webroot + "/certs"), "nothing created")
    }

    func testAtomicWriteReplacesWholeFilesWithExactMode() throws {
        let temp = try TemporaryDirectory()
        let path = temp.path + "/file"
        try AtomicFile.write("first version, longer", to: path)
        try AtomicFile.write("second", to: path, mode: 0o640)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "second")
        XCTAssertEqual(fileMode(path), 0o640)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: temp.path), ["file"], "no temporary file left")
        XCTAssertThrowsError(try AtomicFile.write("x", to: temp.path + "/missing-dir/file")) { error in
            XCTAssertTrue("\(error)".contains("missing-dir"), "\(error)")
        }
    }

    func testAccountDirectoryIsPerCA() throws {
        let store = try CertificateStore(root: "/var/lib/certagent", webroots: [], create: false)
        XCTAssertEqual(store.accountDirectory(for: "https://acme-v02.api.letsencrypt.org/directory"),
                       "/var/lib/certagent/accounts/acme-v02.api.letsencrypt.org_directory")
        XCTAssertEqual(store.accountDirectory(for: "https://localhost:14000/dir"), "/var/lib/certagent/accounts/localhost_14000_dir")
    }
}

final class CertificateLockTests: XCTestCase {
    func testOnlyOneIssuanceOfACertificateAtATime() throws {
        let temp = try TemporaryDirectory()
        let store = try CertificateStore(root: temp.path + "/store", webroots: [])
        var first: FileLock? = try store.lockForIssuance("site")
        XCTAssertThrowsError(try store.lockForIssuance("site")) { error in
            XCTAssertTrue(error is CertificateBusy, "\(error)")
            XCTAssertTrue("\(error)".contains("getting a certificate for site right now"), "\(error)")
        }
        XCTAssertNoThrow(try store.lockForIssuance("other"), "other certificates are not held up")
        XCTAssertNotNil(first)
        first = nil
        XCTAssertNoThrow(try store.lockForIssuance("site"), "released with its holder")
        XCTAssertEqual(fileMode(store.certificateDirectory("site") + "/.issuing.lock"), 0o600)
    }
}
