import CertAgent
import Foundation
import TestSupport
import XCTest

final class ConfigLoaderTests: XCTestCase {
    var temp: TemporaryDirectory!
    var webroot: String!

    override func setUpWithError() throws {
        temp = try TemporaryDirectory()
        webroot = try temp.make("home/site/public_html")
    }

    private func load(_ json: String, environment: [String: String] = [:], runningAsRoot: Bool = false) throws -> AgentConfig {
        try ConfigLoader.parse(Data(json.utf8), path: "/etc/certagent/config.json", environment: environment, runningAsRoot: runningAsRoot)
    }

    private func problems(_ json: String) -> [ConfigProblem] {
        do {
            _ = try load(json)
            XCTFail("expected the config to be refused")
            return []
        } catch let error as ConfigError {
            XCTAssertEqual(error.file, "/etc/certagent/config.json")
            return error.problems
        } catch {
            XCTFail("unexpected error \(error)")
            return []
        }
    }

    func testMinimalConfigGetsSafeDefaults() throws {
        let config = try load(#"{"email": "admin@example.com", "certificates": [{"domains": ["Example.com", "www.example.com"], "webroot": "\#(webroot!)"}]}"#)
        XCTAssertEqual(config.directoryURL, "https://acme-v02.api.letsencrypt.org/directory")
        XCTAssertEqual(config.emails, ["admin@example.com"])
        XCTAssertFalse(config.acceptTermsOfService)
        XCTAssertEqual(config.certificates.count, 1)
        let certificate = config.certificates[0]
        XCTAssertEqual(certificate.name, "example.com", "the name defaults to the first domain")
        XCTAssertEqual(certificate.domains, ["example.com", "www.example.com"], "domains are lowercased")
        XCTAssertEqual(certificate.keyType.rawValue, "ec256")
        XCTAssertEqual(certificate.webroots, ["example.com": webroot, "www.example.com": webroot])
        // The store sits beside public_html, in the account's home, never inside the webroot.
        XCTAssertEqual(config.storagePath, temp.path + "/home/site/certagent")
    }

    func testRootWithoutSystemdUsesTheServiceStoreSoCommandsAndDaemonAgree() throws {
        let config = try load(#"{"certificates": [{"domains": ["a.example"], "webroot": "\#(webroot!)"}]}"#, runningAsRoot: true)
        XCTAssertEqual(config.storagePath, "/var/lib/certagent")
        let underSystemd = try load(#"{"certificates": [{"domains": ["a.example"], "webroot": "\#(webroot!)"}]}"#,
                                    environment: ["STATE_DIRECTORY": "/srv/state"], runningAsRoot: true)
        XCTAssertEqual(underSystemd.storagePath, "/srv/state")
    }

    func testStagingByNameAndSystemdStateDirectory() throws {
        let config = try load(#"{"directory": "letsencrypt-staging", "certificates": [{"domains": ["a.example"], "webroot": "\#(webroot!)"}]}"#,
                              environment: ["STATE_DIRECTORY": "/var/lib/certagent"])
        XCTAssertEqual(config.directoryURL, "https://acme-staging-v02.api.letsencrypt.org/directory")
        XCTAssertEqual(config.storagePath, "/var/lib/certagent")
    }

    func testPerDomainWebrootsAndKeyTypes() throws {
        let shop = try temp.make("srv/shop")
        let config = try load(#"""
        {"keyType": "rsa3072", "storage": "\#(temp.path)/store",
         "certificates": [
           {"name": "main", "domains": ["a.example", "shop.a.example"], "webroot": "\#(webroot!)", "webroots": {"shop.a.example": "\#(shop)"}},
           {"name": "other", "domains": ["b.example"], "webroot": "\#(webroot!)", "keyType": "ec384"}]}
        """#)
        XCTAssertEqual(config.certificates[0].webroots, ["a.example": webroot, "shop.a.example": shop])
        XCTAssertEqual(config.certificates[0].keyType.rawValue, "rsa3072")
        XCTAssertEqual(config.certificates[1].keyType.rawValue, "ec384")
        XCTAssertEqual(config.storagePath, temp.path + "/store")
    }

    func testEveryProblemIsReportedAtOnceWithFieldAndValue() {
        let found = problems(#"""
        {"email": "not-an-address", "directory": "http://insecure.example/dir", "keyType": "ec999", "storage": "relative/path", "webrot": 1,
         "certificates": [
           {"domains": ["ok.example", "bad domain.example", "*.wild.example"], "webroot": "\#(webroot!)"},
           {"name": "../escape", "domains": ["c.example"], "webroot": "/does/not/exist"}]}
        """#)
        let byField = Dictionary(grouping: found, by: \.field)
        XCTAssertEqual(byField["email"]?.first?.value, "\"not-an-address\"")
        XCTAssertNotNil(byField["directory"]?.first?.message.range(of: "https://"))
        XCTAssertEqual(byField["keyType"]?.first?.value, "\"ec999\"")
        XCTAssertNotNil(byField["keyType"]?.first?.message.range(of: "rsa2048"), "lists the valid key types")
        XCTAssertNotNil(byField["webrot"]?.first?.message.range(of: "not a known field"))
        XCTAssertEqual(byField["certificates[0].domains[1]"]?.first?.value, "\"bad domain.example\"")
        XCTAssertNotNil(byField["certificates[0].domains[2]"]?.first?.message.range(of: "DNS-01"))
        XCTAssertEqual(byField["certificates[1].name"]?.first?.value, "\"../escape\"")
        XCTAssertEqual(byField["certificates[1].webroot"]?.first?.message, "is not an existing directory")
        XCTAssertEqual(byField["storage"]?.first?.message, "must be an absolute path")
        XCTAssertGreaterThanOrEqual(found.count, 9)
    }

    func testStoreInsideWebrootIsRefusedEvenThroughASymlink() throws {
        var found = problems(#"{"storage": "\#(webroot!)/certagent", "certificates": [{"domains": ["a.example"], "webroot": "\#(webroot!)"}]}"#)
        XCTAssertEqual(found.first?.field, "storage")
        XCTAssertNotNil(found.first?.message.range(of: "inside the webroot"))
        let link = temp.path + "/innocent-looking"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: webroot)
        found = problems(#"{"storage": "\#(link)/keys", "certificates": [{"domains": ["a.example"], "webroot": "\#(webroot!)"}]}"#)
        XCTAssertNotNil(found.first?.message.range(of: "inside the webroot"), "a symlink into the webroot is resolved")
    }

    func testInvalidJSONAndWrongTypes() {
        var found = problems("{\"certificates\": [\n  {\"domains\": [\"a.example\"],, }\n]}")
        XCTAssertEqual(found.count, 1)
        XCTAssertNotNil(found[0].message.range(of: "not valid JSON"))
        found = problems(#"{"certificates": {"domains": "a.example"}}"#)
        XCTAssertEqual(found.first?.field, "certificates")
        XCTAssertEqual(found.first?.message, "must be an array, not an object")
        found = problems(#"{"acceptTermsOfService": "yes", "certificates": [{"domains": ["a.example"], "webroot": "\#(webroot!)"}]}"#)
        XCTAssertEqual(found.first?.field, "acceptTermsOfService")
        XCTAssertEqual(found.first?.value, "\"yes\"")
    }

    func testDuplicateNamesAndDomainsAndUnservedDomains() {
        let found = problems(#"""
        {"storage": "/var/lib/certagent", "certificates": [
          {"name": "x", "domains": ["a.example", "a.example"], "webroot": "\#(webroot!)"},
          {"name": "x", "domains": ["b.example"], "webroot": "\#(webroot!)"},
          {"name": "y", "domains": ["c.example", "d.example"], "webroots": {"c.example": "\#(webroot!)", "e.example": "\#(webroot!)"}}]}
        """#)
        let messages = found.map(\.description)
        XCTAssertTrue(messages.contains { $0.hasPrefix("certificates[0].domains[1] = \"a.example\": is listed twice") }, "\(messages)")
        XCTAssertTrue(messages.contains { $0.hasPrefix("certificates[1].name = \"x\": is used by another certificate") }, "\(messages)")
        XCTAssertTrue(messages.contains { $0.contains("webroots[\"e.example\"]") && $0.contains("not in domains") }, "\(messages)")
        XCTAssertTrue(messages.contains { $0.contains("no webroot serves d.example") }, "\(messages)")
    }

    func testMissingFileIsAClearError() {
        XCTAssertThrowsError(try ConfigLoader.load(path: temp.path + "/nope.json")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("nope.json"), text)
            XCTAssertTrue(text.contains("the config file does not exist"), text)
        }
    }
}
