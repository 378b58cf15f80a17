import CertAgent
import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A store directory holding the four files of one certificate, with distinct recognisable contents.
struct StoreFixture {
    let files: CertificateFiles

    init(in temp: TemporaryDirectory, name: String = "store/current") throws {
        files = CertificateFiles(directory: try temp.make(name))
        try write(privateKey: "KEY-1", certificate: "CERT-1", chain: "CHAIN-1")
    }

    func write(privateKey: String, certificate: String, chain: String) throws {
        try Data("-----BEGIN PRIVATE KEY-----\n\(privateKey)\n-----END PRIVATE KEY-----\n".utf8).write(to: URL(fileURLWithPath: files.privateKey))
        try Data(pem(certificate).utf8).write(to: URL(fileURLWithPath: files.certificate))
        try Data(pem(chain).utf8).write(to: URL(fileURLWithPath: files.chain))
        try Data((pem(certificate) + pem(chain)).utf8).write(to: URL(fileURLWithPath: files.fullChain))
    }

    private func pem(_ body: String) -> String { "-----BEGIN CERTIFICATE-----\n\(body)\n-----END CERTIFICATE-----\n" }
}

struct FileStatusError: Error, CustomStringConvertible {
    let description: String
}

/// `lstat` of a path; throws when it does not exist.
func fileStatus(_ path: String) throws -> stat {
    var info = stat()
    guard lstat(path, &info) == 0 else { throw FileStatusError(description: "stat \(path): \(String(cString: strerror(errno)))") }
    return info
}

/// The whole content of a file as text.
func contents(_ path: String) throws -> String {
    String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
}
