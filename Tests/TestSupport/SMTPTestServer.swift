import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real SMTP server for tests: Debian's python3-aiosmtpd on a free 127.0.0.1 port, with its own throwaway CA,
/// AUTH (one username and password) and, depending on the mode, STARTTLS required, implicit TLS, or no TLS at all.
/// Each accepted message is written to `messagesDirectory` as `N.eml` (the DATA as received, dot-stuffing undone)
/// and `N.json` (envelope sender, recipients, whether TLS and AUTH were used); each AUTH attempt appends a line to
/// `auth.log` there. Stopped by its PID (`stop()`, or when released).
public final class SMTPTestServer {
    public enum Mode: String {
        /// `require_starttls=True`, `auth_require_tls=True`: the usual submission server on port 587.
        case starttls
        /// TLS from the first byte (`ssl_context`), like port 465.
        case smtps
        /// No TLS offered at all; AUTH would be accepted in clear (to prove the client never tries).
        case plain
    }

    /// One accepted message.
    public struct ReceivedMessage {
        public let from: String
        public let recipients: [String]
        public let usedTLS: Bool
        public let authenticated: Bool
        public let data: [UInt8]
    }

    public let port: Int
    /// The CA that issued the server's certificate (for `127.0.0.1` and `localhost`).
    public let caFile: String
    public let messagesDirectory: String
    private let process: BackgroundProcess
    private let directory: TemporaryDirectory

    /// Starts the server; `username`/`password` are the only credentials it accepts. A recipient whose address
    /// starts with `refused` is refused with a 550 reply that carries an ESC byte, such a sender with 553, and a
    /// message with the header line `X-Test-Refuse: yes` with 554 after its data.
    public init(mode: Mode, username: String = "mailer", password: String = "correct horse") throws {
        let directory = try TemporaryDirectory()
        let d = directory.path
        try Self.openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                          "-keyout", "\(d)/ca.key", "-out", "\(d)/ca.pem", "-days", "2",
                          "-subj", "/CN=CertAgent SMTP test CA", "-addext", "basicConstraints=critical,CA:TRUE",
                          "-addext", "keyUsage=critical,keyCertSign"])
        try directory.write("ext.cnf", "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n")
        try Self.openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                          "-keyout", "\(d)/server.key", "-out", "\(d)/server.csr", "-subj", "/CN=localhost"])
        try Self.openssl(["x509", "-req", "-in", "\(d)/server.csr", "-CA", "\(d)/ca.pem", "-CAkey", "\(d)/ca.key",
                          "-set_serial", "2", "-days", "2", "-out", "\(d)/server.pem", "-extfile", "\(d)/ext.cnf"])
        let script = try directory.write("smtp_server.py", smtpTestServerScript)
        let messages = try directory.make("messages")
        let process = try BackgroundProcess(["/usr/bin/python3", script, mode.rawValue, messages, "\(d)/server.pem",
                                             "\(d)/server.key", username, password],
                                            outputPath: directory.path("server.log"))
        var port: Int?
        _ = eventually(timeout: 20) {
            port = process.output.split(separator: "\n").lazy.compactMap { Int($0) }.first
            return port != nil || process.waitForExit(timeout: 0) != nil
        }
        guard let port else {
            let output = process.output
            process.send(SIGKILL)
            _ = process.waitForExit(timeout: 5)
            throw Subprocess.SpawnError(description: "the SMTP test server did not start: \(output)")
        }
        self.port = port
        self.caFile = "\(d)/ca.pem"
        self.messagesDirectory = messages
        self.process = process
        self.directory = directory
    }

    deinit { stop() }

    /// Ends the server (SIGTERM to its PID, SIGKILL after 5 s).
    public func stop() {
        guard process.waitForExit(timeout: 0) == nil else { return }
        process.send(SIGTERM)
        if process.waitForExit(timeout: 5) == nil {
            process.send(SIGKILL)
            _ = process.waitForExit(timeout: 5)
        }
    }

    /// The messages accepted so far, in order.
    public func messages() throws -> [ReceivedMessage] {
        var result: [ReceivedMessage] = []
        var number = 1
        while FileManager.default.fileExists(atPath: "\(messagesDirectory)/\(number).json") {
            let envelope = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(messagesDirectory)/\(number).json")))
            guard let fields = envelope as? [String: Any] else { throw Subprocess.SpawnError(description: "bad envelope file \(number).json") }
            let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "\(messagesDirectory)/\(number).eml")))
            result.append(ReceivedMessage(from: fields["from"] as? String ?? "", recipients: fields["to"] as? [String] ?? [],
                                          usedTLS: fields["tls"] as? Bool ?? false,
                                          authenticated: fields["authenticated"] as? Bool ?? false, data: data))
            number += 1
        }
        return result
    }

    /// One line per AUTH attempt: `MECHANISM accepted|refused tls=True|False`; empty when none was made.
    public func authAttempts() -> [String] {
        let text = (try? String(contentsOfFile: "\(messagesDirectory)/auth.log", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init)
    }

    /// What the server printed (its port, Python warnings).
    public var log: String { process.output }

    private static func openssl(_ arguments: [String]) throws {
        let result = try Subprocess.run(["/usr/bin/openssl"] + arguments)
        guard result.status == 0 else {
            throw Subprocess.SpawnError(description: "openssl \(arguments.first ?? "") failed: \(result.stderr)")
        }
    }
}

/// The server itself (kept in a Swift string so no target needs resources). Arguments:
/// MODE MESSAGES_DIR CERT KEY USERNAME PASSWORD; prints the port it listens on.
let smtpTestServerScript = #"""
import json, os, socket, ssl, sys, threading
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

mode, outdir, cert, key, user, password = sys.argv[1:7]
lock = threading.Lock()
counter = [0]

def record(name, data):
    # Written under a temporary name, then renamed: the test never reads half a file.
    path = os.path.join(outdir, name)
    with open(path + ".tmp", "wb") as f: f.write(data)
    os.rename(path + ".tmp", path)

def is_tls(server, session):
    return session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == user.encode() and auth_data.password == password.encode()
    with lock:
        with open(os.path.join(outdir, "auth.log"), "a") as f:
            f.write("%s %s tls=%s\n" % (mechanism, "accepted" if ok else "refused", is_tls(server, session)))
    return AuthResult(success=ok, handled=False)

class Handler:
    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if address.startswith("refused"):
            return "553 5.7.1 <%s>: sender not allowed" % address
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refused"):
            return "550 5.1.1 <%s>: no such \x1b[31mmailbox" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"
    async def handle_DATA(self, server, session, envelope):
        if b"\r\nX-Test-Refuse: yes\r\n" in envelope.original_content:
            return "554 5.6.0 message refused by policy"
        with lock:
            counter[0] += 1; n = counter[0]
        record("%d.eml" % n, envelope.original_content)
        record("%d.json" % n, json.dumps({"from": envelope.mail_from, "to": envelope.rcpt_tos,
            "tls": is_tls(server, session), "authenticated": bool(session.authenticated)}).encode())
        return "250 Message accepted for delivery"

context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); context.load_cert_chain(cert, key)
kwargs = dict(authenticator=authenticator, auth_require_tls=(mode == "starttls"))
if mode == "starttls": kwargs.update(tls_context=context, require_starttls=True)
elif mode == "smtps": kwargs.update(ssl_context=context)  # implicit TLS; aiosmtpd's auth_require_tls only knows STARTTLS
for attempt in range(20):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, **kwargs)
    try:
        controller.start(); break
    except Exception:
        if attempt == 19: raise
print(port, flush=True)
threading.Event().wait()
"""#
