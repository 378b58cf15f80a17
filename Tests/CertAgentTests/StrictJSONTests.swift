import ACME
import CertAgent
import XCTest

/// The config's JSON parser: RFC 8259 exactly, every error with its line and column.
final class StrictJSONTests: XCTestCase {
    private func parse(_ text: String) throws -> JSONValue {
        try StrictJSONParser.parse(Array(text.utf8))
    }

    private func failure(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> StrictJSONError? {
        failure(bytes: Array(text.utf8), file: file, line: line)
    }

    private func failure(bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> StrictJSONError? {
        do {
            let value = try StrictJSONParser.parse(bytes)
            XCTFail("accepted \(value)", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    func testValidDocumentsParseWithTheirValues() throws {
        let value = try parse(#"""
        {"a": [1, -0.5, 2e3, 1E-2, 0], "b": {"c": null, "d": true, "e": false},
         "s": "tab\t q\" back\\ slash\/ \u00e9 \ud83d\ude00 ü"}
        """#)
        guard case .object(let members) = value else { return XCTFail("not an object: \(value)") }
        XCTAssertEqual(members["a"], .array([.number(1), .number(-0.5), .number(2000), .number(0.01), .number(0)]))
        XCTAssertEqual(members["b"], .object(["c": .null, "d": .bool(true), "e": .bool(false)]))
        XCTAssertEqual(members["s"], .string("tab\t q\" back\\ slash/ é 😀 ü"))
        XCTAssertEqual(try parse(" \r\n\t[] "), .array([]))
        XCTAssertEqual(try parse("\"top-level string\""), .string("top-level string"))
        XCTAssertEqual(try StrictJSONParser.parse([0xEF, 0xBB, 0xBF] + Array("{}".utf8)), .object([:]), "a byte order mark is ignored (RFC 8259 §8.1)")
    }

    func testTrailingCommasCommentsAndNonJSONValuesAreErrorsWithLineAndColumn() {
        var error = failure("{\n  \"a\": 1,\n}")
        XCTAssertEqual(error?.line, 3)
        XCTAssertEqual(error?.column, 1)
        XCTAssertEqual(error?.message, "expected a key in double quotes, found '}' (a comma is not allowed before '}')")

        error = failure("[1, 2,]")
        XCTAssertEqual(error.map { [$0.line, $0.column] }, [1, 7])
        XCTAssertTrue(error?.message.contains("found ']'") == true, "\(String(describing: error))")

        error = failure("{\"a\": 1 // note\n}")
        XCTAssertEqual(error.map { [$0.line, $0.column] }, [1, 9])
        XCTAssertTrue(error?.message.contains("JSON has no comments") == true, "\(String(describing: error))")

        error = failure("/* header */ {}")
        XCTAssertTrue(error?.message.contains("JSON has no comments") == true, "\(String(describing: error))")

        error = failure("{\"n\": NaN}")
        XCTAssertEqual(error.map { [$0.line, $0.column] }, [1, 7])
        XCTAssertTrue(error?.message.contains("found \"NaN\"") == true && error?.message.contains("NaN and Infinity") == true, "\(String(describing: error))")
        XCTAssertTrue(failure("[-Infinity]")?.message.contains("expected a digit after '-'") == true)
        XCTAssertTrue(failure("{'a': 1}")?.message.contains("double quotes") == true)
        XCTAssertTrue(failure("{a: 1}")?.message.contains("found 'a'") == true)
        XCTAssertTrue(failure("[True]")?.message.contains("found \"True\"") == true)
        XCTAssertTrue(failure("[nulls]")?.message.contains("found \"nulls\"") == true)
        XCTAssertTrue(failure("[1 2]")?.message.contains("expected ',' or ']', found '2'") == true)
        XCTAssertTrue(failure("{\"a\" 1}")?.message.contains("expected ':' after the key") == true)
        XCTAssertTrue(failure("{} {}")?.message.contains("expected the end of the file after the value, found '{'") == true)
        XCTAssertTrue(failure("{\"a\": 1")?.message.contains("found the end of the file") == true)
        XCTAssertTrue(failure("")?.message.contains("expected a value") == true)
    }

    func testNumbersFollowTheGrammarAndStayFinite() {
        for bad in ["[01]", "[+1]", "[.5]", "[1.]", "[1e]", "[-]", "[0x10]", "[1e999]", "[-1e400]"] {
            XCTAssertNotNil(failure(bad), bad)
        }
        XCTAssertTrue(failure("[007]")?.message.contains("leading zeros") == true)
        XCTAssertTrue(failure("[1e999]")?.message.contains("too large") == true)
        XCTAssertEqual(try parse("[1e308, -0, 123456789012]"), .array([.number(1e308), .number(-0.0), .number(123_456_789_012)]))
    }

    func testADuplicateKeyNamesTheKeyAndBothLines() {
        let error = failure("{\n  \"storage\": \"/a\",\n  \"email\": \"x@y.z\",\n  \"storage\": \"/b\"\n}")
        XCTAssertEqual(error?.line, 4)
        XCTAssertEqual(error?.column, 3)
        XCTAssertEqual(error?.message, "the key \"storage\" is given twice in one object, on line 2 and on line 4: keep one")
        XCTAssertNotNil(failure(#"{"a": {"k": 1, "k": 2}}"#), "nested objects are checked too")
        XCTAssertNoThrow(try parse(#"[{"k": 1}, {"k": 2}]"#), "the same key in two objects is fine")
        XCTAssertNotNil(failure(#"{"é": 1, "\u00e9": 2}"#), "an escaped key is the same key")
    }

    func testStringsRefuseRawControlCharactersAndBadEscapesAndLoneSurrogates() {
        var error = failure("{\"a\": \"line\nbreak\"}")
        XCTAssertEqual(error.map { [$0.line, $0.column] }, [1, 12])
        XCTAssertEqual(error?.message, "U+000A (line feed) inside a string must be written as an escape such as \\n or \\u000A")
        error = failure("[\"bell\u{07}\"]")
        XCTAssertTrue(error?.message.hasPrefix("U+0007 inside a string") == true, "\(String(describing: error))")
        XCTAssertTrue(failure(#"["\x41"]"#)?.message.contains("after '\\'") == true)
        XCTAssertTrue(failure(#"["\u12"]"#)?.message.contains("four hexadecimal digits") == true)
        XCTAssertTrue(failure(#"["\ud800"]"#)?.message.contains("first half of a UTF-16 surrogate pair") == true)
        XCTAssertTrue(failure(#"["\udc00"]"#)?.message.contains("second half") == true)
        XCTAssertTrue(failure(#"["\ud800\u0041"]"#)?.message.contains("not a second half") == true)
        XCTAssertTrue(failure("[\"unterminated")?.message.contains("to close the string") == true)
    }

    func testFoundCharactersAreShownEscapedNeverRaw() {
        let error = failure(bytes: Array("{\"a\": ".utf8) + [0x1B] + Array("[31m}".utf8))
        XCTAssertEqual(error.map { [$0.line, $0.column] }, [1, 7])
        XCTAssertTrue(error?.message.contains("found U+001B (escape)") == true, "\(String(describing: error))")
        XCTAssertFalse(error?.description.unicodeScalars.contains { $0.value < 0x20 } ?? true, "no control character in the message")
        XCTAssertTrue(failure("{\"a\": \u{00A0}1}")?.message.contains("U+00A0 (no-break space)") == true)
        XCTAssertTrue(failure("{\"a\":\t\u{200B}1}")?.message.contains("U+200B") == true)
    }

    func testColumnsCountCharactersNotBytes() {
        // "ü" is two bytes in UTF-8 but one column in an editor.
        let error = failure("{\"ü\": x}")
        XCTAssertEqual(error.map { [$0.line, $0.column] }, [1, 7])
    }

    func testInvalidUTF8IsNamedWithItsPosition() {
        let error = failure(bytes: Array("{\n \"a\": \"".utf8) + [0xC3, 0x28] + Array("\"}".utf8))
        XCTAssertEqual(error?.line, 2)
        XCTAssertEqual(error?.column, 8)
        XCTAssertTrue(error?.message.contains("is not UTF-8 text: the byte 0xC3") == true, "\(String(describing: error))")
        XCTAssertNotNil(failure(bytes: [0x5B, 0xFF, 0x5D]))
    }

    func testNestingIsBounded() throws {
        XCTAssertNoThrow(try parse(String(repeating: "[", count: 64) + String(repeating: "]", count: 64)))
        let error = failure(String(repeating: "[", count: 65) + String(repeating: "]", count: 65))
        XCTAssertEqual(error?.column, 65)
        XCTAssertEqual(error?.message, "arrays and objects are nested more than 64 deep")
        // Far deeper input is refused the same way, without exhausting the stack.
        XCTAssertNotNil(failure(String(repeating: "{\"a\":", count: 100_000)))
    }

    func testErrorDescriptionNamesLineAndColumn() {
        XCTAssertEqual(failure("{\n\n   ,")?.description, "line 3, column 4: expected a key in double quotes, found ',' (two commas in a row, or a comma with nothing before it)")
    }
}
