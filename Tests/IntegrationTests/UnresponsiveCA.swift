import Foundation
import TestSupport
import XCTest

/// A CA that does not answer, on a free 127.0.0.1 port: a small python3 server started and stopped by its PID.
///
/// - `silent`: accepts every TCP connection and never sends a byte (the TLS handshake never completes).
/// - `silentAfterHandshake`: completes the TLS handshake, then never answers a request.
/// - `hangsAtChallenge`: a minimal ACME server (no signature checks) that answers the directory, nonces, the account,
///   a new order for `domain` and its authorization, then never answers the http-01 challenge POST — so the client has
///   published the challenge file in the webroot and is waiting. It prints `HANG <path>` when that request arrives.
final class UnresponsiveCA {
    enum Mode {
        case silent, silentAfterHandshake, hangsAtChallenge(domain: String)
    }

    let directory: TemporaryDirectory
    let port: Int
    /// The self-signed certificate the server presents, to use as the config's `caFile`.
    let caFile: String
    private let process: BackgroundProcess

    init(_ mode: Mode) throws {
        directory = try TemporaryDirectory()
        let script = try directory.write("ca.py", unresponsiveCAScript)
        let key = directory.path("key.pem")
        caFile = directory.path("cert.pem")
        let made = try runCommand("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                                       "-days", "2", "-subj", "/CN=unresponsive CA", "-keyout", key, "-out", caFile,
                                                       "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        guard made.status == 0 else { throw UnresponsiveCAError(message: "openssl: \(made.stderr)") }
        let arguments: [String]
        switch mode {
        case .silent: arguments = ["silent"]
        case .silentAfterHandshake: arguments = ["silent-tls", caFile, key]
        case .hangsAtChallenge(let domain): arguments = ["hang-at-challenge", caFile, key, domain]
        }
        let started = try BackgroundProcess(["python3", script] + arguments, outputPath: directory.path("server.log"))
        process = started
        var port: Int?
        _ = eventually(timeout: 10) {
            port = started.output.split(separator: "\n").first.flatMap { Int($0) }
            return port != nil
        }
        guard let port else {
            process.send(SIGKILL)
            throw UnresponsiveCAError(message: "the unresponsive CA did not start: \(process.output)")
        }
        self.port = port
    }

    deinit { stop() }

    /// The ACME directory URL.
    var directoryURL: String { "https://127.0.0.1:\(port)/dir" }

    /// What the server printed: its port, then one line per accepted connection (`ACCEPTED`) or hung request (`HANG`).
    var log: String { process.output }

    /// Waits until the server holds a connection it will never answer (`ACCEPTED`, or `HANG` for `hangsAtChallenge`).
    func waitUntilHolding(_ marker: String = "ACCEPTED", timeout: TimeInterval = 60) -> Bool {
        eventually(timeout: timeout) { self.log.contains(marker) }
    }

    func stop() {
        guard process.waitForExit(timeout: 0) == nil else { return }
        process.send(SIGTERM)
        if process.waitForExit(timeout: 5) == nil {
            process.send(SIGKILL)
            _ = process.waitForExit(timeout: 5)
        }
    }

    /// A config for `certificates` (name → domain), each served from its own directory below `webroots`.
    func writeConfig(certificates: [(name: String, domain: String)], webroots: String, storage: String) throws -> String {
        let entries: [[String: Any]] = certificates.map { ["name": $0.name, "domains": [$0.domain], "webroot": webroots + "/" + $0.name] }
        for entry in entries { try FileManager.default.createDirectory(atPath: entry["webroot"] as! String, withIntermediateDirectories: true) }
        let config: [String: Any] = ["email": "admin@example.com", "acceptTermsOfService": true, "directory": directoryURL,
                                     "caFile": caFile, "storage": storage, "certificates": entries]
        let path = directory.path("config.json")
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: path))
        return path
    }
}

struct UnresponsiveCAError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

private let unresponsiveCAScript = #"""
import http.server, json, socket, ssl, sys, threading

mode = sys.argv[1]

def say(line):
    print(line, flush=True)

if mode in ("silent", "silent-tls"):
    ctx = None
    if mode == "silent-tls":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(sys.argv[2], sys.argv[3])
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
    say(s.getsockname()[1])
    held = []
    def handshake(c):
        try:
            held.append(ctx.wrap_socket(c, server_side=True))
            say("ACCEPTED")
        except Exception:
            pass
    while True:
        c, _ = s.accept()
        held.append(c)
        if ctx is None:
            say("ACCEPTED")
        else:
            threading.Thread(target=handshake, args=(c,), daemon=True).start()

cert, key, domain = sys.argv[2], sys.argv[3], sys.argv[4]
token = "hangingToken_0123456789-abcdefghijklmnop"
nonce = [0]
lock = threading.Lock()

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args): pass
    def base(self): return "https://127.0.0.1:%d" % self.server.server_address[1]
    def reply(self, status, body=None, headers=()):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        with lock:
            nonce[0] += 1
            self.send_header("Replay-Nonce", "nonce%08d" % nonce[0])
        if body is not None: self.send_header("Content-Type", "application/json")
        for k, v in headers: self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD": self.wfile.write(data)
    def do_HEAD(self): self.route()
    def do_GET(self): self.route()
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n: self.rfile.read(n)
        self.route()
    def route(self):
        b = self.base()
        if self.path == "/dir":
            self.reply(200, {"newNonce": b + "/nonce", "newAccount": b + "/account", "newOrder": b + "/order"})
        elif self.path == "/nonce":
            self.reply(200)
        elif self.path == "/account":
            self.reply(200, {"status": "valid"}, [("Location", b + "/acct/1")])
        elif self.path == "/order":
            self.reply(201, {"status": "pending", "identifiers": [{"type": "dns", "value": domain}],
                             "authorizations": [b + "/authz/1"], "finalize": b + "/finalize/1"}, [("Location", b + "/order/1")])
        elif self.path == "/authz/1":
            self.reply(200, {"status": "pending", "identifier": {"type": "dns", "value": domain},
                             "challenges": [{"type": "http-01", "url": b + "/chal/1", "status": "pending", "token": token}]})
        else:
            say("HANG " + self.path)
            threading.Event().wait()

class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    def handle_error(self, request, client_address): pass

server = Server(("127.0.0.1", 0), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(cert, key)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
say(server.server_address[1])
server.serve_forever()
"""#
