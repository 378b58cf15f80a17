import ByteEncoding
@testable import Etcd
import XCTest

/// Pure parts of the client: key ranges, base64, the checks on answers.
final class EtcdKeyRangeTests: XCTestCase {
    func testPrefixIncrementsTheLastByte() {
        XCTAssertEqual(EtcdKeyRange.prefix("a/").rangeEnd, Array("a0".utf8))
        XCTAssertEqual(EtcdKeyRange.prefix([0x61, 0xFF]).rangeEnd, [0x62])
        XCTAssertEqual(EtcdKeyRange.prefix([0xFF, 0xFF]), EtcdKeyRange(key: [0xFF, 0xFF], rangeEnd: [0]))
        XCTAssertEqual(EtcdKeyRange.prefix([UInt8]()), EtcdKeyRange(key: [0], rangeEnd: [0]))
        XCTAssertEqual(EtcdKeyRange.key("k").rangeEnd, [])
    }
}
