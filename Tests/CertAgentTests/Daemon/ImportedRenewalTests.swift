import ACME
@testable import CertAgent
import CertCrypto
import Foundation
import Logging
import TestSupport
import XCTest

/// A certificate another client got from a CA that offers ARI, imported (`LegoImport` + `ImportApplication`, as
/// `certagent import lego` runs them) and renewed by force: the order goes out with the imported account (no new one
/// at the CA) and carries `replaces` with the imported certificate's ARI identifier (RFC 9773 §5).
final class ImportedRenewalTests: XCTestCase {
    /// What an import of the "old client"'s certificate left: its testbed (scripted CA, webroot), the old account and
    /// certificate, and the config the import wrote.
    struct Imported {
        let old: ARITestbed
        let oldLeaf: Certificate
        let oldAccount: AccountRecord
        let oldAccountKey: PrivateKey
        let oldKeyPEM: String
        let oldFullChain: String
        let configPath: String
    }

    /// A certificate got by an "old client" (a session of its own with its own account at the scripted CA), laid out
    /// as lego leaves it, and imported into a new config and store.
    func importOldClientsCertificate() throws -> Imported {
        // The "old client": a session of its own that registers an account and gets the certificate from the scripted CA.
        let old = try ARITestbed()
        let oldLeaf = try old.issueFirstCertificate()
        let directoryURL = ScriptedACMEServer.directoryURL
        let oldAccount = try XCTUnwrap(old.session.store.accountRecord(directoryURL: directoryURL))
        let oldAccountKey = try AccountKeyFile.read(old.session.store.keys.accountKey(directoryURL: directoryURL), masterKey: old.session.secrets.masterKey)
        let oldFiles = try XCTUnwrap(old.session.store.currentFiles(ARITestbed.name))
        let oldKeyPEM = try String(contentsOfFile: oldFiles.privateKey, encoding: .utf8)

        // Its files as lego leaves them (lego names the account directory by the CA's host).
        let lego = try old.temporary.make("lego")
        let accountDirectory = lego + "/accounts/ca.test/admin@example.test"
        try FileManager.default.createDirectory(atPath: accountDirectory + "/keys", withIntermediateDirectories: true)
        try oldAccountKey.pkcs8PEM().write(toFile: accountDirectory + "/keys/admin@example.test.key", atomically: true, encoding: .utf8)
        try "{\"email\": \"admin@example.test\", \"registration\": {\"body\": {\"status\": \"valid\"}, \"uri\": \"\(oldAccount.url)\"}}"
            .write(toFile: accountDirectory + "/account.json", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: lego + "/certificates", withIntermediateDirectories: true)
        let base = lego + "/certificates/" + ARITestbed.domain
        try String(contentsOfFile: oldFiles.fullChain, encoding: .utf8).write(toFile: base + ".crt", atomically: true, encoding: .utf8)
        try oldKeyPEM.write(toFile: base + ".key", atomically: true, encoding: .utf8)
        try "{\"domain\": \"\(ARITestbed.domain)\"}".write(toFile: base + ".json", atomically: true, encoding: .utf8)

        let plan = try LegoImport.plan(directory: lego, webroots: ImportWebroots(shared: old.webroot), server: directoryURL)
        let configPath = try old.temporary.make("imported") + "/config.json"
        let application = try ImportApplication.prepare(plan: plan, configPath: configPath, existing: nil,
                                                        settings: .init(storage: old.temporary.path("imported/store")), reload: nil)
        try application.write(environment: [:])
        XCTAssertEqual(application.certificates.map(\.name), [ARITestbed.domain])

        return Imported(old: old, oldLeaf: oldLeaf, oldAccount: oldAccount, oldAccountKey: oldAccountKey, oldKeyPEM: oldKeyPEM,
                        oldFullChain: try String(contentsOfFile: oldFiles.fullChain, encoding: .utf8), configPath: configPath)
    }

    func session(_ imported: Imported) throws -> (AgentSession, RenewalService) {
        let clock = StoppableClock()
        let logger = Logger(label: "imported-renewal") { _ in SwiftLogNoOpLogHandler() }
        let session = try AgentSession(config: try ConfigLoader.load(path: imported.configPath, environment: [:]), clock: clock, logger: logger,
                                       environment: [:], transport: imported.old.server)
        let service = RenewalService(session: session, clock: clock, random: ScriptedRandomSource([0.25]), preflight: nil, logger: logger)
        service.connectIfPossible()
        return (session, service)
    }

    func testForcedRenewalOfAnImportedCertificateUsesItsAccountAndReplacesIt() throws {
        let imported = try importOldClientsCertificate()
        let (old, oldLeaf, oldAccount, oldAccountKey, oldKeyPEM) = (imported.old, imported.oldLeaf, imported.oldAccount, imported.oldAccountKey, imported.oldKeyPEM)
        let directoryURL = ScriptedACMEServer.directoryURL
        let (session, service) = try session(imported)
        let importedFiles = try XCTUnwrap(session.store.currentFiles(ARITestbed.domain))
        XCTAssertEqual(try String(contentsOfFile: importedFiles.fullChain, encoding: .utf8), imported.oldFullChain, "the imported certificate, byte for byte")
        XCTAssertEqual(service.ariSupported, true)
        let ordersBefore = old.server.placedOrders.count

        let outcome = service.process(ARITestbed.domain, forced: true)

        guard case .renewed = outcome else { return XCTFail("\(outcome)") }
        XCTAssertEqual(old.server.placedOrders.count, ordersBefore + 1)
        let order = try XCTUnwrap(old.server.placedOrders.last)
        XCTAssertTrue(order.hasReplacesMember)
        XCTAssertEqual(order.replaces, try XCTUnwrap(oldLeaf.ariCertificateIdentifier), "replaces names the imported certificate")
        XCTAssertEqual(order.replaces, old.server.issued.first?.certificateID, "as the CA computes it from its key identifier and the serial")
        XCTAssertEqual(old.server.accountURLs, [oldAccount.url], "no new account at the CA")
        XCTAssertEqual(session.store.accountRecord(directoryURL: directoryURL)?.url, oldAccount.url)
        XCTAssertEqual(old.server.account(ofKey: try oldAccountKey.jwkThumbprint()), oldAccount.url)

        let renewed = try XCTUnwrap(session.store.currentFiles(ARITestbed.domain))
        let newLeaf = try Certificate(pem: String(contentsOfFile: renewed.certificate, encoding: .utf8))
        XCTAssertNotEqual(newLeaf.serialHex, oldLeaf.serialHex)
        XCTAssertNotEqual(try PrivateKey(pem: String(contentsOfFile: renewed.privateKey, encoding: .utf8)).jwkThumbprint(),
                          try PrivateKey(pem: oldKeyPEM).jwkThumbprint(), "reuseKey is not set: a new key, as for any renewal")
        XCTAssertEqual(session.store.issuanceFacts(of: ARITestbed.domain, link: "previous"),
                       IssuanceFacts(directoryURL: directoryURL, accountURL: oldAccount.url), "the imported version is kept as previous")
    }

    /// The store already had another account at the CA (the imported one stays behind): the renewal orders with that
    /// account and sends no `replaces`, which a CA may refuse from an account that did not order the certificate.
    func testAnImportedCertificateRenewedByAnotherAccountIsNotReplacedByIt() throws {
        let imported = try importOldClientsCertificate()
        let directoryURL = ScriptedACMEServer.directoryURL
        do {
            // Another account key in the store, as if CertAgent had had its own account there before the import.
            let (session, _) = try session(imported)
            try AccountKeyFile.write(try PrivateKey.generate(.ec256), to: session.store.keys.accountKey(directoryURL: directoryURL),
                                     masterKey: session.secrets.masterKey)
            try FileManager.default.removeItem(atPath: session.store.keys.accountRecord(directoryURL: directoryURL))
        }
        let (session, service) = try session(imported)
        let ordersBefore = imported.old.server.placedOrders.count

        let outcome = service.process(ARITestbed.domain, forced: true)

        guard case .renewed = outcome else { return XCTFail("\(outcome)") }
        let newAccount = try XCTUnwrap(session.store.accountRecord(directoryURL: directoryURL)?.url)
        XCTAssertNotEqual(newAccount, imported.oldAccount.url)
        XCTAssertEqual(imported.old.server.placedOrders.count, ordersBefore + 1)
        XCTAssertEqual(imported.old.server.placedOrders.last?.hasReplacesMember, false,
                       "the certificate was ordered by \(imported.oldAccount.url), the renewal by \(newAccount): no replaces")
    }
}
