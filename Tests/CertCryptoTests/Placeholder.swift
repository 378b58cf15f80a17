import XCTest
final class CertCryptoTestsPlaceholder: XCTestCase { func testNothing() {} }
