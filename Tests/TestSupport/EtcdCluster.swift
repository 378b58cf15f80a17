import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real etcd cluster for tests (Debian's `etcd-server` 3.4, `etcdctl` from `etcd-client`): one or three members on
/// free 127.0.0.1 ports, each its own process with its own data directory, started by the test and stopped by PID —
/// one member at a time if the test wants (to see failover, or the loss of quorum). With `tls` every member serves
/// HTTPS with a certificate from a CA made for the test, talks TLS to its peers, and requires a client certificate
/// (`--client-cert-auth`) signed by that CA; `clientCertificate`/`clientKey` is one, `foreignClientCertificate` /
/// `foreignClientKey` one from an unrelated CA. Everything is removed when the value goes away.
public final class EtcdCluster {
    public struct Member {
        public let name: String
        public let clientURL: String
        public let peerURL: String
        public let dataDirectory: String
        public let logPath: String
    }

    public let directory: TemporaryDirectory
    public let tls: Bool
    public let members: [Member]
    /// The CA of the members' certificates (TLS only).
    public let caFile: String?
    /// A client certificate and key the members accept (TLS only).
    public let clientCertificate: String?
    public let clientKey: String?
    /// A client certificate and key from another CA, which the members refuse (TLS only).
    public let foreignClientCertificate: String?
    public let foreignClientKey: String?
    private var processes: [BackgroundProcess?]
    private let extraArguments: [String]

    /// The members' client URLs, in order.
    public var clientURLs: [String] { members.map(\.clientURL) }

    /// Starts `memberCount` members (1 or 3 make sense) and waits until every one of them serves requests.
    /// - Parameter extraArguments: added to every member's command line (e.g. `--auth-token-ttl`).
    public init(members memberCount: Int = 3, tls: Bool = true, extraArguments: [String] = [], startTimeout: TimeInterval = 30) throws {
        let directory = try TemporaryDirectory()
        self.directory = directory
        self.tls = tls
        self.extraArguments = extraArguments
        var ports = Set<Int>()
        while ports.count < memberCount * 2 { ports.insert(try unusedLoopbackPort()) }
        let portList = Array(ports)
        let scheme = tls ? "https" : "http"
        members = (0..<memberCount).map { index in
            let name = "m\(index + 1)"
            return Member(name: name, clientURL: "\(scheme)://127.0.0.1:\(portList[index * 2])",
                          peerURL: "\(scheme)://127.0.0.1:\(portList[index * 2 + 1])",
                          dataDirectory: directory.path("\(name).etcd"), logPath: directory.path("\(name).log"))
        }
        if tls {
            let pki = try directory.make("pki")
            try Self.makePKI(in: pki, memberNames: members.map(\.name))
            caFile = "\(pki)/ca.pem"
            clientCertificate = "\(pki)/client.pem"
            clientKey = "\(pki)/client.key"
            foreignClientCertificate = "\(pki)/foreign-client.pem"
            foreignClientKey = "\(pki)/foreign-client.key"
        } else {
            caFile = nil
            clientCertificate = nil
            clientKey = nil
            foreignClientCertificate = nil
            foreignClientKey = nil
        }
        processes = Array(repeating: nil, count: memberCount)
        for index in members.indices { try start(index) }
        try waitUntilHealthy(members.indices, timeout: startTimeout)
    }

    deinit { shutdown() }

    /// Kills every member and removes their data: for a cluster shared by a test class, whose instances XCTest keeps
    /// alive until the process ends (so `deinit` would come too late). Idempotent.
    public func shutdown() {
        for index in processes.indices { kill(index) }
        try? FileManager.default.removeItem(atPath: directory.path)
    }

    /// The command line of member `index`.
    private func command(_ index: Int) -> [String] {
        let member = members[index]
        let cluster = members.map { "\($0.name)=\($0.peerURL)" }.joined(separator: ",")
        var arguments = [
            "etcd", "--name", member.name, "--data-dir", member.dataDirectory,
            "--listen-client-urls", member.clientURL, "--advertise-client-urls", member.clientURL,
            "--listen-peer-urls", member.peerURL, "--initial-advertise-peer-urls", member.peerURL,
            "--initial-cluster", cluster, "--initial-cluster-state", "new", "--initial-cluster-token", "certagent-test",
            "--heartbeat-interval", "100", "--election-timeout", "1000", "--logger", "zap", "--log-level", "warn",
        ]
        if tls, let caFile {
            let pki = directory.path("pki")
            arguments += [
                "--cert-file", "\(pki)/\(member.name).pem", "--key-file", "\(pki)/\(member.name).key",
                "--trusted-ca-file", caFile, "--client-cert-auth",
                "--peer-cert-file", "\(pki)/\(member.name).pem", "--peer-key-file", "\(pki)/\(member.name).key",
                "--peer-trusted-ca-file", caFile, "--peer-client-cert-auth",
            ]
        }
        return arguments + extraArguments
    }

    /// Starts member `index` (again, after `stop` or `kill`: it rejoins with its data).
    public func start(_ index: Int) throws {
        guard processes[index] == nil else { return }
        processes[index] = try BackgroundProcess(command(index), outputPath: members[index].logPath)
    }

    /// Stops member `index` (SIGTERM to its PID, SIGKILL after 10 s) and waits for it to exit.
    public func stop(_ index: Int) {
        guard let process = processes[index] else { return }
        process.send(SIGTERM)
        if process.waitForExit(timeout: 10) == nil {
            process.send(SIGKILL)
            _ = process.waitForExit(timeout: 10)
        }
        processes[index] = nil
    }

    /// Kills member `index` (SIGKILL to its PID) and waits for it to exit.
    public func kill(_ index: Int) {
        guard let process = processes[index] else { return }
        process.send(SIGKILL)
        _ = process.waitForExit(timeout: 10)
        processes[index] = nil
    }

    /// The PID of member `index`, nil when stopped.
    public func pid(_ index: Int) -> pid_t? { processes[index]?.pid }

    /// Whether member `index` runs.
    public func isRunning(_ index: Int) -> Bool { processes[index] != nil }

    /// Runs `etcdctl` against the running members (or those of `endpoints`), with the test's client certificate.
    public func etcdctl(_ arguments: [String], endpoints: [Int]? = nil, user: String? = nil) throws -> Subprocess.Result {
        let chosen = (endpoints ?? members.indices.filter { processes[$0] != nil }).map { members[$0].clientURL }
        var command = ["etcdctl", "--endpoints", chosen.joined(separator: ","), "--dial-timeout", "2s", "--command-timeout", "5s"]
        if tls, let caFile, let clientCertificate, let clientKey {
            command += ["--cacert", caFile, "--cert", clientCertificate, "--key", clientKey]
        }
        if let user { command += ["--user", user] }
        var environment = ProcessInfo.processInfo.environment
        environment["ETCDCTL_API"] = "3"
        return try Subprocess.run(command + arguments, environment: environment)
    }

    /// Waits until each of `indices` answers `etcdctl endpoint health` (a committed proposal: the member is in a
    /// cluster with a leader).
    public func waitUntilHealthy(_ indices: some Sequence<Int>, timeout: TimeInterval = 30) throws {
        let deadline = Date().addingTimeInterval(timeout)
        for index in indices {
            while true {
                if let result = try? etcdctl(["endpoint", "health"], endpoints: [index]), result.status == 0 { break }
                if let process = processes[index], let status = process.waitForExit(timeout: 0) {
                    processes[index] = nil
                    throw Subprocess.SpawnError(description: "etcd member \(members[index].name) exited with \(status): \(tail(members[index].logPath))")
                }
                guard Date() < deadline else {
                    throw Subprocess.SpawnError(description: "etcd member \(members[index].name) not healthy within \(Int(timeout)) s: \(tail(members[index].logPath))")
                }
                usleep(100_000)
            }
        }
    }

    private func tail(_ path: String) -> String {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return String(text.suffix(2000))
    }

    /// A CA, one certificate per member (server and peer: serverAuth and clientAuth, for 127.0.0.1), a client
    /// certificate from the CA, and a client certificate from an unrelated CA. With the openssl CLI.
    private static func makePKI(in d: String, memberNames: [String]) throws {
        func openssl(_ arguments: [String]) throws {
            let result = try Subprocess.run(["openssl"] + arguments)
            guard result.status == 0 else {
                throw Subprocess.SpawnError(description: "openssl \(arguments.joined(separator: " ")) failed: \(result.stderr)")
            }
        }
        for ca in ["ca", "foreign-ca"] {
            try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                         "-keyout", "\(d)/\(ca).key", "-out", "\(d)/\(ca).pem", "-days", "2", "-subj", "/CN=CertAgent etcd test \(ca)",
                         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"])
        }
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n"
            .write(toFile: "\(d)/member.cnf", atomically: true, encoding: .utf8)
        try "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n"
            .write(toFile: "\(d)/client.cnf", atomically: true, encoding: .utf8)
        let leaves = memberNames.map { ($0, "ca", "member.cnf") } + [("client", "ca", "client.cnf"), ("foreign-client", "foreign-ca", "client.cnf")]
        for (serial, (name, ca, extensions)) in leaves.enumerated() {
            try openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                         "-keyout", "\(d)/\(name).key", "-out", "\(d)/\(name).csr", "-subj", "/CN=\(name)"])
            try openssl(["x509", "-req", "-in", "\(d)/\(name).csr", "-CA", "\(d)/\(ca).pem", "-CAkey", "\(d)/\(ca).key",
                         "-set_serial", "\(serial + 2)", "-days", "2", "-out", "\(d)/\(name).pem", "-extfile", "\(d)/\(extensions)"])
        }
    }
}
