import XCTest
final class CertAgentTestsPlaceholder: XCTestCase { func testNothing() {} }
