import CertAgent
import Foundation
import TestSupport
import XCTest

/// A config may name its JSON Schema with a top-level `$schema` string (for editors); the loader ignores its value but
/// takes nothing else there.
final class ConfigSchemaReferenceTests: XCTestCase {
    private func problems(_ schemaMember: String) throws -> [ConfigProblem] {
        let temp = try TemporaryDirectory()
        let webroot = try temp.make("www")
        let text = #"{"$schema": \#(schemaMember), "storage": "\#(temp.path)/store", "certificates": [{"domains": ["example.com"], "webroot": "\#(webroot)"}]}"#
        do {
            _ = try ConfigLoader.parse(Data(text.utf8), path: temp.path + "/config.json")
            return []
        } catch let error as ConfigError {
            return error.problems
        }
    }

    func testASchemaURIIsAccepted() throws {
        XCTAssertEqual(try problems("\"\(ConfigSchema.installedURI)\""), [])
        XCTAssertEqual(try problems(#""./config.schema.json""#), [], "a relative reference, as editors resolve it, is the editor's business")
    }

    func testAnythingButOneLineOfTextIsRefusedByName() throws {
        for (member, kind) in [("1", "a number"), ("null", "null"), ("{}", "an object"), (#"["a"]"#, "an array"), ("true", "a boolean")] {
            let found = try problems(member)
            XCTAssertEqual(found.map(\.field), ["$schema"], member)
            XCTAssertTrue(found.first?.message.contains("must be a string") == true, "\(member): \(found)")
            XCTAssertTrue(found.first?.message.hasSuffix("not \(kind)") == true, "\(member): \(found)")
        }
        let control = try problems(#""file:///x\ny""#)
        XCTAssertEqual(control.map(\.field), ["$schema"])
        XCTAssertTrue(control.first?.message.contains("control character") == true, "\(control)")
    }

    func testTheSchemaNamesItsDialectAndWhereThePackageInstallsIt() {
        XCTAssertEqual(ConfigSchema.document["$schema"], .string("https://json-schema.org/draft/2020-12/schema"))
        XCTAssertEqual(ConfigSchema.installedPath, "/usr/share/certagent/config.schema.json")
        XCTAssertEqual(ConfigSchema.document["$id"], .string("file:///usr/share/certagent/config.schema.json"))
    }
}
