@testable import CertAgent
import CertCrypto
import Foundation
import Logging
import Synchronization
import TestSupport
import XCTest

/// `reuseKey`: how the config reads it, and which key `CertificateKeyChoice` picks from a real store.
final class KeyReuseTests: XCTestCase {
    var temp: TemporaryDirectory!
    var webroot: String!

    override func setUpWithError() throws {
        temp = try TemporaryDirectory()
        webroot = try temp.make("home/site/public_html")
    }

    private func load(_ certificateFields: String) throws -> AgentConfig {
        let json = #"{"certificates": [{"domains": ["a.example"], "webroot": "\#(webroot!)"\#(certificateFields)}]}"#
        return try ConfigLoader.parse(Data(json.utf8), path: "/etc/certagent/config.json", environment: [:], runningAsRoot: false)
    }

    // MARK: Config

    func testReuseKeyIsOffByDefaultAndReadPerCertificate() throws {
        XCTAssertFalse(try load("").certificates[0].reuseKey)
        XCTAssertTrue(try load(#", "reuseKey": true"#).certificates[0].reuseKey)
        XCTAssertFalse(try load(#", "reuseKey": false"#).certificates[0].reuseKey)
    }

    func testReuseKeyOfTheWrongTypeIsRefusedNamingFieldAndValue() throws {
        XCTAssertThrowsError(try load(#", "reuseKey": "yes""#)) { error in
            let problems = (error as? ConfigError)?.problems ?? []
            XCTAssertEqual(problems.map(\.field), ["certificates[0].reuseKey"])
            XCTAssertEqual(problems.first?.value, "\"yes\"")
            XCTAssertTrue(problems.first?.message.contains("must be true or false, not a string") ?? false, "\(problems)")
            XCTAssertTrue("\(error)".contains("/etc/certagent/config.json"), "\(error)")
        }
        XCTAssertThrowsError(try load(#", "reuseKey": 1"#)) { error in
            let problems = (error as? ConfigError)?.problems ?? []
            XCTAssertEqual(problems.map(\.field), ["certificates[0].reuseKey"])
            XCTAssertEqual(problems.first?.value, "1")
        }
    }

    func testReuseKeyAtTopLevelIsNotAKnownField() throws {
        let json = #"{"reuseKey": true, "certificates": [{"domains": ["a.example"], "webroot": "\#(webroot!)"}]}"#
        XCTAssertThrowsError(try ConfigLoader.parse(Data(json.utf8), path: "/c.json", environment: [:], runningAsRoot: false)) { error in
            XCTAssertEqual((error as? ConfigError)?.problems.map(\.field), ["reuseKey"], "per certificate only: \(error)")
        }
    }

    // MARK: The decision (pure)

    func testDecision() throws {
        let key = try PrivateKey.generate(.ec256)
        let note = { (reason: RevocationReason) in RevocationNote(serialHex: "01", reason: reason, revokedAt: Date(timeIntervalSince1970: 0)) }
        func decide(reuse: Bool = true, type: KeyType = .ec256, asked: Bool = false, current: Result<PrivateKey, any Error>?,
                    note: RevocationNote? = nil) -> CertificateKeyChoice.Decision {
            CertificateKeyChoice.decide(reuseKey: reuse, configured: type, newKeyAsked: asked, current: current, revocation: note)
        }
        XCTAssertEqual(decide(current: .success(key)), .reuse)
        XCTAssertEqual(decide(current: .success(key), note: note(.superseded)), .reuse, "revoked for another reason: the key is still good")
        XCTAssertEqual(decide(reuse: false, current: .success(key)), .newKey(reason: .notReusing))
        XCTAssertEqual(decide(asked: true, current: .success(key)), .newKey(reason: .asked))
        XCTAssertEqual(decide(current: nil), .newKey(reason: .noCurrentKey))
        XCTAssertEqual(decide(type: .rsa2048, current: .success(key)), .newKey(reason: .keyTypeChanged(current: .ec256, configured: .rsa2048)))
        XCTAssertEqual(decide(current: .success(key), note: note(.keyCompromise)), .newKey(reason: .compromised))
        XCTAssertEqual(decide(current: .failure(FileSystemError("read", path: "/x/privkey.pem", reason: "permission denied"))),
                       .newKey(reason: .unreadable("cannot read /x/privkey.pem: permission denied")))
        XCTAssertEqual(CertificateKeyChoice.NewKeyReason.keyTypeChanged(current: .ec256, configured: .rsa2048).description,
                       "keyType changed from ec256 to rsa2048")
    }

    // MARK: From a real store

    private final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        var text: String { lines.withLock { $0.joined(separator: "\n") } }
    }

    private func logger(_ lines: Lines) -> Logger {
        var logger = Logger(label: "key-reuse") { label in
            AgentLogHandler(label: label, level: .debug, journald: false) { line in lines.lines.withLock { $0.append(line) } }
        }
        logger.logLevel = .debug
        return logger
    }

    /// A store whose certificate `a.example` has a current version holding `keyPEM`.
    private func store(currentKey keyPEM: String) throws -> CertificateStore {
        let store = try CertificateStore(root: temp.path + "/store", webroots: [webroot])
        let staged = try store.stage(CertificateMaterial(privateKeyPEM: keyPEM, csrPEM: "", certificatePEM: "", chainPEM: ""), for: "a.example")
        try store.commit(staged, for: "a.example")
        return store
    }

    func testTheCurrentKeyIsReusedOnlyWhenItCanServe() throws {
        let current = try PrivateKey.generate(.ec256)
        let store = try store(currentKey: try current.pkcs8PEM())
        let lines = Lines()
        var certificate = try load(#", "reuseKey": true"#).certificates[0]

        let reused = try CertificateKeyChoice.key(for: certificate, store: store, newKeyAsked: false, logger: logger(lines))
        XCTAssertTrue(reused.reused)
        XCTAssertEqual(try reused.key.publicKeyDER(), try current.publicKeyDER())
        XCTAssertTrue(lines.text.contains("reusing the current private key (reuseKey)"), lines.text)

        let asked = try CertificateKeyChoice.key(for: certificate, store: store, newKeyAsked: true, logger: logger(lines))
        XCTAssertFalse(asked.reused)
        XCTAssertNotEqual(try asked.key.publicKeyDER(), try current.publicKeyDER())
        XCTAssertTrue(lines.text.contains("making a new private key: a new key was asked for (--new-key)"), lines.text)

        certificate.keyType = .ec384
        let changed = try CertificateKeyChoice.key(for: certificate, store: store, newKeyAsked: false, logger: logger(lines))
        XCTAssertFalse(changed.reused)
        XCTAssertEqual(changed.key.type, .ec384)
        XCTAssertTrue(lines.text.contains("NOTICE making a new private key: keyType changed from ec256 to ec384"), lines.text)

        certificate.keyType = .ec256
        certificate.reuseKey = false
        let plain = try CertificateKeyChoice.key(for: certificate, store: store, newKeyAsked: false, logger: logger(lines))
        XCTAssertFalse(plain.reused)
        XCTAssertNotEqual(try plain.key.publicKeyDER(), try current.publicKeyDER())
    }

    func testACompromisedOrUnreadableKeyIsReplaced() throws {
        let current = try PrivateKey.generate(.ec256)
        let store = try store(currentKey: try current.pkcs8PEM())
        let certificate = try load(#", "reuseKey": true"#).certificates[0]
        let version = try XCTUnwrap(try store.linkedVersion("a.example"))
        let lines = Lines()

        try RevocationNote(serialHex: "0a", reason: .keyCompromise, revokedAt: Date()).write(in: version)
        let compromised = try CertificateKeyChoice.key(for: certificate, store: store, newKeyAsked: false, logger: logger(lines))
        XCTAssertFalse(compromised.reused)
        XCTAssertNotEqual(try compromised.key.publicKeyDER(), try current.publicKeyDER())
        XCTAssertTrue(lines.text.contains("making a new private key: the current certificate was revoked for keyCompromise"), lines.text)

        try FileManager.default.removeItem(atPath: version.directory + "/revoked.json")
        try FileManager.default.removeItem(atPath: version.privateKey)
        try FileManager.default.createSymbolicLink(atPath: version.privateKey, withDestinationPath: "/etc/passwd")
        let linked = try CertificateKeyChoice.key(for: certificate, store: store, newKeyAsked: false, logger: logger(lines))
        XCTAssertFalse(linked.reused, "a link in place of the key is never followed")
        XCTAssertTrue(lines.text.contains("making a new private key: the current key cannot be reused: \(version.privateKey) is a symbolic link to /etc/passwd"), lines.text)

        try FileManager.default.removeItem(atPath: version.privateKey)
        _ = try temp.write("store/certificates/a.example/current/privkey.pem", "not a key")
        let garbage = try CertificateKeyChoice.key(for: certificate, store: store, newKeyAsked: false, logger: logger(lines))
        XCTAssertFalse(garbage.reused)
        XCTAssertTrue(lines.text.contains("holds no PEM private key CertAgent can use"), lines.text)
    }

    func testNoCurrentVersionMeansANewKeyOfTheConfiguredType() throws {
        let store = try CertificateStore(root: temp.path + "/store", webroots: [webroot])
        let lines = Lines()
        let certificate = try load(#", "reuseKey": true, "keyType": "rsa2048""#).certificates[0]
        let chosen = try CertificateKeyChoice.key(for: certificate, store: store, newKeyAsked: false, logger: logger(lines))
        XCTAssertFalse(chosen.reused)
        XCTAssertEqual(chosen.key.type, .rsa2048)
        XCTAssertTrue(lines.text.contains("making a new private key: there is no current key to reuse yet"), lines.text)
    }
}
