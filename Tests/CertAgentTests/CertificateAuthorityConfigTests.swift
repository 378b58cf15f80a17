@testable import CertAgent
import Foundation
import TestSupport
import XCTest

/// `directory` as a list of CAs (URL, known name, or object with its own `caFile` and `eab`) and
/// `fallbackAfterFailures`: what is accepted, and that every misuse names its field and value.
final class CertificateAuthorityConfigTests: XCTestCase {
    var temp: TemporaryDirectory!
    var webroot: String!
    var caFile: String!

    override func setUpWithError() throws {
        temp = try TemporaryDirectory()
        webroot = try temp.make("home/site/public_html")
        let key = temp.path("ca.key")
        caFile = temp.path("ca.pem")
        let made = try Subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                       "-keyout", key, "-out", caFile, "-subj", "/CN=Fallback test CA", "-days", "2"])
        XCTAssertEqual(made.status, 0, made.stderr)
    }

    private func config(_ members: String) -> String {
        #"{"storage": "\#(temp.path("store"))", \#(members), "certificates": [{"domains": ["a.example"], "webroot": "\#(webroot!)"}]}"#
    }

    private func load(_ members: String) throws -> AgentConfig {
        try ConfigLoader.parse(Data(config(members).utf8), path: "/etc/certagent/config.json", environment: [:], runningAsRoot: false)
    }

    private func problems(_ members: String, file: StaticString = #filePath, line: UInt = #line) -> [ConfigProblem] {
        refusedConfig(file: file, line: line) { try load(members) }?.problems ?? []
    }

    func testOneURLStaysAsItWasWithTopLevelCAFileAndEAB() throws {
        let config = try load(#""directory": "https://acme.example/dir", "caFile": "\#(caFile!)", "eab": {"kid": "k1", "hmacKeySecret": "eab-one"}"#)
        XCTAssertEqual(config.directoryURL, "https://acme.example/dir")
        XCTAssertEqual(config.caFile, caFile)
        XCTAssertEqual(config.externalAccountBinding, ExternalAccountBindingConfig(keyID: "k1", hmacKeySecret: "eab-one"))
        XCTAssertEqual(config.fallbackAuthorities, [])
        XCTAssertEqual(config.certificateAuthorities, [config.primaryAuthority])
        XCTAssertEqual(config.fallbackAfterFailures, 3)
        XCTAssertEqual(config.certificateAuthorityLines, ["  ACME server  https://acme.example/dir"])
    }

    func testAListOfCAsInOrderEachWithItsOwnTrustAndBinding() throws {
        let config = try load(#"""
            "directory": ["https://acme.example/dir", "letsencrypt",
                          {"url": "https://other.example/acme", "caFile": "\#(caFile!)", "eab": {"kid": "k2", "hmacKeySecret": "eab-two"}}],
            "caFile": "\#(caFile!)", "eab": {"kid": "k1", "hmacKeySecret": "eab-one"}, "fallbackAfterFailures": 2
            """#)
        XCTAssertEqual(config.certificateAuthorities, [
            CertificateAuthorityConfig(directoryURL: "https://acme.example/dir", caFile: caFile,
                                       externalAccountBinding: ExternalAccountBindingConfig(keyID: "k1", hmacKeySecret: "eab-one")),
            CertificateAuthorityConfig(directoryURL: KnownDirectory.letsencrypt.url),
            CertificateAuthorityConfig(directoryURL: "https://other.example/acme", caFile: caFile,
                                       externalAccountBinding: ExternalAccountBindingConfig(keyID: "k2", hmacKeySecret: "eab-two")),
        ], "the top-level caFile and eab are the first CA's")
        XCTAssertEqual(config.directoryURL, "https://acme.example/dir", "the primary's fields stay where other code reads them")
        XCTAssertEqual(config.fallbackAfterFailures, 2)
        XCTAssertEqual(config.referencedSecrets, ["eab-one", "eab-two"], "every CA's EAB secret must be set")
        XCTAssertEqual(config.certificateAuthorities[1].displayName, "letsencrypt")
        let lines = config.certificateAuthorityLines
        XCTAssertEqual(lines.count, 4)
        XCTAssertTrue(lines[0].contains("after 2 failures in a row"), lines[0])
        XCTAssertEqual(lines[1], "    1. https://acme.example/dir (primary, caFile \(caFile!), EAB key id k1)")
        XCTAssertEqual(lines[2], "    2. \(KnownDirectory.letsencrypt.url) (fallback)")
        XCTAssertEqual(lines[3], "    3. https://other.example/acme (fallback, caFile \(caFile!), EAB key id k2)")
    }

    func testTheFirstCAMayCarryItsOwnSettingsInsteadOfTopLevelOnes() throws {
        let config = try load(#""directory": [{"url": "https://acme.example/dir", "caFile": "\#(caFile!)"}, "letsencrypt"]"#)
        XCTAssertEqual(config.caFile, caFile)
        XCTAssertEqual(config.fallbackAuthorities.map(\.directoryURL), [KnownDirectory.letsencrypt.url])
    }

    func testOneCAMayBeWrittenAsAnObject() throws {
        let config = try load(#""directory": {"url": "letsencrypt-staging", "caFile": "\#(caFile!)"}"#)
        XCTAssertEqual(config.certificateAuthorities, [CertificateAuthorityConfig(directoryURL: KnownDirectory.letsencryptStaging.url, caFile: caFile)])
    }

    func testEachMisuseNamesItsFieldAndValue() {
        func assertProblem(_ members: String, field: String, value: String?, mentions: String, line: UInt = #line) {
            let found = problems(members)
            guard let problem = found.first(where: { $0.field == field }) else {
                return XCTFail("no problem at \(field) in \(found)", line: line)
            }
            XCTAssertEqual(problem.value, value, line: line)
            XCTAssertTrue(problem.message.contains(mentions), "\(problem)", line: line)
        }
        assertProblem(#""directory": []"#, field: "directory", value: "[]", mentions: "is empty")
        assertProblem(#""directory": ["letsencrypt", "http://plain.example/dir"]"#, field: "directory[1]", value: #""http://plain.example/dir""#,
                      mentions: "https:// URL")
        assertProblem(#""directory": ["letsencrypt", 7]"#, field: "directory[1]", value: "7", mentions: "not a number")
        assertProblem(#""directory": ["letsencrypt", {"url": "letsencrypt-staging", "caFile": "/nonexistent/ca.pem"}]"#,
                      field: "directory[1].caFile", value: #""/nonexistent/ca.pem""#, mentions: "does not exist")
        assertProblem(#""directory": ["letsencrypt", {"url": "letsencrypt-staging", "cafile": "/x"}]"#,
                      field: "directory[1].cafile", value: nil, mentions: "is not a known field")
        assertProblem(#""directory": ["letsencrypt", {"caFile": "\#(caFile!)"}]"#, field: "directory[1].url", value: nil, mentions: "is required")
        assertProblem(#""directory": ["letsencrypt", {"url": "ftp://x"}]"#, field: "directory[1].url", value: #""ftp://x""#, mentions: "https:// URL")
        assertProblem(#""directory": ["letsencrypt", {"url": "letsencrypt-staging", "eab": {"kid": "k"}}]"#,
                      field: "directory[1].eab.hmacKeySecret", value: nil, mentions: "is required")
        assertProblem(#""directory": ["letsencrypt", "https://acme-v02.api.letsencrypt.org/directory"]"#, field: "directory[1]",
                      value: #""https://acme-v02.api.letsencrypt.org/directory""#, mentions: "same CA as directory[0]")
        assertProblem(#""directory": [{"url": "letsencrypt", "caFile": "\#(caFile!)"}], "caFile": "\#(caFile!)""#, field: "caFile",
                      value: "\"\(caFile!)\"", mentions: "directory[0].caFile")
        assertProblem(#""directory": ["letsencrypt", "letsencrypt-staging"], "fallbackAfterFailures": 0"#, field: "fallbackAfterFailures",
                      value: "0", mentions: "whole number from 1 to 100")
        assertProblem(#""directory": ["letsencrypt", "letsencrypt-staging"], "fallbackAfterFailures": "3""#, field: "fallbackAfterFailures",
                      value: #""3""#, mentions: "whole number")
        assertProblem(#""directory": "letsencrypt", "fallbackAfterFailures": 2"#, field: "fallbackAfterFailures", value: "2",
                      mentions: "nothing to fall back to")
        assertProblem(#""directory": {"url": "letsencrypt", "eab": {"kid": "a", "hmacKeySecret": "b"}}, "eab": {"kid": "c", "hmacKeySecret": "d"}"#,
                      field: "eab", value: nil, mentions: "directory.eab")
        assertProblem(#""directory": true"#, field: "directory", value: "true", mentions: "or a list of these")
    }
}
