@testable import CertAgent
import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `certagent delete` removes CertAgent's own files of one certificate and nothing else; `status` reports certificates
/// whose files are in the store although the config no longer lists them.
final class CertificateRemovalTests: XCTestCase {
    private func material(_ tag: String) -> CertificateMaterial {
        CertificateMaterial(privateKeyPEM: "key-\(tag)\n", csrPEM: "csr-\(tag)\n", certificatePEM: "cert-\(tag)\n", chainPEM: "chain-\(tag)\n")
    }

    func testRemovesTheLayoutOfOneCertificateAndLeavesTheOthers() throws {
        let temp = try TemporaryDirectory()
        let store = try CertificateStore(root: temp.path("store"), webroots: [])
        for tag in ["1", "2"] { try store.commit(try store.stage(material(tag), for: "gone"), for: "gone") }
        try store.commit(try store.stage(material("kept"), for: "kept"), for: "kept")
        try RenewalRecordStore(store: store).save(RenewalRecord(), for: "gone")
        let lock = try store.lockForIssuance("gone")
        let report = try store.removeCertificateFiles("gone")
        withExtendedLifetime(lock) {}
        XCTAssertTrue(report.removed)
        XCTAssertEqual(report.leftInPlace, [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: store.certificateDirectory("gone")))
        XCTAssertEqual(try String(contentsOfFile: store.currentFiles("kept")!.privateKey, encoding: .utf8), "key-kept\n")
        XCTAssertEqual(store.storedCertificateNames(), ["kept"])
    }

    func testLinksAreRemovedNotFollowedAndForeignFilesAreLeftAndListed() throws {
        let temp = try TemporaryDirectory()
        let store = try CertificateStore(root: temp.path("store"), webroots: [])
        try store.commit(try store.stage(material("1"), for: "site"), for: "site")
        // Someone else's directory, reachable through links placed where CertAgent keeps its own.
        let outside = try temp.make("outside")
        let precious = try temp.write("outside/privkey.pem", "not CertAgent's")
        let directory = store.certificateDirectory("site")
        XCTAssertNil(store.previousFiles("site"))
        try FileManager.default.createSymbolicLink(atPath: directory + "/previous", withDestinationPath: outside)
        try FileManager.default.createSymbolicLink(atPath: directory + "/renewal.json", withDestinationPath: precious)
        let version = try store.linkedVersion("site")!.directory
        let foreign = version + "/notes.txt"
        try "mine".write(toFile: foreign, atomically: false, encoding: .utf8)

        let report = try store.removeCertificateFiles("site")
        XCTAssertFalse(report.removed)
        XCTAssertEqual(report.leftInPlace, [foreign])
        XCTAssertEqual(try String(contentsOfFile: precious, encoding: .utf8), "not CertAgent's", "a link's target is never touched")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outside), ["privkey.pem"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: version), ["notes.txt"], "CertAgent's files are gone, the foreign one stays")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory).sorted(), ["versions"])
    }

    func testACertificateDirectoryThatIsALinkIsLeftAlone() throws {
        let temp = try TemporaryDirectory()
        let store = try CertificateStore(root: temp.path("store"), webroots: [])
        let elsewhere = try temp.make("elsewhere")
        try temp.write("elsewhere/renewal.json", "{}")
        try FileManager.default.createDirectory(atPath: store.root + "/certificates", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: store.certificateDirectory("linked"), withDestinationPath: elsewhere)
        XCTAssertEqual(store.storedCertificateNames(), [], "a link is not a stored certificate")
        let report = try store.removeCertificateFiles("linked")
        XCTAssertFalse(report.removed)
        XCTAssertEqual(report.leftInPlace, [store.certificateDirectory("linked") + " (a symbolic link)"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: elsewhere + "/renewal.json"))
    }

    func testStatusListsACertificateRemovedFromTheConfigByHand() throws {
        let temp = try TemporaryDirectory()
        let webroot = try temp.make("public_html")
        let store = try CertificateStore(root: temp.path("store"), webroots: [webroot])
        try store.commit(try store.stage(material("1"), for: "old"), for: "old")
        try temp.write("config.json", """
            {"storage": "\(store.root)", "certificates": [{"name": "new", "domains": ["new.test"], "webroot": "\(webroot)"}]}
            """)
        let config = try ConfigLoader.parse(Data(try temp.read("config.json").utf8), path: temp.path("config.json"))
        let reports = CertificateStatus.all(config: config, store: store, now: Date())
        XCTAssertEqual(reports.map(\.name), ["new", "old"])
        XCTAssertEqual(reports.map(\.configured), [true, false])
        let orphan = reports[1]
        XCTAssertEqual(orphan.state, .notConfigured)
        XCTAssertEqual(orphan.summary, "in the store, not in the config: `certagent delete old` removes its files")
        XCTAssertFalse(orphan.healthy)
        XCTAssertEqual(orphan.nextAction, NextAction.none)
        XCTAssertEqual(orphan.next, "nothing: not in the config, so never renewed")
        XCTAssertTrue(orphan.text.hasPrefix("✗ old: \n    state         in the store, not in the config: `certagent delete old` removes its files"), orphan.text)
        let json = String(decoding: try JSONEncoder().encode(orphan), as: UTF8.self)
        XCTAssertTrue(json.contains(#""configured":false"#), json)
    }

    func testWebServerConfigsNamingTheStoreAreFound() throws {
        let temp = try TemporaryDirectory()
        try temp.make("nginx/sites-available")
        try temp.make("nginx/sites-enabled")
        let site = try temp.write("nginx/sites-available/shop", "ssl_certificate /var/lib/certagent/certificates/shop/current/fullchain.pem;\n")
        try FileManager.default.createSymbolicLink(atPath: temp.path("nginx/sites-enabled/shop"), withDestinationPath: site)
        try temp.write("nginx/sites-available/other", "ssl_certificate /var/lib/certagent/certificates/shopping/current/fullchain.pem;\n")
        try temp.make("apache2")
        let found = WebServerReferences.files(mentioning: "/var/lib/certagent/certificates/shop/", in: [temp.path("nginx"), temp.path("apache2"), temp.path("missing")])
        XCTAssertEqual(found, [site, temp.path("nginx/sites-enabled/shop")])
    }
}
