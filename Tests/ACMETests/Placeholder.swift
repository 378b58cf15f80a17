import XCTest
final class ACMETestsPlaceholder: XCTestCase { func testNothing() {} }
