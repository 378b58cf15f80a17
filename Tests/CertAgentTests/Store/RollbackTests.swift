@testable import CertAgent
import CertCrypto
import Foundation
import TestSupport
import XCTest

/// `certagent rollback`: which previous versions may be served again, and what making one current does.
final class RollbackTests: XCTestCase {
    private static let domains = ["shop.test", "www.shop.test"]
    private static let day: TimeInterval = 86_400

    /// A CA and a store, issuing real (openssl-signed) 30-day certificates for `domains` into it.
    private final class Bed {
        let temp: TemporaryDirectory
        let ca: ScriptedIssuingCA
        let store: CertificateStore
        let certificate: CertificateConfig

        init(install: InstallConfig? = nil) throws {
            temp = try TemporaryDirectory()
            ca = try ScriptedIssuingCA(directory: try temp.make("ca"))
            store = try CertificateStore(root: temp.path("store"), webroots: [])
            certificate = CertificateConfig(name: "shop", domains: RollbackTests.domains,
                                            webroots: Dictionary(uniqueKeysWithValues: RollbackTests.domains.map { ($0, "/srv/shop") }),
                                            keyType: .ec256, install: install)
        }

        /// The chain and key of a new certificate with `serial`, for `names`.
        func issue(serial: String, names: [String] = RollbackTests.domains, days: Int = 30) throws -> (material: CertificateMaterial, key: PrivateKey) {
            let key = try PrivateKey.generate(.ec256)
            let csr = try CertificateSigningRequest.make(key: key, domains: names)
            let leaf = try ca.sign(csrDER: csr.der, serialHex: serial, days: days)
            return (CertificateMaterial(privateKeyPEM: try key.pkcs8PEM(), csrPEM: csr.pem, certificatePEM: leaf, chainPEM: ca.certificatePEM), key)
        }

        /// Issues and commits certificates with these serials, in order (the last is current, the one before previous).
        func commit(_ serials: [String]) throws {
            for serial in serials { try store.commit(try store.stage(try issue(serial: serial).material, for: "shop"), for: "shop") }
        }

        func serial(_ link: String) throws -> String? {
            guard let files = try store.linkedVersion("shop", link: link) else { return nil }
            return try StoredCertificateState.readLeaf(files).serialHex
        }
    }

    // MARK: Verification decisions (pure)

    private func evaluate(_ bed: Bed, serial: String = "0A", names: [String] = domains, configured: [String] = domains,
                          note: RevocationNote? = nil, otherKey: Bool = false, at offset: TimeInterval = 0) throws -> Result<RollbackCandidate, RollbackRefusal> {
        let (material, _) = try bed.issue(serial: serial, names: names)
        let keyPEM = otherKey ? try PrivateKey.generate(.ec256).pkcs8PEM() : material.privateKeyPEM
        return RollbackCheck.evaluate(chainPEM: material.fullChainPEM, keyPEM: keyPEM, revocation: note, domains: configured,
                                      now: Date().addingTimeInterval(offset))
    }

    private func refusal(_ result: Result<RollbackCandidate, RollbackRefusal>, file: StaticString = #filePath, line: UInt = #line) -> RollbackRefusal? {
        if case .failure(let refusal) = result { return refusal }
        XCTFail("accepted", file: file, line: line)
        return nil
    }

    func testAValidPreviousIsAcceptedAndKnowsWhenItFallsDue() throws {
        let bed = try Bed()
        let candidate = try evaluate(bed).get()
        XCTAssertEqual(candidate.leaf.serialHex, "0a")
        XCTAssertEqual(candidate.chain.count, 2)
        XCTAssertFalse(candidate.isDue(at: Date()), "a 30-day certificate issued just now is not due")
        XCTAssertTrue(candidate.isDue(at: Date().addingTimeInterval(25 * Self.day)), "with 5 of 30 days left it is")
        XCTAssertLessThan(candidate.renewalFrom, candidate.renewalBy)
    }

    func testExpiredOrNearlyExpiredIsRefusedWithWords() throws {
        let bed = try Bed()
        guard case .expired(let notAfter)? = refusal(try evaluate(bed, at: 31 * Self.day)) else { return XCTFail("not expired") }
        XCTAssertTrue(RollbackRefusal.expired(notAfter: notAfter).description.contains("the previous certificate expired on "))
        XCTAssertTrue(RollbackRefusal.expired(notAfter: notAfter).description.contains("`certagent renew --force` gets a new one instead"))
        // Valid for 12 more hours: inside the last day of a 30-day certificate (its safety margin), the daemon would replace it at once.
        let late = refusal(try evaluate(bed, at: 30 * Self.day - 12 * 3600))
        guard case .tooCloseToExpiry? = late else { return XCTFail("\(String(describing: late))") }
        XCTAssertTrue("\(late!)".contains("past the last safe moment to renew it"), "\(late!)")
    }

    func testAKnownRevocationOfThatSerialIsRefusedButNotOneOfAnother() throws {
        let bed = try Bed()
        let note = RevocationNote(serialHex: "0a", reason: .keyCompromise, revokedAt: Date())
        let refused = refusal(try evaluate(bed, note: note))
        XCTAssertEqual(refused, .revoked(serial: "0a", reason: .keyCompromise, at: note.revokedAt))
        XCTAssertTrue("\(refused!)".contains("was revoked (keyCompromise)"), "\(refused!)")
        let other = RevocationNote(serialHex: "0b", reason: .superseded, revokedAt: Date())
        XCTAssertNoThrow(try evaluate(bed, note: other).get())
    }

    func testNamesAndKeyMustMatchTheConfigAsItIsNow() throws {
        let bed = try Bed()
        XCTAssertEqual(refusal(try evaluate(bed, configured: Self.domains + ["new.shop.test"])), .missingNames(["new.shop.test"]))
        XCTAssertEqual(refusal(try evaluate(bed, configured: ["shop.test"])), .extraNames(["www.shop.test"]))
        XCTAssertEqual(refusal(try evaluate(bed, otherKey: true)), .keyMismatch)
        XCTAssertTrue(RollbackRefusal.missingNames(["new.shop.test"]).description.contains("does not cover new.shop.test, which the config lists now"))
    }

    // MARK: The rollback itself

    func testRollbackSwapsCurrentAndPreviousAndASecondOneUndoesIt() throws {
        let bed = try Bed()
        try bed.commit(["01", "02"])
        let report = try CertificateRollback.rollBack(bed.certificate, in: bed.store, now: Date())
        XCTAssertEqual(report.current.serialHex, "01")
        XCTAssertEqual(report.replaced?.serialHex, "02")
        XCTAssertFalse(report.isDue)
        XCTAssertEqual(try bed.serial("current"), "01")
        XCTAssertEqual(try bed.serial("previous"), "02", "the replaced version is kept, so the rollback can be undone")
        XCTAssertTrue(StoredCertificateState.inspect(bed.certificate, in: bed.store, now: Date()).isUsable)

        let undone = try CertificateRollback.rollBack(bed.certificate, in: bed.store, now: Date())
        XCTAssertEqual(undone.current.serialHex, "02")
        XCTAssertEqual(try bed.serial("current"), "02")
        XCTAssertEqual(try bed.serial("previous"), "01")
        let versions = try FileManager.default.contentsOfDirectory(atPath: bed.store.certificateDirectory("shop") + "/versions")
        XCTAssertEqual(versions.count, 2, "\(versions)")
    }

    func testNothingToRollBackToIsRefusedAndChangesNothing() throws {
        let bed = try Bed()
        try bed.commit(["01"])
        XCTAssertThrowsError(try CertificateRollback.rollBack(bed.certificate, in: bed.store, now: Date())) { error in
            XCTAssertEqual(error as? RollbackRefusal, .noPrevious(name: "shop"))
            XCTAssertTrue("\(error)".contains("shop has no previous certificate kept"), "\(error)")
        }
        XCTAssertEqual(try bed.serial("current"), "01")
        // An expired previous: refused, both links as they were.
        try bed.commit(["02"])
        XCTAssertThrowsError(try CertificateRollback.rollBack(bed.certificate, in: bed.store, now: Date().addingTimeInterval(40 * Self.day))) { error in
            guard case .expired? = error as? RollbackRefusal else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try bed.serial("current"), "02")
        XCTAssertEqual(try bed.serial("previous"), "01")
    }

    func testTheRecordIsPlannedForTheRestoredCertificateSoItIsNotRenewedAwayAtOnce() throws {
        let bed = try Bed()
        try bed.commit(["01", "02"])
        let records = RenewalRecordStore(store: bed.store)
        var record = RenewalRecord()
        record.chosenForSerial = "02"
        record.chosenRenewalTime = Date().addingTimeInterval(20 * Self.day)
        record.ariCertificateID = "aki.02"
        record.ariWindow = RenewalWindow(start: Date(), end: Date().addingTimeInterval(Self.day))
        record.recordFailure("CA down", at: Date())
        try records.save(record, for: "shop")

        _ = try CertificateRollback.rollBack(bed.certificate, in: bed.store, now: Date())
        let saved = records.load("shop").record
        XCTAssertNil(saved.chosenForSerial)
        XCTAssertNil(saved.chosenRenewalTime)
        XCTAssertNil(saved.ariWindow, "the other certificate's window is not this one's")
        XCTAssertEqual(saved.failures, 1, "the failure history stays, so retries keep backing off")
        // The policy plans the restored certificate from its own lifetime: later, not now.
        let state = StoredCertificateState.inspect(bed.certificate, in: bed.store, now: Date())
        let decision = RenewalPolicy().decide(state: state, record: saved, ariSupported: false, now: Date(), random: SystemRandomSource())
        guard case .renewAt(let at, .lifetimeThreshold) = decision.action else { return XCTFail("\(decision)") }
        XCTAssertGreaterThan(at, Date().addingTimeInterval(15 * Self.day))
    }

    func testAKnownRevocationIsTheCurrentCertificatesOnly() throws {
        let bed = try Bed()
        try bed.commit(["01"])
        let current = try XCTUnwrap(try bed.store.linkedVersion("shop"))
        XCTAssertNil(bed.store.knownRevocation("shop"))
        try RevocationNote(serialHex: "02", reason: .superseded, revokedAt: Date()).write(in: current)
        XCTAssertNil(bed.store.knownRevocation("shop"), "a note about another serial")
        let note = RevocationNote(serialHex: "01", reason: .keyCompromise, revokedAt: Date(timeIntervalSince1970: 1_767_225_600))
        try note.write(in: current)
        XCTAssertEqual(bed.store.knownRevocation("shop"), note)
    }

    func testTheInstallBlockDeploysTheRestoredCertificateAndRunsItsReload() throws {
        let temp = try TemporaryDirectory()
        let marker = temp.path("reloaded")
        let install = InstallConfig(fullChain: InstallTarget(path: temp.path("fullchain.pem"), mode: 0o644),
                                    reload: ReloadCommand(executable: "/bin/sh", arguments: ["/bin/sh", "-c", "echo \"$CERTAGENT_NAME\" >> \(marker)"]))
        let bed = try Bed(install: install)
        try bed.commit(["01", "02"])
        let report = try CertificateRollback.rollBack(bed.certificate, in: bed.store, now: Date())
        XCTAssertNil(report.deployError)
        XCTAssertEqual(report.install?.written, [temp.path("fullchain.pem")])
        XCTAssertEqual(report.install?.reloaded, true)
        let deployed = try Certificate.parseChain(pem: try String(contentsOfFile: temp.path("fullchain.pem"), encoding: .utf8))
        XCTAssertEqual(deployed.first?.serialHex, "01")
        XCTAssertEqual(try String(contentsOfFile: marker, encoding: .utf8), "shop\n")
    }
}
