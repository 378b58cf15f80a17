import XCTest
final class CurlHTTPTestsPlaceholder: XCTestCase { func testNothing() {} }
