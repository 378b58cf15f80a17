import CurlHTTP
import Foundation
import XCTest

/// TLS client authentication: `clientCertificateFile` and `clientKeyFile` are presented to a server that asks.
final class CurlHTTPClientCertificateTests: XCTestCase {
    func testClientCertificateIsPresentedAndRequired() throws {
        let pki = try TestPKI.shared.get()
        let server = try TestServer.httpsRequiringClientCertificate()
        defer { server.stop() }
        let url = "https://127.0.0.1:\(server.ports[0])/peer"

        let withCertificate = try CurlHTTPClient(configuration: CurlHTTPConfiguration(
            caFile: pki.caFile, clientCertificateFile: pki.clientCert, clientKeyFile: pki.clientKey, totalTimeout: 10))
        let answer = try withCertificate.perform(method: "GET", url: url)
        XCTAssertEqual(answer.status, 200)
        XCTAssertEqual(String(decoding: answer.body, as: UTF8.self), "curlhttp-client")

        let without = try CurlHTTPClient(configuration: CurlHTTPConfiguration(caFile: pki.caFile, totalTimeout: 10))
        XCTAssertThrowsError(try without.perform(method: "GET", url: url)) { error in
            guard let error = error as? CurlHTTPError else { return XCTFail("\(error)") }
            XCTAssertTrue([.tlsHandshakeFailed, .noAnswer].contains(error.failureKind), "\(error)")
        }
        // A key that does not belong to the certificate is refused before anything is sent.
        let mismatched = try CurlHTTPClient(configuration: CurlHTTPConfiguration(
            caFile: pki.caFile, clientCertificateFile: pki.clientCert, clientKeyFile: pki.serverKey, totalTimeout: 10))
        XCTAssertThrowsError(try mismatched.perform(method: "GET", url: url))
    }
}
