import ByteEncoding
@testable import Etcd
import XCTest

/// Pure parts of the client: key ranges, standard base64, the configuration's checks, the checks on answers.
final class EtcdEncodingAndCheckTests: XCTestCase {
    func testPrefixIncrementsTheLastByte() {
        XCTAssertEqual(EtcdKeyRange.prefix("a/").rangeEnd, Array("a0".utf8))
        XCTAssertEqual(EtcdKeyRange.prefix([0x61, 0xFF]).rangeEnd, [0x62])
        XCTAssertEqual(EtcdKeyRange.prefix([0xFF, 0xFF]), EtcdKeyRange(key: [0xFF, 0xFF], rangeEnd: [0]))
        XCTAssertEqual(EtcdKeyRange.prefix([UInt8]()), EtcdKeyRange(key: [0], rangeEnd: [0]))
        XCTAssertEqual(EtcdKeyRange.key("k").rangeEnd, [])
    }

    func testStandardBase64RoundTripsAndIsStrict() {
        // RFC 4648 §10 test vectors.
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            XCTAssertEqual(Base64.encode(Array(plain.utf8)), encoded)
            XCTAssertEqual(Base64.decode(encoded), Array(plain.utf8))
        }
        XCTAssertEqual(Base64.encode([0xFB, 0xFF]), "+/8=")
        XCTAssertEqual(Base64.decode("+/8="), [0xFB, 0xFF])
        for bad in ["Zg", "Zg=", "Z===", "-_8=", "Zm 9v", "Zm9v\n", "Z=g=", "===="] {
            XCTAssertNil(Base64.decode(bad), bad)
        }
        // base64url is unchanged by the shared codec.
        XCTAssertEqual(Base64URL.encode([0xFB, 0xFF]), "-_8")
        XCTAssertEqual(Base64URL.decode("-_8"), [0xFB, 0xFF])
        XCTAssertNil(Base64URL.decode("+/8="))
    }

    func testConfigurationIsChecked() {
        func refused(_ configuration: EtcdConfiguration, field: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try EtcdClient(configuration: configuration), file: file, line: line) { error in
                guard case .invalidConfiguration(let reported, _, _)? = error as? EtcdError else {
                    return XCTFail("expected invalidConfiguration, got \(error)", file: file, line: line)
                }
                XCTAssertEqual(reported, field, file: file, line: line)
            }
        }
        refused(EtcdConfiguration(endpoints: []), field: "endpoints")
        refused(EtcdConfiguration(endpoints: ["127.0.0.1:2379"]), field: "endpoints")
        refused(EtcdConfiguration(endpoints: ["ftp://127.0.0.1:2379"]), field: "endpoints")
        refused(EtcdConfiguration(endpoints: ["http://127.0.0.1:2379/v3"]), field: "endpoints")
        refused(EtcdConfiguration(endpoints: ["http://user@127.0.0.1:2379"]), field: "endpoints")
        refused(EtcdConfiguration(endpoints: ["http://127.0.0.1:2379"], username: "u"), field: "password")
        refused(EtcdConfiguration(endpoints: ["http://127.0.0.1:2379"], clientCertificateFile: "c.pem"), field: "clientKeyFile")
        refused(EtcdConfiguration(endpoints: ["http://127.0.0.1:2379"], requestTimeout: 0), field: "requestTimeout")
        XCTAssertEqual(try EtcdClient(configuration: EtcdConfiguration(endpoints: ["http://127.0.0.1:2379/"])).endpoints,
                       ["http://127.0.0.1:2379"])
    }

    /// Answers are untrusted: each malformed one is refused with a description naming the member and the fault.
    func testMalformedAnswersAreRefused() throws {
        let reader = WireReader(endpoint: "http://127.0.0.1:1")
        func refusedRange(_ json: String, mentioning words: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try reader.range(reader.decode(RangeResponseBody.self, from: Array(json.utf8), what: "the range answer")),
                                 file: file, line: line) { error in
                guard case .invalidResponse(let endpoint, let detail)? = error as? EtcdError else {
                    return XCTFail("expected invalidResponse, got \(error)", file: file, line: line)
                }
                XCTAssertEqual(endpoint, "http://127.0.0.1:1", file: file, line: line)
                XCTAssertTrue(detail.contains(words), "\(detail.debugDescription) mentions \(words.debugDescription)", file: file, line: line)
            }
        }
        let header = #""header":{"revision":"3"}"#
        refusedRange("not json", mentioning: "not the JSON etcd sends")
        refusedRange("[1,2]", mentioning: "not the JSON etcd sends")
        refusedRange(#"{"kvs":[]}"#, mentioning: "no header")
        refusedRange(#"{\#(header),"kvs":[{"key":"a2V5","value":"not base64!"}]}"#, mentioning: "kvs[0].value is not standard base64")
        refusedRange(#"{\#(header),"kvs":[{"key":"a2V5","mod_revision":"-4"}]}"#, mentioning: "kvs[0].mod_revision is negative")
        refusedRange(#"{\#(header),"kvs":[{"value":"dg=="}]}"#, mentioning: "kvs[0].key is missing")
        refusedRange(#"{"header":{"revision":"12x"}}"#, mentioning: "not the JSON etcd sends")
        refusedRange(#"{"header":{"revision":"99999999999999999999"}}"#, mentioning: "not the JSON etcd sends")
        refusedRange(#"{\#(header),"kvs":{"key":"a2V5"}}"#, mentioning: "wrong type")

        let good = try reader.range(reader.decode(RangeResponseBody.self, from: Array(
            #"{"header":{"cluster_id":"18446744073709551615","revision":"7"},"kvs":[{"key":"a2V5","value":"dmFs","create_revision":"2","mod_revision":"7","version":"3","lease":"42"}],"count":"1"}"#.utf8), what: "x"))
        XCTAssertEqual(good.header.revision, 7)
        XCTAssertEqual(good.header.clusterID, UInt64.max)
        XCTAssertEqual(good.kvs, [EtcdKeyValue(key: Array("key".utf8), value: Array("val".utf8), createRevision: 2, modRevision: 7, version: 3, lease: 42)])
        XCTAssertEqual(good.count, 1)
        XCTAssertFalse(good.more)

        // A transaction's answers must match the operations of the branch that ran.
        let txn = try reader.decode(TxnResponseBody.self, from: Array(#"{\#(header),"succeeded":true,"responses":[{"response_put":{}}]}"#.utf8), what: "x")
        XCTAssertThrowsError(try reader.txn(txn, expected: [.range(.key("k"))]))
        XCTAssertThrowsError(try reader.txn(txn, expected: []))
        XCTAssertEqual(try reader.txn(txn, expected: [.put(key: [1], value: [2])]).responses.count, 1)

        // Events: an unknown type, or a missing revision.
        XCTAssertThrowsError(try reader.event(EventBody(type: "EXPLODE", kv: nil, prev_kv: nil), index: 0))
        let noRevision = try reader.decode(EventBody.self, from: Array(#"{"kv":{"key":"a2V5"}}"#.utf8), what: "x")
        XCTAssertThrowsError(try reader.event(noRevision, index: 0))
    }

    /// etcd's messages are untrusted text too: control characters are replaced and the length is capped.
    func testEtcdMessagesAreCleaned() {
        XCTAssertEqual(cleanedMessage("bad\u{1B}[31m\nline"), "bad?[31m?line")
        XCTAssertEqual(cleanedMessage(String(repeating: "x", count: 1000)).count, 300)
    }
}
