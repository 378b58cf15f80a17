@testable import CertAgent
import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The store is a directory CertAgent created, an empty one, or an earlier version's store: nothing else is taken over.
final class StoreOwnershipTests: XCTestCase {
    private func markerText(_ root: String) throws -> String {
        try String(contentsOfFile: root + "/" + StoreLayout.markerName, encoding: .utf8)
    }

    func testADirectoryHoldingSomeoneElsesFilesIsRefusedAndNothingInItChanges() throws {
        let temp = try TemporaryDirectory()
        let site = try temp.make("site")
        XCTAssertEqual(chmod(site, 0o755), 0)
        let index = try temp.write("site/index.html", "<h1>hello</h1>")
        XCTAssertEqual(chmod(index, 0o644), 0)
        let images = try temp.make("site/images")
        XCTAssertEqual(chmod(images, 0o755), 0)
        for create in [true, false] {
            XCTAssertThrowsError(try CertificateStore(root: site, webroots: [], create: create)) { error in
                guard case StoreOwnershipError.foreign(let path, let entries, let total) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(path, site)
                XCTAssertEqual(entries, ["images/", "index.html"])
                XCTAssertEqual(total, 2)
                let text = "\(error)"
                XCTAssertTrue(text.contains("refusing to use \(site) as the store"), text)
                XCTAssertTrue(text.contains("images/, index.html"), text)
                XCTAssertTrue(text.contains("set \"storage\" to a new or empty directory"), text)
            }
        }
        XCTAssertEqual(fileMode(site), 0o755)
        XCTAssertEqual(fileMode(index), 0o644)
        XCTAssertEqual(fileMode(images), 0o755)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: site).sorted(), ["images", "index.html"], "no marker, no lock, nothing")
    }

    func testOneForeignEntryBesideAnOldStoresLayoutIsEnoughToRefuseAndManyAreCounted() throws {
        let temp = try TemporaryDirectory()
        let root = try temp.make("home")
        try temp.make("home/certificates")
        _ = try temp.write("home/.bashrc", "alias ll='ls -l'")
        XCTAssertThrowsError(try CertificateStore(root: root, webroots: [])) { error in
            XCTAssertEqual(error as? StoreOwnershipError, .foreign(path: root, entries: [".bashrc"], total: 1))
        }
        for index in 0..<8 { _ = try temp.write("home/file\(index)", "x") }
        XCTAssertThrowsError(try CertificateStore(root: root, webroots: [])) { error in
            XCTAssertTrue("\(error)".contains("(.bashrc, file0, file1, file2, file3 and 4 more)"), "\(error)")
        }
    }

    func testAnEmptyDirectoryIsAcceptedAndMarked() throws {
        let temp = try TemporaryDirectory()
        let root = try temp.make("state")
        let inspected = try CertificateStore(root: root, webroots: [], create: false)
        XCTAssertEqual(inspected.ownership, .empty)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root), [], "without create nothing is written")

        let store = try CertificateStore(root: root, webroots: [])
        XCTAssertEqual(store.ownership, .empty)
        XCTAssertEqual(try markerText(root), "{\"format\":\"certagent-store\",\"version\":1}\n")
        XCTAssertEqual(fileMode(root + "/" + StoreLayout.markerName), 0o600)
        XCTAssertEqual(try CertificateStore(root: root, webroots: []).ownership, .marked, "from now on it is CertAgent's")
    }

    func testAMissingStoreIsCreatedPrivateAndMarked() throws {
        let temp = try TemporaryDirectory()
        let root = temp.path("var/lib/certagent")
        XCTAssertEqual(try CertificateStore(root: root, webroots: [], create: false).ownership, .missing)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root), "without create nothing is made")
        let store = try CertificateStore(root: root, webroots: [])
        XCTAssertEqual(store.ownership, .missing)
        XCTAssertEqual(fileMode(root), 0o700)
        XCTAssertTrue(try markerText(root).contains("certagent-store"))
    }

    func testAnEarlierVersionsStoreIsRecognisedByItsNamesAndMarked() throws {
        let temp = try TemporaryDirectory()
        let root = try temp.make("legacy")
        try temp.make("legacy/accounts/acme.test")
        _ = try temp.write("legacy/accounts/acme.test/account-key.pem", "key")
        try temp.make("legacy/certificates/site/versions")
        _ = try temp.write("legacy/secrets.sealed", "sealed")
        _ = try temp.write("legacy/.lock", "")
        _ = try temp.write("legacy/.secrets.sealed.tmp-Ab12Cd", "half")
        _ = try temp.write("legacy/master.key", String(repeating: "k", count: 32))
        XCTAssertThrowsError(try CertificateStore(root: root, webroots: [], create: false),
                             "a master key file is CertAgent's only where the config puts it")
        let inspected = try CertificateStore(root: root, webroots: [], create: false, masterKeyFile: root + "/master.key")
        XCTAssertEqual(inspected.ownership, .legacy)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/" + StoreLayout.markerName), "check marks nothing")

        let store = try CertificateStore(root: root, webroots: [], masterKeyFile: root + "/master.key")
        XCTAssertEqual(store.ownership, .legacy)
        XCTAssertTrue(try markerText(root).contains("\"version\":1"))
        XCTAssertEqual(try CertificateStore(root: root, webroots: [], masterKeyFile: root + "/master.key").ownership, .marked)
    }

    func testAMarkerOfANewerLayoutOrOfSomethingElseIsRefused() throws {
        let temp = try TemporaryDirectory()
        let root = try temp.make("store")
        _ = try temp.write("store/" + StoreLayout.markerName, "{\"format\":\"certagent-store\",\"version\":7}\n")
        XCTAssertThrowsError(try CertificateStore(root: root, webroots: [])) { error in
            XCTAssertTrue("\(error)".contains("layout version 7, written by a newer CertAgent"), "\(error)")
        }
        _ = try temp.write("store/" + StoreLayout.markerName, "hello")
        XCTAssertThrowsError(try CertificateStore(root: root, webroots: [])) { error in
            XCTAssertTrue("\(error)".contains("is not a CertAgent store marker"), "\(error)")
        }
    }

    func testAFileInsteadOfADirectoryIsRefused() throws {
        let temp = try TemporaryDirectory()
        let file = try temp.write("store", "not a directory")
        XCTAssertThrowsError(try CertificateStore(root: file, webroots: [])) { error in
            XCTAssertEqual(error as? StoreOwnershipError, .notADirectory(path: file))
        }
    }

    func testCheckingTheLockDoesNotCreateTheLockFile() throws {
        let temp = try TemporaryDirectory()
        let root = try temp.make("store")
        XCTAssertNil(try StoreLock.ifPresent(storeRoot: root, mode: .shared))
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/" + StoreLock.fileName))
        let held = try StoreLock(storeRoot: root, mode: .shared)
        let again = try XCTUnwrap(try StoreLock.ifPresent(storeRoot: root, mode: .shared))
        XCTAssertEqual(again.path, held.path)
    }
}
