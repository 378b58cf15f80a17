import ByteEncoding
import Foundation
import XCTest
@testable import ACME

/// A scripted HTTP transport: answers GET directory and HEAD newNonce itself, everything else from queues keyed by
/// method + URL; records every request; stamps a fresh `Replay-Nonce` on responses that lack one.
final class ScriptedTransport: HTTPTransport, @unchecked Sendable {
    static let base = "https://acme.test"
    static let directoryURL = base + "/dir"
    static let directoryJSON = """
        {"newNonce":"https://acme.test/nonce","newAccount":"https://acme.test/acct","newOrder":"https://acme.test/order",
         "revokeCert":"https://acme.test/revoke","keyChange":"https://acme.test/key","renewalInfo":"https://acme.test/ari",
         "Xm7C3a2FkqE":"https://community.example/t/adding-random-entries-to-the-directory/33417",
         "meta":{"termsOfService":"https://acme.test/tos","website":"https://ca.test","caaIdentities":["ca.test"],
                 "externalAccountRequired":false,"profiles":{"classic":"90 days","shortlived":"160 hours"}}}
        """

    private let lock = NSLock()
    private var queues: [String: [HTTPResponse]] = [:]
    private var fallbacks: [String: HTTPResponse] = [:]
    private var _requests: [HTTPRequest] = []
    private var nonceCounter = 0
    /// Whether responses get a fresh `Replay-Nonce` when they have none.
    var stampNonces = true

    var requests: [HTTPRequest] { lock.withLock { _requests } }

    /// Queues `responses` for `method url`; once they are used up, `thenAlways` (if any) answers every further request.
    func on(_ method: HTTPRequest.Method, _ url: String, _ responses: HTTPResponse..., thenAlways: HTTPResponse? = nil) {
        lock.withLock {
            queues["\(method.rawValue) \(url)", default: []].append(contentsOf: responses)
            if let thenAlways { fallbacks["\(method.rawValue) \(url)"] = thenAlways }
        }
    }

    func send(_ request: HTTPRequest) throws -> HTTPResponse {
        lock.withLock {
            _requests.append(request)
            let key = "\(request.method.rawValue) \(request.url)"
            var response: HTTPResponse
            if var queue = queues[key], !queue.isEmpty {
                response = queue.removeFirst()
                queues[key] = queue
            } else if let fallback = fallbacks[key] {
                response = fallback
            } else if request.method == .get && request.url == Self.directoryURL {
                return json(Self.directoryJSON)
            } else if request.method == .head && request.url == Self.base + "/nonce" {
                response = HTTPResponse(status: 200)
            } else {
                response = HTTPResponse(status: 404, headers: [("Content-Type", "text/plain")], body: Array("unscripted \(key)".utf8))
            }
            if stampNonces && response.header("Replay-Nonce") == nil {
                nonceCounter += 1
                response.headers.append((name: "Replay-Nonce", value: "nonce\(nonceCounter)"))
            }
            return response
        }
    }

    /// `METHOD path` of every request, with the base URL cut off.
    var log: [String] {
        requests.map { "\($0.method.rawValue) \($0.url.replacingOccurrences(of: Self.base, with: ""))" }
    }

    /// The decoded JWS bodies of every POST.
    func posts() throws -> [DecodedJWS] {
        try requests.filter { $0.method == .post }.map(DecodedJWS.init)
    }
}

/// A flattened JWS body, decoded.
struct DecodedJWS {
    let url: String
    let protected: [String: Any]
    /// The payload text ("" for POST-as-GET).
    let payloadText: String
    let signature: String
    let contentType: String?
    let accept: String?

    init(_ request: HTTPRequest) throws {
        url = request.url
        contentType = request.headers.first { $0.name.lowercased() == "content-type" }?.value
        accept = request.headers.first { $0.name.lowercased() == "accept" }?.value
        let body = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(request.body ?? [])) as? [String: String])
        XCTAssertEqual(Set(body.keys), ["protected", "payload", "signature"])
        protected = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(XCTUnwrap(Base64URL.decode(body["protected"] ?? "")))) as? [String: Any])
        payloadText = String(decoding: try XCTUnwrap(Base64URL.decode(body["payload"] ?? "")), as: UTF8.self)
        signature = body["signature"] ?? ""
    }

    var payload: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(payloadText.utf8))) as? [String: Any] ?? [:]
    }
    var nonce: String? { protected["nonce"] as? String }
    var kid: String? { protected["kid"] as? String }
    var jwk: [String: String]? { protected["jwk"] as? [String: String] }
}

/// A signer that signs nothing: the ACME module never verifies signatures.
struct FakeSigner: JWSSigner {
    var algorithm = "ES256"
    var publicJWK: [String: String] = ["kty": "EC", "crv": "P-256", "x": "eHg", "y": "eXk"]
    var thumbprint = "THUMBPRINT_abc-123"
    func sign(_ signingInput: [UInt8]) throws -> [UInt8] { [1, 2, 3, 4] }
}

/// An EAB MAC signer returning fixed bytes.
struct FakeMAC: MACSigner {
    var algorithm = "HS256"
    var keyID = "kid-eab-1"
    func mac(_ signingInput: [UInt8]) throws -> [UInt8] { [0xFB, 0xFF] }
}

/// A clock that never waits: `sleep` records the duration and moves `now` on.
final class ManualClock: ACMEClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current = Date(timeIntervalSince1970: 1_750_000_000)
    private var _sleeps: [Double] = []
    var sleeps: [Double] { lock.withLock { _sleeps } }
    func now() -> Date { lock.withLock { current } }
    func sleep(seconds: Double) throws {
        lock.withLock {
            _sleeps.append(seconds)
            current += seconds
        }
    }
}

/// A solver that records what it is asked, optionally failing on one domain, and notes how many HTTP requests
/// had been sent when each token was presented.
final class RecordingSolver: HTTP01Solver, @unchecked Sendable {
    struct Failure: Error {}
    private let lock = NSLock()
    private var _presented: [(domain: String, token: String, keyAuthorization: String, requestsBefore: Int)] = []
    private var _cleaned: [(domain: String, token: String)] = []
    let transport: ScriptedTransport?
    let failOn: String?

    init(transport: ScriptedTransport? = nil, failOn: String? = nil) {
        self.transport = transport
        self.failOn = failOn
    }

    var presented: [(domain: String, token: String, keyAuthorization: String, requestsBefore: Int)] { lock.withLock { _presented } }
    var cleaned: [String] { lock.withLock { _cleaned.map { "\($0.domain)/\($0.token)" } } }

    func present(domain: String, token: String, keyAuthorization: String) throws {
        let count = transport?.requests.count ?? 0
        lock.withLock { _presented.append((domain, token, keyAuthorization, count)) }
        if domain == failOn { throw Failure() }
    }

    func cleanUp(domain: String, token: String) {
        lock.withLock { _cleaned.append((domain, token)) }
    }
}

// MARK: - Response builders

func json(_ body: String, status: Int = 200, headers: [(String, String)] = []) -> HTTPResponse {
    HTTPResponse(status: status, headers: [(name: "Content-Type", value: "application/json")] + headers.map { (name: $0.0, value: $0.1) },
                 body: Array(body.utf8))
}

func problem(_ type: String, status: Int = 400, detail: String = "", extra: String = "", headers: [(String, String)] = []) -> HTTPResponse {
    let fullType = type.contains(":") ? type : "urn:ietf:params:acme:error:" + type
    let body = #"{"type":"\#(fullType)","detail":"\#(detail)","status":\#(status)\#(extra.isEmpty ? "" : "," + extra)}"#
    return HTTPResponse(status: status, headers: [(name: "Content-Type", value: "application/problem+json")] + headers.map { (name: $0.0, value: $0.1) },
                        body: Array(body.utf8))
}

/// A client on the scripted server, with the clock and a fast default polling policy.
func makeClient(_ transport: ScriptedTransport, clock: ManualClock = ManualClock(), polling: PollingPolicy = .init(),
                accountURL: String? = nil) -> ACMEClient {
    ACMEClient(directoryURL: ScriptedTransport.directoryURL, transport: transport, signer: FakeSigner(), clock: clock,
               polling: polling, accountURL: accountURL)
}
