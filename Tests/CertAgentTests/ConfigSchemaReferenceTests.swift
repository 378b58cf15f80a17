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

    /// The members each object of the config may have, as the loader lists them when it meets an unknown one, are the
    /// schema's `properties` of that object: a field added to the loader without the schema (or the other way round)
    /// fails here.
    func testEveryObjectOfTheSchemaHasTheMembersTheLoaderKnows() throws {
        let temp = try TemporaryDirectory()
        let webroot = try temp.make("www")
        let hook = #"{"url": "https://hooks.example/x", "zzz": 1}"#
        let text = #"""
            {"zzz": 1, "storage": "\#(temp.path)/store", "eab": {"kid": "k", "hmacKeySecret": "s", "zzz": 1},
             "directory": [{"url": "https://a.example/d", "zzz": 1}],
             "cluster": {"node": "n1", "endpoints": ["http://127.0.0.1:2379"], "zzz": 1},
             "notify": {"zzz": 1, "webhook": \#(hook), "email": {"server": "s.example", "from": "a@example.com", "to": "b@example.com", "zzz": 1}},
             "certificates": [{"domains": ["example.com"], "webroot": "\#(webroot)", "zzz": 1, "install": {"reload": ["/bin/true"], "zzz": 1}}]}
            """#
        var known: [String: Set<String>] = [:]   // field path of the object → the members the loader knows there
        do {
            _ = try ConfigLoader.parse(Data(text.utf8), path: temp.path + "/config.json")
            XCTFail("an unknown field was accepted")
        } catch let error as ConfigError {
            for problem in error.problems where problem.field.hasSuffix("zzz") {
                let object = String(problem.field.dropLast(3)).trimmingCharacters(in: CharacterSet(charactersIn: "."))
                guard let list = problem.message.firstMatch(of: /known here: (.*)\)$/)?.output.1 else { return XCTFail("\(problem)") }
                known[object] = Set(list.split(separator: ", ").map(String.init))
            }
        }
        let schema = ConfigSchema.document
        func properties(_ node: OrderedJSON?) -> Set<String> {
            guard case .object(let members)? = node?["properties"] else { return [] }
            return Set(members.map(\.key))
        }
        let definitions = schema["$defs"]
        var caObject: OrderedJSON?
        if case .array(let branches)? = definitions?["caDirectory"]?["anyOf"] { caObject = branches.last }
        let expected: [String: Set<String>] = [
            "": properties(schema),
            "eab": properties(definitions?["externalAccountBinding"]),
            "directory[0]": properties(caObject),
            "notify": properties(definitions?["notifyBlock"]),
            "notify.webhook": properties(definitions?["webhookChannel"]),
            "notify.email": properties(definitions?["emailChannel"]),
            "certificates[0]": properties(definitions?["certificate"]),
            "certificates[0].install": properties(definitions?["install"]),
            "cluster": properties(definitions?["cluster"]),
        ]
        XCTAssertEqual(Set(known.keys), Set(expected.keys), "every object was reached")
        for (object, members) in expected.sorted(by: { $0.key < $1.key }) {
            XCTAssertFalse(members.isEmpty, "the schema describes \(object.isEmpty ? "the top level" : object)")
            XCTAssertEqual(known[object], members, "the members of \(object.isEmpty ? "the top level" : object): the loader's and the schema's")
        }
    }

    func testTheSchemaNamesItsDialectAndWhereThePackageInstallsIt() {
        XCTAssertEqual(ConfigSchema.document["$schema"], .string("https://json-schema.org/draft/2020-12/schema"))
        XCTAssertEqual(ConfigSchema.installedPath, "/usr/share/certagent/config.schema.json")
        XCTAssertEqual(ConfigSchema.document["$id"], .string("file:///usr/share/certagent/config.schema.json"))
    }
}
