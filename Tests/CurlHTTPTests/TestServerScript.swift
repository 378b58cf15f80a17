// The local test server, written to a temp dir by the tests. Kept in a Swift string so the test
// target needs no resources. Modes: `serve CERT KEY [CLIENT-CA]` (HTTPS — requiring a client certificate from
// CLIENT-CA when given — and plain HTTP on free 127.0.0.1 ports,
// prints "HTTPS_PORT HTTP_PORT"), `blackhole` (a listener whose accept queue is full, prints its port) and `silent`
// (accepts connections and never sends a byte, prints its port).
let testServerScript = #"""
import http.server, json, socket, ssl, sys, threading, time

mode = sys.argv[1]
if mode == "blackhole":
    # A listener whose accept queue is full and never drained: new SYNs are dropped, connect() hangs.
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)
    fillers = []
    for _ in range(4):
        c = socket.socket(); c.setblocking(False)
        try: c.connect(s.getsockname())
        except (BlockingIOError, OSError): pass
        fillers.append(c)
    time.sleep(0.2)
    print(s.getsockname()[1], flush=True)
    time.sleep(3600)
    sys.exit(0)

if mode == "silent":
    # Accepts every connection and holds it open without ever sending a byte (no TLS handshake, no answer).
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
    print(s.getsockname()[1], flush=True)
    held = []
    while True:
        held.append(s.accept()[0])

cert, key = sys.argv[2], sys.argv[3]
lock = threading.Lock()
stats = {"requests": 0, "inflight": 0, "max_inflight": 0}

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args): pass
    def handle_expect_100(self):
        # An interim response with a header of its own: the client must not keep it.
        self.wfile.write(b"HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n"); self.wfile.flush()
        return True
    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers: self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD": self.wfile.write(body)
    def do_GET(self): self.route()
    do_HEAD = do_POST = do_PUT = do_DELETE = do_GET
    def route(self):
        path, _, query = self.path.partition("?")
        params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
        if path != "/stats":
            with lock: stats["requests"] += 1
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if path == "/echo":
            self.reply(200, body, [("X-Echo-Method", self.command), ("X-Echo-Length", str(len(body))),
                                   ("X-Echo-Content-Type", self.headers.get("Content-Type", ""))])
        elif path == "/info":
            info = {"method": self.command, "headers": [[k, v] for k, v in self.headers.items()]}
            self.reply(200, json.dumps(info).encode(), [("Content-Type", "application/json")])
        elif path == "/head":
            self.send_response(200); self.send_header("Content-Length", "1234"); self.send_header("Replay-Nonce", "abc")
            self.end_headers()
        elif path == "/links":
            self.reply(201, b"links", [("Link", '<https://example.test/up>;rel="up"'), ("X-First", "1"),
                ("Link", '<https://example.test/alt1>;rel="alternate"'), ("x-lower", "  padded value \t"),
                ("Link", '<https://example.test/alt2>;rel="alternate"'), ("X-Empty", "")])
        elif path == "/redirect":
            self.reply(302, b"", [("Location", "/echo")])
        elif path == "/stall":
            time.sleep(30)
            self.reply(200, b"late")
        elif path == "/big":
            size = int(params.get("n", "0"))
            if params.get("chunked") == "1":
                self.send_response(200); self.send_header("Transfer-Encoding", "chunked"); self.end_headers()
                sent = 0
                while sent < size:
                    chunk = b"x" * min(16384, size - sent)
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk)); sent += len(chunk)
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.reply(200, b"x" * size)
        elif path == "/slow":
            with lock:
                stats["inflight"] += 1; stats["max_inflight"] = max(stats["max_inflight"], stats["inflight"])
            time.sleep(float(params.get("s", "0.1")))
            with lock: stats["inflight"] -= 1
            self.reply(200, params.get("id", "").encode())
        elif path == "/stream":
            # n chunked lines, `gap` seconds apart; with stall=1 the response then stays open, silent.
            n, gap = int(params.get("n", "3")), float(params.get("gap", "0.3"))
            self.send_response(200); self.send_header("Transfer-Encoding", "chunked"); self.end_headers()
            try:
                for i in range(n):
                    line = b"line %d\n" % i
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line)); self.wfile.flush()
                    if i + 1 < n: time.sleep(gap)
                if params.get("stall") == "1":
                    time.sleep(60)
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif path == "/peer":
            # The client certificate's subject CN, when one was presented.
            peer = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None
            cn = [v for rdn in (peer or {}).get("subject", ()) for k, v in rdn if k == "commonName"]
            self.reply(200, (cn[0] if cn else "").encode())
        elif path == "/stats":
            with lock: data = json.dumps(stats).encode()
            self.reply(200, data, [("Content-Type", "application/json")])
        else:
            self.reply(404, b"not found")

class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    def handle_error(self, request, client_address): pass

https = Server(("127.0.0.1", 0), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(cert, key)
if len(sys.argv) > 4:
    # A client certificate from this CA is required (TLS client authentication).
    ctx.verify_mode = ssl.CERT_REQUIRED; ctx.load_verify_locations(sys.argv[4])
https.socket = ctx.wrap_socket(https.socket, server_side=True)
plain = Server(("127.0.0.1", 0), Handler)
for srv in (https, plain):
    threading.Thread(target=srv.serve_forever, daemon=True).start()
print(https.server_address[1], plain.server_address[1], flush=True)
threading.Event().wait()
"""#
