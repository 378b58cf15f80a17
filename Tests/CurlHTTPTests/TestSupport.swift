import Foundation
import XCTest

/// A throwaway CA and a server certificate for 127.0.0.1 and localhost, made once per test run with the openssl CLI.
struct TestPKI: Sendable {
    let directory: String
    let caFile: String
    let serverCert: String
    let serverKey: String
    let otherCAFile: String   // an unrelated CA that did not issue the server certificate
    let clientCert: String    // a TLS client certificate (CN "curlhttp-client") from the CA, and its key
    let clientKey: String
    let script: String

    static let shared: Result<TestPKI, TestSetupError> = Result { try TestPKI.make() }.mapError {
        $0 as? TestSetupError ?? TestSetupError(message: "\($0)")
    }

    private static func make() throws -> TestPKI {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("curlhttp-tests-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let d = dir.path
        try """
        subjectAltName=IP:127.0.0.1,DNS:localhost
        basicConstraints=critical,CA:FALSE
        keyUsage=critical,digitalSignature
        extendedKeyUsage=serverAuth

        """.write(toFile: "\(d)/ext.cnf", atomically: true, encoding: .utf8)
        for name in ["ca", "other-ca"] {
            try run("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                         "-keyout", "\(d)/\(name).key", "-out", "\(d)/\(name).pem", "-days", "2",
                                         "-subj", "/CN=CertAgent \(name) test", "-addext", "basicConstraints=critical,CA:TRUE",
                                         "-addext", "keyUsage=critical,keyCertSign"])
        }
        try run("/usr/bin/openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                     "-keyout", "\(d)/server.key", "-out", "\(d)/server.csr", "-subj", "/CN=localhost"])
        try run("/usr/bin/openssl", ["x509", "-req", "-in", "\(d)/server.csr", "-CA", "\(d)/ca.pem", "-CAkey", "\(d)/ca.key",
                                     "-set_serial", "2", "-days", "2", "-out", "\(d)/server.pem", "-extfile", "\(d)/ext.cnf"])
        try "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n"
            .write(toFile: "\(d)/client-ext.cnf", atomically: true, encoding: .utf8)
        try run("/usr/bin/openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                     "-keyout", "\(d)/client.key", "-out", "\(d)/client.csr", "-subj", "/CN=curlhttp-client"])
        try run("/usr/bin/openssl", ["x509", "-req", "-in", "\(d)/client.csr", "-CA", "\(d)/ca.pem", "-CAkey", "\(d)/ca.key",
                                     "-set_serial", "3", "-days", "2", "-out", "\(d)/client.pem", "-extfile", "\(d)/client-ext.cnf"])
        try testServerScript.write(toFile: "\(d)/server.py", atomically: true, encoding: .utf8)
        // Removed when the test process exits: every test class of the target may use it, in any order.
        atexit {
            if case .success(let pki) = TestPKI.shared { try? FileManager.default.removeItem(atPath: pki.directory) }
        }
        return TestPKI(directory: d, caFile: "\(d)/ca.pem", serverCert: "\(d)/server.pem", serverKey: "\(d)/server.key",
                       otherCAFile: "\(d)/other-ca.pem", clientCert: "\(d)/client.pem", clientKey: "\(d)/client.key",
                       script: "\(d)/server.py")
    }

    private static func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestSetupError(message: "\(tool) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
        }
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// A python3 helper started by PID; `stop()` signals only that PID.
final class TestServer {
    let process: Process
    let ports: [Int]

    init(arguments: [String]) throws {
        let pki = try TestPKI.shared.get()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [pki.script] + arguments
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        // The first line holds the port(s).
        var line: [UInt8] = []
        let reader = stdout.fileHandleForReading
        while !line.contains(0x0A) {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            line.append(contentsOf: chunk)
        }
        let ports = String(decoding: line, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int($0) }
        guard !ports.isEmpty else {
            process.terminate()
            process.waitUntilExit()
            throw TestSetupError(message: "test server did not report its port")
        }
        self.ports = ports
    }

    /// The HTTPS server and a plain HTTP server sharing one handler and counters.
    static func https() throws -> TestServer {
        let pki = try TestPKI.shared.get()
        return try TestServer(arguments: ["serve", pki.serverCert, pki.serverKey])
    }

    /// As `https()`, but the HTTPS server requires a client certificate from the test CA.
    static func httpsRequiringClientCertificate() throws -> TestServer {
        let pki = try TestPKI.shared.get()
        return try TestServer(arguments: ["serve", pki.serverCert, pki.serverKey, pki.caFile])
    }

    /// A listener that never completes new TCP handshakes.
    static func blackhole() throws -> TestServer {
        try TestServer(arguments: ["blackhole"])
    }

    /// A listener that accepts every connection and never sends a byte.
    static func silent() throws -> TestServer {
        try TestServer(arguments: ["silent"])
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
        }
        process.waitUntilExit()
    }
}
