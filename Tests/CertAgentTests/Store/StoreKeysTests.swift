@testable import CertAgent
import Foundation
import TestSupport
import XCTest

/// The store owns its layout: every file kind round-trips through its typed interface, every path `StoreKeys` builds
/// is one `StoreLayout` knows, and no source file outside Sources/CertAgent/Store builds a path below the store.
final class StoreKeysTests: XCTestCase {
    private let when = Date(timeIntervalSince1970: 1_790_000_000.25)

    private func store(_ temp: TemporaryDirectory) throws -> CertificateStore {
        try CertificateStore(root: temp.path("store"), webroots: [])
    }

    func testEachPerCertificateDocumentRoundTripsInItsOwnPrivateFile() throws {
        let temp = try TemporaryDirectory()
        let store = try store(temp)
        var record = RenewalRecord()
        record.recordFailure("badNonce", at: when)
        var notified = NotificationState()
        notified.failingSince = when
        notified.atRiskSerial = "0a"
        var site = SiteCheckRecord()
        site.lastDeploy = when
        site.names = [SiteNameResult(name: "a.example", address: "a.example:443", served: .current, serial: "0a", notAfter: when, checkedAt: when)]

        try store.save(record, of: "a")
        try store.save(notified, of: "a")
        try store.save(site, of: "a")

        XCTAssertEqual(store.load(RenewalRecord.self, of: "a").value, record)
        XCTAssertEqual(store.load(NotificationState.self, of: "a").value, notified)
        XCTAssertEqual(store.load(SiteCheckRecord.self, of: "a").value, site)
        for kind in CertificateDocumentKind.allCases {
            let path = store.keys.document(kind, of: "a")
            XCTAssertEqual(path, store.root + "/certificates/a/" + kind.fileName)
            XCTAssertEqual(fileMode(path), 0o600, path)
            XCTAssertEqual(StoreLayout.entry(kind.fileName, in: .certificate), .file, "\(kind) is part of the layout")
        }
        XCTAssertNil(store.load(RenewalRecord.self, of: "a").problem)

        store.removeDocument(.renewal, of: "a")
        let fresh = store.load(RenewalRecord.self, of: "a")
        XCTAssertEqual(fresh.value, RenewalRecord(), "removed: fresh")
        XCTAssertNil(fresh.problem, "a missing document is not a problem")
        XCTAssertEqual(store.load(SiteCheckRecord.self, of: "a").value, site, "the other documents stay")
    }

    func testAccountRecordRoundTripsAndAnEarlierWholeSecondRecordStillReads() throws {
        let temp = try TemporaryDirectory()
        let store = try store(temp)
        let url = "https://ca.test:14000/dir"
        XCTAssertNil(store.accountRecord(directoryURL: url))
        let record = AccountRecord(url: "https://ca.test/acct/1", directoryURL: url, contact: ["mailto:a@example.test"],
                                   createdAt: when, keyType: "ec256", keyThumbprint: "abc")
        try store.saveAccountRecord(record, directoryURL: url)
        XCTAssertEqual(store.accountRecord(directoryURL: url), record)
        let path = store.keys.accountRecord(directoryURL: url)
        XCTAssertEqual(path, store.root + "/accounts/ca.test_14000_dir/account.json")
        XCTAssertEqual(fileMode(path), 0o600)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(text.contains("\"url\" : \"https://ca.test/acct/1\""), "slashes not escaped: \(text)")
        XCTAssertTrue(text.contains("2026-09-21T14:13:20.250Z"), "ISO 8601 with fractional seconds: \(text)")

        // As an earlier CertAgent wrote it: whole seconds, escaped slashes, no final newline.
        let earlier = #"{"contact":["mailto:a@example.test"],"createdAt":"2026-09-21T14:13:20Z","directoryURL":"https:\/\/ca.test:14000\/dir","url":"https:\/\/ca.test\/acct\/1"}"#
        try earlier.write(toFile: path, atomically: true, encoding: .utf8)
        let read = try XCTUnwrap(store.accountRecord(directoryURL: url))
        XCTAssertEqual(read.createdAt, Date(timeIntervalSince1970: 1_790_000_000))
        XCTAssertEqual(read.url, "https://ca.test/acct/1")
    }

    func testIssuanceFactsAndRevocationNoteTravelWithTheirVersion() throws {
        let temp = try TemporaryDirectory()
        let store = try store(temp)
        let facts = IssuanceFacts(directoryURL: "https://ca.test/dir", accountURL: "https://ca.test/acct/1", profile: "shortlived", keyReused: false)
        let material = CertificateMaterial(privateKeyPEM: "k\n", csrPEM: "c\n", certificatePEM: "x\n", chainPEM: "y\n", facts: facts)
        let staged = try store.stage(material, for: "a", now: when)
        XCTAssertEqual(store.issuanceFacts(staged), facts, "readable while staged")
        try store.commit(staged, for: "a")
        XCTAssertEqual(store.issuanceFacts(of: "a", link: "current"), facts)

        let version = try XCTUnwrap(try store.linkedVersion("a"))
        XCTAssertEqual(StoreKeys.issuanceFacts(in: version), version.directory + "/issuance.json")
        let note = RevocationNote(serialHex: "0a", reason: .superseded, revokedAt: when)
        try note.write(in: version)
        XCTAssertEqual(RevocationNote.read(in: version), note)
        XCTAssertEqual(StoreLayout.entry("revoked.json", in: .version), .file)
        XCTAssertEqual(StoreLayout.entry("issuance.json", in: .version), .file)
    }

    /// Whatever `StoreKeys` builds lies in the store and is a name `StoreLayout` (and so the permission audit and the
    /// leftover sweep) knows, level by level.
    func testEveryKeyIsAPathOfTheLayout() throws {
        let keys = StoreKeys(root: "/srv/store")
        let url = "https://acme.example:8443/directory"
        let version = keys.version("20260101T000000Z-0a0b0c0d", of: "site")
        let paths: [(String, [StoreLayout.Level])] = [
            (keys.marker, [.root]), (keys.storeLock, [.root]), (keys.daemonPID, [.root]), (keys.secrets, [.root]),
            (keys.accountRecord(directoryURL: url), [.root, .accounts, .account]),
            (keys.accountKey(directoryURL: url), [.root, .accounts, .account]),
            (keys.accountRolloverKey(directoryURL: url), [.root, .accounts, .account]),
            (keys.accountLock(directoryURL: url), [.root, .accounts, .account]),
            (keys.challengeJournal("site"), [.root, .certificates, .certificate]),
            (keys.issuanceLock("site"), [.root, .certificates, .certificate]),
            (StoreKeys.issuanceFacts(in: CertificateFiles(directory: version)), [.root, .certificates, .certificate, .versions, .version]),
            (StoreKeys.revocationNote(in: CertificateFiles(directory: version)), [.root, .certificates, .certificate, .versions, .version]),
        ] + CertificateDocumentKind.allCases.map { (keys.document($0, of: "site"), [.root, .certificates, .certificate]) }
        for (path, levels) in paths {
            XCTAssertTrue(path.hasPrefix(keys.root + "/"), path)
            let parts = path.dropFirst(keys.root.count + 1).split(separator: "/").map(String.init)
            XCTAssertEqual(parts.count, levels.count, path)
            for (index, (part, level)) in zip(parts, levels).enumerated() {
                let expected: StoreLayout.Entry = index == parts.count - 1 ? .file : .directory(levels[index + 1])
                XCTAssertEqual(StoreLayout.entry(part, in: level), expected, "\(part) of \(path)")
            }
        }
        XCTAssertEqual(StoreLayout.entry("current", in: .certificate), .versionLink)
        XCTAssertEqual(keys.link("current", of: "site"), "/srv/store/certificates/site/current")
    }

    /// Nobody outside the store builds a store path: no file of Sources outside Sources/CertAgent/Store joins a path
    /// below the root or names one of the store's files.
    func testNoSourceOutsideTheStoreBuildsAStorePath() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Sources").path
        let forbidden = [
            " root + \"/", "(root + \"/", ".root + \"/", "storagePath + \"/", "store.root + ", ") + \"/current", ") + \"/previous", "+ \"/versions",
            "\"account.json\"", "\"account-key.pem", "\".account.lock\"", "\"renewal.json\"", "\"notify.json\"", "\"site.json\"",
            "\"challenges.inflight\"", "\".issuing.lock\"", "\"issuance.json\"", "\"revoked.json\"", "\"secrets.sealed\"",
            "\"daemon.pid\"", "\".certagent-store\"", "directoryOf:", "CertificateJSONFile", "JSONEncoder()",
        ]
        // JSON that is not a store file: the webhook payload, the config's own text, etcd's wire protocol.
        let allowed = ["/Sources/CertAgent/Store/", "/Sources/ACME/", "/Sources/Etcd/", "/Sources/CertAgent/Agent/CertificateStatus.swift",
                       "/Sources/CertAgent/Notify/WebhookChannel.swift", "/Sources/CertAgent/Config/OrderedJSON.swift"]
        var offenders: [String] = []
        let files = try XCTUnwrap(FileManager.default.enumerator(atPath: sources)).compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }
        XCTAssertGreaterThan(files.count, 100, "the sources were found at \(sources)")
        for file in files {
            let path = sources + "/" + file
            guard !allowed.contains(where: path.contains) else { continue }
            let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            for (number, line) in lines.enumerated() where !line.trimmingCharacters(in: .whitespaces).hasPrefix("//") {
                for pattern in forbidden where line.contains(pattern) { offenders.append("\(file):\(number + 1): \(pattern)") }
            }
        }
        XCTAssertEqual(offenders, [], "store paths and store JSON belong to Sources/CertAgent/Store")
    }
}
