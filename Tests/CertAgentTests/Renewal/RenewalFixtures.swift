@testable import CertAgent
import CertCrypto
import Foundation
import TestSupport
import XCTest

/// Shared values for the renewal tests.
enum RenewalFixtures {
    static let day: TimeInterval = 86_400
    static let hour: TimeInterval = 3_600
    /// 2026-01-01T00:00:00Z, the ManualClock's default start.
    static let start = Date(timeIntervalSince1970: 1_767_225_600)

    /// A certificate valid for `lifetime` from `notBefore`.
    static func served(lifetime: TimeInterval, notBefore: Date = start, serial: String = "01",
                       ariCertificateID: String? = "aki.serial01") -> ServedCertificate {
        ServedCertificate(serial: serial, notBefore: notBefore, notAfter: notBefore.addingTimeInterval(lifetime),
                          ariCertificateID: ariCertificateID)
    }

    /// A real self-signed leaf (openssl), for the states that carry one.
    static func selfSignedLeaf() throws -> Certificate {
        let result = try Subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                                         "-nodes", "-keyout", "/dev/null", "-subj", "/CN=renewal.test", "-days", "90"])
        guard result.status == 0 else { throw FixtureError(description: result.output) }
        return try Certificate(pem: result.stdout)
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
}
