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

    private func problems(_ json: String, file: StaticString = #filePath, line: UInt = #line) -> [ConfigProblem] {
        let error = refusedConfig(file: file, line: line) { try load(json) }
        if let error { XCTAssertEqual(error.file, "/etc/certagent/config.json", file: file, line: line) }
        return error?.problems ?? []
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

    func testSiteCheckAddressIsOptionalAndValidated() throws {
        let config = try load(#"""
        {"storage": "\#(temp.path)/store",
         "certificates": [{"name": "a", "domains": ["a.example"], "webroot": "\#(webroot!)", "address": "127.0.0.1:8443"},
                          {"name": "b", "domains": ["b.example"], "webroot": "\#(webroot!)"}]}
        """#)
        XCTAssertEqual(config.certificates[0].address, SiteAddress(host: "127.0.0.1", port: 8443))
        XCTAssertNil(config.certificates[1].address)
        let found = problems(#"""
        {"storage": "\#(temp.path)/store",
         "certificates": [{"name": "a", "domains": ["a.example"], "webroot": "\#(webroot!)", "address": "::1:443"}]}
        """#)
        XCTAssertEqual(found.map(\.field), ["certificates[0].address"])
        XCTAssertEqual(found.first?.value, "\"::1:443\"")
        XCTAssertEqual(found.first?.message, "an IPv6 address must be written in brackets: [::1]:443")
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

    // MARK: - The config file itself, in words

    private func loadFailure(_ path: String) -> String {
        do {
            _ = try ConfigLoader.load(path: path, environment: [:])
            XCTFail("\(path) was accepted")
            return ""
        } catch {
            let text = "\(error)"
            XCTAssertFalse(text.contains("NSCocoaErrorDomain") || text.contains("error 256") || text.contains("The operation could not be completed"), text)
            return text
        }
    }

    func testEveryUnusableConfigPathIsSaidInWords() throws {
        let loopA = temp.path("loop-a.json"), loopB = temp.path("loop-b.json")
        XCTAssertEqual(symlink(loopB, loopA), 0)
        XCTAssertEqual(symlink(loopA, loopB), 0)
        XCTAssertTrue(loadFailure(loopA).contains("the config path is a loop of symbolic links"))

        let dangling = temp.path("dangling.json")
        XCTAssertEqual(symlink(temp.path("gone.json"), dangling), 0)
        XCTAssertTrue(loadFailure(dangling).contains("is a symbolic link to \"\(temp.path("gone.json"))\", which leads to nothing that exists"))

        XCTAssertTrue(loadFailure(temp.path("home")).contains("the config path is a directory, not a config file"))

        let fifo = temp.path("fifo.json")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        XCTAssertTrue(loadFailure(fifo).contains("the config path is a FIFO (named pipe), not a config file"), "a FIFO does not hang the loader")

        let empty = try temp.write("empty.json", "")
        XCTAssertTrue(loadFailure(empty).contains("the config file is empty"))
        let blank = try temp.write("blank.json", " \n\t\n")
        XCTAssertTrue(loadFailure(blank).contains("holds only blank space"))

        let latin1 = try temp.write("latin1.json", bytes: Array("{\"email\": \"caf".utf8) + [0xE9] + Array("@example.com\"}".utf8))
        let text = loadFailure(latin1)
        XCTAssertTrue(text.contains("is not valid JSON: line 1, column 15: is not UTF-8 text: the byte 0xE9"), text)

        let large = try temp.write("large.json", "{\"email\": \"" + String(repeating: "a", count: 1 << 20) + "\"}")
        XCTAssertTrue(loadFailure(large).contains("more than the 1 MiB a config may be"))

        let notDirectory = try temp.write("plain-file", "x")
        XCTAssertTrue(loadFailure(notDirectory + "/config.json").contains("a part of it before the file name is not a directory"))
    }

    func testStrictJSONErrorsReachTheConfigMessageWithLineAndColumn() {
        var found = problems("{\n  \"storage\": \"/var/lib/a\",\n  \"storage\": \"/var/lib/b\",\n  \"certificates\": []\n}")
        XCTAssertEqual(found.map(\.description), ["is not valid JSON: line 3, column 3: the key \"storage\" is given twice in one object, on line 2 and on line 3: keep one"])
        found = problems("{\"certificates\": [],}")
        XCTAssertEqual(found.first?.description, "is not valid JSON: line 1, column 21: expected a key in double quotes, found '}' (a comma is not allowed before '}')")
    }

    // MARK: - Bounds on every string

    func testStringFieldsAreBoundedByWhatTheyCanBe() {
        let longEmail = String(repeating: "a", count: 10 << 10) + "@example.com"
        let longLocal = String(repeating: "b", count: 65) + "@example.com"
        let longPath = "/" + String(repeating: "p", count: 5000)
        let found = problems(#"""
        {"email": ["\#(longEmail)", "\#(longLocal)", "ok@example.com"], "storage": "\#(longPath)", "masterKeyFile": "/etc/x\u0000y",
         "preferredChain": "\#(String(repeating: "c", count: 65))", "directory": "https://\#(String(repeating: "d", count: 3000)).example/dir",
         "eab": {"kid": "\#(String(repeating: "k", count: 300))", "hmacKeySecret": "eab"},
         "certificates": [{"domains": ["\#(String(repeating: "x", count: 300)).example"], "webroot": "/\#(String(repeating: "w", count: 300))"}]}
        """#)
        let byField = Dictionary(grouping: found, by: \.field).mapValues { $0.map(\.message).joined(separator: " | ") }
        XCTAssertEqual(byField["email[0]"], "is \(longEmail.utf8.count) bytes long: an e-mail address holds at most 254 (RFC 5321)")
        XCTAssertEqual(byField["email[1]"], "has a part before the @ of 65 bytes: at most 64 are allowed (RFC 5321)")
        XCTAssertNil(byField["email[2]"])
        XCTAssertEqual(byField["storage"], "is 5001 bytes long: a path holds at most 4095 bytes (PATH_MAX)")
        XCTAssertEqual(byField["masterKeyFile"], "contains a NUL character (\\u0000), which no path can hold")
        XCTAssertEqual(byField["preferredChain"]?.hasPrefix("is 65 characters long: an issuer's common name has at most 64"), true)
        XCTAssertEqual(byField["directory"]?.hasPrefix("is 3020 bytes long: an ACME directory URL holds at most 2048"), true)
        XCTAssertEqual(byField["eab.kid"]?.hasPrefix("is 300 bytes long: a key identifier holds at most 256"), true)
        XCTAssertEqual(byField["certificates[0].domains[0]"], "is longer than 253 characters")
        XCTAssertEqual(byField["certificates[0].webroot"], "has a name of 300 bytes in it: a file name holds at most 255 bytes (NAME_MAX)")
        // Every value in a message is shortened.
        XCTAssertTrue(found.allSatisfy { ($0.value ?? "").count <= 120 }, "\(found.map(\.value))")
    }

    func testControlCharactersInValuesAreShownEscaped() {
        let found = problems(#"{"email": "evil\u001b[31m\r\nforged line", "certificates": [{"domains": ["a.example"], "webroot": "\#(webroot!)"}]}"#)
        XCTAssertEqual(found.first?.value, #""evil\u001b[31m\r\nforged line""#)
        XCTAssertFalse(found.map(\.description).joined().unicodeScalars.contains { $0.value < 0x20 })
    }

    // MARK: - Referenced files, offline

    func testCAFileMustBeAReadableFileOfParsablePEMCertificates() throws {
        func caProblem(_ path: String) -> String? {
            let found = problems(#"{"caFile": "\#(path)", "storage": "\#(temp.path)/store", "certificates": [{"domains": ["a.example"], "webroot": "\#(webroot!)"}]}"#)
            XCTAssertEqual(found.count, 1, "\(found)")
            XCTAssertEqual(found.first?.field, "caFile")
            XCTAssertEqual(found.first?.value, "\"\(path)\"")
            return found.first?.message
        }
        XCTAssertEqual(caProblem(try temp.make("ca-directory")), "is a directory, not a PEM file of CA certificates")
        XCTAssertEqual(caProblem(temp.path("missing.pem")), "does not exist")
        XCTAssertEqual(caProblem(try temp.write("empty.pem", "")), "is empty: it must hold the PEM certificate(s) of the CA(s) to trust")
        XCTAssertEqual(caProblem(try temp.write("text.pem", "not a certificate\n"))?.hasPrefix("holds no PEM certificate (no -----BEGIN CERTIFICATE----- block)"), true)
        let garbage = "-----BEGIN CERTIFICATE-----\nAAECAwQFBgcICQ==\n-----END CERTIFICATE-----\n"
        let good = try RenewalFixtures.selfSignedLeaf().pem
        XCTAssertEqual(caProblem(try temp.write("garbage.pem", good + garbage))?.hasPrefix("holds a certificate that cannot be parsed (PEM block 2)"), true)
        XCTAssertEqual(caProblem(try temp.write("broken.pem", "-----BEGIN CERTIFICATE-----\nAAEC\n"))?.hasPrefix("has a broken PEM block"), true)
        XCTAssertEqual(caProblem("relative/ca.pem"), "must be an absolute path")

        let valid = try temp.write("ca.pem", "# our private CA\n" + good)
        let config = try load(#"{"caFile": "\#(valid)", "storage": "\#(temp.path)/store", "certificates": [{"domains": ["a.example"], "webroot": "\#(webroot!)"}]}"#)
        XCTAssertEqual(config.caFile, valid)
    }

    func testMasterKeyFileIsCheckedOffline() throws {
        func keyProblem(_ path: String) -> ConfigProblem? {
            problems(#"{"masterKeyFile": "\#(path)", "storage": "\#(temp.path)/store", "certificates": [{"domains": ["a.example"], "webroot": "\#(webroot!)"}]}"#).first
        }
        XCTAssertEqual(keyProblem(try temp.make("keys-dir"))?.message, "is a directory, not a key file")
        let plain = try temp.write("plain", "x")
        XCTAssertEqual(keyProblem(plain + "/sub/master.key")?.message, "cannot be created: \(plain) is a regular file, not a directory")
        XCTAssertNoThrow(try load(#"{"masterKeyFile": "\#(temp.path)/new/deeper/master.key", "storage": "\#(temp.path)/store", "certificates": [{"domains": ["a.example"], "webroot": "\#(webroot!)"}]}"#),
                         "a missing key in a directory that can be made is fine")
        XCTAssertFalse(FileManager.default.fileExists(atPath: temp.path("new")), "checking creates nothing")
    }

    // MARK: - Secret-bearing paths and webroots

    func testSecretPathsAreRefusedInsideOrAboveAWebroot() throws {
        let config = #"{"certificates": [{"name": "site", "domains": ["a.example"], "webroot": "\#(webroot!)"}], "#

        // The master key inside a webroot, explicitly or through a symbolic link.
        var found = problems(config + #""storage": "\#(temp.path)/store", "masterKeyFile": "\#(webroot!)/master.key"}"#)
        XCTAssertEqual(found.first?.field, "masterKeyFile")
        XCTAssertEqual(found.first?.message, "is inside the webroot \(webroot!) of a.example (certificate site): anyone could download the key that opens every secret; keep it outside every webroot")
        let link = temp.path("keys")
        XCTAssertEqual(symlink(webroot, link), 0)
        found = problems(config + #""storage": "\#(temp.path)/store", "masterKeyFile": "\#(link)/master.key"}"#)
        XCTAssertEqual(found.first?.field, "masterKeyFile", "a symbolic link into the webroot is resolved")

        // The default master key (beside the config) inside a webroot.
        do {
            _ = try ConfigLoader.parse(Data((config + #""storage": "\#(temp.path)/store"}"#).utf8), path: webroot + "/config.json", runningAsRoot: false)
            XCTFail("a config in the webroot put the default master key there")
        } catch let error as ConfigError {
            XCTAssertEqual(error.problems.first?.field, "masterKeyFile (default \(webroot!)/master.key)")
        }

        // The store above a webroot: storage=/srv/site with webroot /srv/site/public_html.
        let site = (webroot as NSString).deletingLastPathComponent
        found = problems(config + #""storage": "\#(site)"}"#)
        XCTAssertEqual(found.first?.field, "storage")
        XCTAssertEqual(found.first?.message, "holds the webroot \(webroot!) of a.example (certificate site): the store with its keys and secrets must not contain a site; give the store a directory of its own, outside every webroot")
        found = problems(config + #""storage": "/"}"#)
        XCTAssertEqual(found.first?.field, "storage", "the root directory holds every webroot")

        // The store beside the webroot (the default for a non-root user) is fine, and so is a master key beside it.
        XCTAssertNoThrow(try load(config + #""masterKeyFile": "\#(site)/master.key"}"#))
    }
}
