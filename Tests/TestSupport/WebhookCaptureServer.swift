import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real HTTP server on loopback (Python's `http.server`) that records every POST it receives and answers with a
/// fixed status and body: the far end of a webhook in tests. Started on a free port, stopped by its PID.
public final class WebhookCaptureServer {
    /// One request as received.
    public struct Request: Sendable {
        public let method: String
        public let path: String
        /// Header names lowercased.
        public let headers: [String: String]
        public let body: [UInt8]

        public var bodyText: String { String(decoding: body, as: UTF8.self) }
        /// The body parsed as a JSON object, if it is one.
        public var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] }
    }

    public let port: Int
    private let directory: TemporaryDirectory
    private let process: BackgroundProcess
    private var capturePath: String { directory.path + "/requests.jsonl" }

    public var url: String { "http://127.0.0.1:\(port)" }

    /// Starts the server answering every POST with `status` and `body`, after `delay` seconds (recorded at once).
    public init(status: Int = 200, body: String = "ok", delay: Double = 0) throws {
        directory = try TemporaryDirectory()
        let script = directory.path + "/capture.py"
        try Self.script.write(toFile: script, atomically: true, encoding: .utf8)
        let portFile = directory.path + "/port"
        process = try BackgroundProcess(["python3", script, portFile, directory.path + "/requests.jsonl", String(status), body, String(delay)],
                                        outputPath: directory.path + "/server.log")
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let value = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                port = value
                return
            }
            if process.waitForExit(timeout: 0.05) != nil { break }
        }
        process.send(SIGKILL)
        _ = process.waitForExit(timeout: 5)
        throw Subprocess.SpawnError(description: "the webhook capture server did not start: \(process.output)")
    }

    deinit { stop() }

    /// Stops the server (by its PID).
    public func stop() {
        process.send(SIGTERM)
        if process.waitForExit(timeout: 5) == nil {
            process.send(SIGKILL)
            _ = process.waitForExit(timeout: 5)
        }
    }

    /// Every request received so far, in order.
    public var requests: [Request] {
        guard let text = try? String(contentsOfFile: capturePath, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let method = object["method"] as? String, let path = object["path"] as? String,
                  let headers = object["headers"] as? [String: String], let body = object["body"] as? String,
                  let bytes = Data(base64Encoded: body) else { return nil }
            return Request(method: method, path: path, headers: headers, body: Array(bytes))
        }
    }

    /// Waits until at least `count` requests arrived (up to `timeout` seconds); returns them.
    @discardableResult
    public func waitForRequests(_ count: Int, timeout: TimeInterval = 30) -> [Request] {
        let deadline = Date().addingTimeInterval(timeout)
        var seen = requests
        while seen.count < count, Date() < deadline {
            usleep(50_000)
            seen = requests
        }
        return seen
    }

    private static let script = #"""
import base64, http.server, json, os, sys, time
port_file, capture, status, answer, delay = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].encode(), float(sys.argv[5])

class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        record = {"method": "POST", "path": self.path,
                  "headers": {k.lower(): v for k, v in self.headers.items()},
                  "body": base64.b64encode(body).decode()}
        with open(capture, "a") as f:
            f.write(json.dumps(record) + "\n")
        time.sleep(delay)
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
tmp = port_file + ".tmp"
with open(tmp, "w") as f:
    f.write(str(server.server_address[1]))
os.rename(tmp, port_file)
server.serve_forever()
"""#
}
