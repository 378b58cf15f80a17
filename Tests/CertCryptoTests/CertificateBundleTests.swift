import CertCrypto
import XCTest

/// `Certificate.parseBundle`: a trust bundle (a config's `caFile`) holds only certificates that parse, and at least one.
final class CertificateBundleTests: XCTestCase {
    private func selfSigned(_ name: String) throws -> String {
        try OpenSSLCLI.succeed(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-noenc",
                                "-keyout", "/dev/null", "-subj", "/CN=\(name)", "-days", "30"]).stdout
    }

    func testEveryCertificateOfABundleIsParsedInOrderWithTextBetween() throws {
        let first = try selfSigned("Bundle Root A"), second = try selfSigned("Bundle Root B")
        let bundle = try Certificate.parseBundle(pem: "# Root A\n" + first + "\nsome notes\n" + second)
        XCTAssertEqual(bundle.map(\.subject), ["CN=Bundle Root A", "CN=Bundle Root B"])
    }

    func testProblemsAreNamedInWords() throws {
        let good = try selfSigned("Bundle Root")
        XCTAssertThrowsError(try Certificate.parseBundle(pem: "")) { XCTAssertEqual($0 as? CertificateBundleProblem, .noCertificate) }
        XCTAssertThrowsError(try Certificate.parseBundle(pem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")) {
            XCTAssertEqual($0 as? CertificateBundleProblem, .noCertificate, "a key is not a certificate")
        }
        XCTAssertThrowsError(try Certificate.parseBundle(pem: good + "-----BEGIN CERTIFICATE-----\nAAECAwQF\n-----END CERTIFICATE-----\n")) {
            XCTAssertEqual($0 as? CertificateBundleProblem, .unparsableCertificate(index: 2))
            XCTAssertEqual("\($0)", "holds a certificate that cannot be parsed (PEM block 2)", "no OpenSSL error text")
        }
        XCTAssertThrowsError(try Certificate.parseBundle(pem: "-----BEGIN CERTIFICATE-----\nAAEC\n")) {
            XCTAssertEqual($0 as? CertificateBundleProblem, .malformedPEM)
        }
    }
}
