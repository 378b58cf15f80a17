@testable import CertAgent
import CertCrypto
import Foundation
import TestSupport
import XCTest

/// A missing `current` link is linked again to the newest version that verifies (`CurrentLinkRecovery`), never to one
/// that does not, and nothing else about the store changes.
final class CurrentLinkRecoveryTests: XCTestCase {
    private static let domains = ["shop.test", "www.shop.test"]

    private final class Bed {
        let temp: TemporaryDirectory
        let ca: ScriptedIssuingCA
        let store: CertificateStore
        let certificate: CertificateConfig

        init() throws {
            temp = try TemporaryDirectory()
            ca = try ScriptedIssuingCA(directory: try temp.make("ca"))
            store = try CertificateStore(root: temp.path("store"), webroots: [])
            certificate = CertificateConfig(name: "shop", domains: CurrentLinkRecoveryTests.domains,
                                            webroots: Dictionary(uniqueKeysWithValues: CurrentLinkRecoveryTests.domains.map { ($0, "/srv/shop") }),
                                            keyType: .ec256)
        }

        /// Stages and commits a certificate with `serial`, valid `days` days, for `names`; returns its version name.
        @discardableResult
        func commit(serial: String, days: Int = 30, names: [String] = CurrentLinkRecoveryTests.domains, at date: Date = Date()) throws -> String {
            let key = try PrivateKey.generate(.ec256)
            let csr = try CertificateSigningRequest.make(key: key, domains: names)
            let leaf = try ca.sign(csrDER: csr.der, serialHex: serial, days: days)
            let material = CertificateMaterial(privateKeyPEM: try key.pkcs8PEM(), csrPEM: csr.pem, certificatePEM: leaf, chainPEM: ca.certificatePEM)
            try store.commit(try store.stage(material, for: "shop", now: date), for: "shop")
            return (try store.linkedVersion("shop")!.directory as NSString).lastPathComponent
        }

        var current: String { store.certificateDirectory("shop") + "/current" }

        func currentSerial() throws -> String? {
            guard let files = try store.linkedVersion("shop") else { return nil }
            return try StoredCertificateState.readLeaf(files).serialHex
        }
    }

    func testTheNewestUsableVersionIsChosen() throws {
        let bed = try Bed()
        let older = try bed.commit(serial: "01", at: Date().addingTimeInterval(-60))
        let newer = try bed.commit(serial: "02")
        let checks = [older, newer].map { CurrentLinkRecovery.check($0, of: bed.certificate, in: bed.store, now: Date(), rule: LifetimeRenewalRule()) }
        XCTAssertEqual(CurrentLinkRecovery.choose(checks)?.version, newer)
        XCTAssertEqual(CurrentLinkRecovery.choose(checks.reversed())?.version, newer, "by version, whatever the order found")
        let refused = VersionCheck(version: "99991231T235959Z-ffffffff", outcome: .failure(.keyMismatch))
        XCTAssertEqual(CurrentLinkRecovery.choose(checks + [refused])?.version, newer, "a newer version that does not verify is skipped")
        XCTAssertNil(CurrentLinkRecovery.choose([refused]))
        XCTAssertNil(CurrentLinkRecovery.choose([]))
    }

    func testAMissingLinkIsLinkedAgainToTheNewestVerifiedVersionOnly() throws {
        let bed = try Bed()
        let good = try bed.commit(serial: "01", at: Date().addingTimeInterval(-60))
        // The newest version covers a name the config no longer lists: skipped.
        try bed.commit(serial: "02", names: Self.domains + ["old.shop.test"])
        XCTAssertEqual(unlink(bed.current), 0)
        XCTAssertEqual(CurrentLinkRecovery.candidate(for: bed.certificate, in: bed.store, now: Date())?.version, good)
        XCTAssertNil(try bed.currentSerial(), "a candidate is only reported: nothing written")
        let choice = try XCTUnwrap(try CurrentLinkRecovery.relinkIfMissing(bed.certificate, in: bed.store, now: Date()))
        XCTAssertEqual(choice.version, good)
        XCTAssertEqual(try bed.currentSerial(), "01")
        XCTAssertTrue(StoredCertificateState.inspect(bed.certificate, in: bed.store, now: Date()).isUsable)
        XCTAssertTrue(CurrentLinkRecovery.note(choice).hasPrefix("its current link is missing, but the stored version \(good) (certificate 01, valid until "))
        // With the link in place nothing is done.
        XCTAssertNil(try CurrentLinkRecovery.relinkIfMissing(bed.certificate, in: bed.store, now: Date()))
    }

    func testNothingIsLinkedWhenNoVersionIsSafeToServe() throws {
        let bed = try Bed()
        let version = try bed.commit(serial: "01", days: 30)
        // Revoked: refused.
        let files = CertificateFiles(directory: bed.store.certificateDirectory("shop") + "/versions/" + version)
        try RevocationNote(serialHex: "01", reason: .keyCompromise, revokedAt: Date()).write(in: files)
        XCTAssertEqual(unlink(bed.current), 0)
        XCTAssertNil(try CurrentLinkRecovery.relinkIfMissing(bed.certificate, in: bed.store, now: Date()))
        XCTAssertFalse(FileManager.default.fileExists(atPath: bed.current))
        // Past its latest safe renewal time (30 days, a 1-day margin): refused.
        XCTAssertEqual(unlink(StoreKeys.revocationNote(in: files)), 0)
        XCTAssertNil(try CurrentLinkRecovery.relinkIfMissing(bed.certificate, in: bed.store, now: Date().addingTimeInterval(29.5 * 86_400)))
        XCTAssertNotNil(try CurrentLinkRecovery.relinkIfMissing(bed.certificate, in: bed.store, now: Date()))
    }

    func testACurrentThatIsSomethingElseIsNeverReplaced() throws {
        let bed = try Bed()
        try bed.commit(serial: "01")
        XCTAssertEqual(unlink(bed.current), 0)
        XCTAssertEqual(symlink("/etc", bed.current), 0)
        XCTAssertNil(try CurrentLinkRecovery.relinkIfMissing(bed.certificate, in: bed.store, now: Date()))
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: bed.current), "/etc")
    }
}
