import FoundationEssentials
import Synchronization

/// A synchronous RFC 8555 client for one account on one ACME server.
///
/// Every call blocks on the `HTTPTransport`; run it on a Dispatch queue or thread. It is safe to share
/// between threads: the nonce pool, cached directory, account URL and request counter sit behind a `Mutex`.
public final class ACMEClient: Sendable {
    /// Attempts of one request while the server answers `badNonce` (RFC 8555 §6.5): enough for servers
    /// that reject half of all good nonces (Pebble's `PEBBLE_WFE_NONCEREJECT=50`).
    public static let maximumNonceAttempts = 16

    /// The directory URL (RFC 8555 §7.1.1).
    public let directoryURL: String
    /// How authorizations and orders are polled.
    public let polling: PollingPolicy
    let transport: any HTTPTransport
    let signer: any JWSSigner
    let clock: any ACMEClock

    struct State {
        var nonces = NoncePool()
        var directory: ACMEDirectory?
        var accountURL: String?
        var requestCount = 0
        /// Requests sent and not answered yet: each brings a nonce back.
        var requestsInFlight = 0
    }
    let state: Mutex<State>

    /// A client for the server at `directoryURL` whose account key is `signer`.
    /// Pass `accountURL` when the account is already known (saves a lookup, RFC 8555 §7.3.1).
    public init(directoryURL: String, transport: any HTTPTransport, signer: any JWSSigner,
                clock: any ACMEClock = SystemACMEClock(), polling: PollingPolicy = .init(), accountURL: String? = nil) {
        self.directoryURL = directoryURL
        self.transport = transport
        self.signer = signer
        self.clock = clock
        self.polling = polling
        self.state = Mutex(State(accountURL: accountURL))
    }

    /// The account URL (`kid`, RFC 8555 §6.2), set by `newAccount`/`lookUpAccount` or the initializer.
    public var accountURL: String? { state.withLock { $0.accountURL } }

    /// HTTP requests sent so far, every kind counted (for tests and benchmarks).
    public var requestCount: Int { state.withLock { $0.requestCount } }

    /// The directory (RFC 8555 §7.1.1): fetched with GET on first use, then cached.
    public func directory() throws -> ACMEDirectory {
        if let cached = state.withLock({ $0.directory }) { return cached }
        let response = try checked(send(HTTPRequest(method: .get, url: directoryURL)), url: directoryURL)
        let directory = try decode(ACMEDirectory.self, from: response, url: directoryURL)
        state.withLock { $0.directory = directory }
        return directory
    }

    // MARK: - Requests

    /// Sends one request, counts it, and keeps its `Replay-Nonce` whatever the status (RFC 8555 §6.5).
    /// `announced`: the request was already counted in flight when its nonce was taken (`nonce()`).
    func send(_ request: HTTPRequest, announced: Bool = false) throws -> HTTPResponse {
        state.withLock { state in
            state.requestCount += 1
            if !announced { state.requestsInFlight += 1 }
        }
        let response: HTTPResponse
        do { response = try transport.send(request) } catch {
            state.withLock { $0.requestsInFlight -= 1 }
            throw error
        }
        let nonce = response.header("Replay-Nonce")?.trimmingWhitespace()
        state.withLock { state in
            if let nonce { state.nonces.add(nonce) }
            state.requestsInFlight -= 1
        }
        return response
    }

    /// How long `nonce()` waits, at most, for the answer to a request in flight to bring a nonce, before it asks
    /// newNonce for one.
    static let nonceWait: Double = 0.25
    /// How often it looks while it waits.
    static let nonceWaitStep: Double = 0.002

    /// A fresh nonce: from the pool; when the pool is empty but other requests are in flight (orders of a batch side by
    /// side), from the first of their answers (within `nonceWait`), which saves a request; else from HEAD newNonce
    /// (RFC 8555 §7.2). The request the nonce is for counts as in flight from now: send it with `announced: true`, or
    /// call `withdrawAnnouncedRequest()` when it is not sent.
    func nonce() throws -> String {
        // The answer to our own newNonce request lands in the pool, where a request running beside this one may take it
        // first: then look again (wait or ask again), at most `maximumNonceAttempts` times.
        for _ in 0..<Self.maximumNonceAttempts {
            var waited = 0.0
            while true {
                let (nonce, othersInFlight) = state.withLock { state -> (String?, Int) in
                    guard let nonce = state.nonces.take() else { return (nil, state.requestsInFlight) }
                    state.requestsInFlight += 1
                    return (nonce, 0)
                }
                if let nonce { return nonce }
                guard othersInFlight > 0, waited < Self.nonceWait else { break }
                try clock.sleep(seconds: Self.nonceWaitStep)
                waited += Self.nonceWaitStep
            }
            let url = try directory().newNonce
            let response = try send(HTTPRequest(method: .head, url: url))
            guard (200..<300).contains(response.status) else {
                throw problemError(response, url: url) ?? unexpected(response, url: url)
            }
            guard response.header("Replay-Nonce") != nil else {
                throw ACMEError.unexpectedResponse(url: url, status: response.status, detail: "no valid Replay-Nonce header")
            }
        }
        let url = try directory().newNonce
        throw ACMEError.unexpectedResponse(url: url, status: 200, detail: "no valid Replay-Nonce header")
    }

    /// The request announced by `nonce()` will not be sent after all.
    private func withdrawAnnouncedRequest() {
        state.withLock { $0.requestsInFlight -= 1 }
    }

    /// The account URL for `kid`, looked up (RFC 8555 §7.3.1) when not known yet.
    /// Throws an `accountDoesNotExist` problem when the key has no account.
    func requireAccountURL() throws -> String {
        if let url = accountURL { return url }
        if let account = try lookUpAccount() { return account.url }
        let url = try directory().newAccount
        throw ACMEError.problem(ACMEProblem(type: ACMEProblem.Kind.prefix + "accountDoesNotExist",
                                            detail: "no account exists for this key; create one with newAccount"),
                                url: url, retryAfter: nil)
    }

    /// POSTs a JWS (RFC 8555 §6.2) to `url` and returns the successful response.
    /// `payload` nil is POST-as-GET (§6.3). `key` nil means `kid` = the account URL.
    /// A `badNonce` answer is retried at once with the nonce it carried, up to `maximumNonceAttempts` times.
    func post(_ url: String, payload: JSONValue?, key: JWS.KeyReference? = nil, signer: (any JWSSigner)? = nil,
              accept: String? = nil) throws -> HTTPResponse {
        let keyReference = try key ?? .kid(requireAccountURL())
        let payloadBytes = try payload?.bytes()
        var headers: [(name: String, value: String)] = [(name: "Content-Type", value: "application/jose+json")]
        if let accept { headers.append((name: "Accept", value: accept)) }
        var attempt = 0
        while true {
            attempt += 1
            let nonce = try nonce()
            let body: [UInt8]
            do { body = try JWS.sign(payload: payloadBytes, url: url, nonce: nonce, key: keyReference, signer: signer ?? self.signer).bytes() } catch {
                withdrawAnnouncedRequest()
                throw error
            }
            let response = try send(HTTPRequest(method: .post, url: url, headers: headers, body: body), announced: true)
            if attempt < Self.maximumNonceAttempts, !(200..<300).contains(response.status),
               let problem = problemDocument(response), problem.kind == .badNonce {
                continue
            }
            return try checked(response, url: url)
        }
    }

    /// POST-as-GET (RFC 8555 §6.3).
    func fetch(_ url: String, accept: String? = nil) throws -> HTTPResponse {
        try post(url, payload: nil, accept: accept)
    }

    // MARK: - Responses

    /// `response` when its status is 2xx; otherwise the problem it carries, or `unexpectedResponse`.
    func checked(_ response: HTTPResponse, url: String) throws -> HTTPResponse {
        guard (200..<300).contains(response.status) else {
            throw problemError(response, url: url) ?? unexpected(response, url: url)
        }
        return response
    }

    /// The problem document in an error response (RFC 8555 §6.7), when the body is one.
    func problemDocument(_ response: HTTPResponse) -> ACMEProblem? {
        let contentType = response.header("Content-Type")?.lowercased() ?? ""
        guard contentType.contains("json") || response.body.first == UInt8(ascii: "{") else { return nil }
        return try? JSONDecoder().decode(ACMEProblem.self, from: Data(response.body))
    }

    /// `ACMEError.problem` with `Retry-After` (RFC 8555 §6.6), when the response holds a problem document.
    func problemError(_ response: HTTPResponse, url: String) -> ACMEError? {
        guard let problem = problemDocument(response) else { return nil }
        return .problem(problem, url: url, retryAfter: RetryAfter.date(response.header("Retry-After"), now: clock.now()))
    }

    /// How much of an unexpected body an error shows, in bytes.
    static let bodyExcerptLimit = 200

    /// `unexpectedResponse` with a short excerpt of the body — or, for an overloaded server (429, 5xx) that sent
    /// `Retry-After` without a problem document (a proxy or load balancer page), a `serverInternal` problem carrying
    /// that `Retry-After`, so callers back off as the server asked (RFC 8555 §6.6, RFC 9110 §10.2.3).
    func unexpected(_ response: HTTPResponse, url: String, why: String? = nil) -> ACMEError {
        // The body is the server's bytes (HTML, binary, anything): escaped and bounded, never shown raw.
        let excerpt = UntrustedText.display(bytes: response.body, limit: Self.bodyExcerptLimit)
        let detail = [why.map { UntrustedText.display($0) }, excerpt.isEmpty ? "(empty body)" : excerpt]
            .compactMap { $0 }.joined(separator: ": ")
        if response.status == 429 || response.status >= 500,
           let retryAfter = RetryAfter.date(response.header("Retry-After"), now: clock.now()) {
            let problem = ACMEProblem(type: "urn:ietf:params:acme:error:serverInternal", detail: "HTTP \(response.status): \(detail)", status: response.status)
            return .problem(problem, url: url, retryAfter: retryAfter)
        }
        return .unexpectedResponse(url: url, status: response.status, detail: detail)
    }

    /// Decodes a JSON body, or throws `unexpectedResponse`.
    func decode<T: Decodable>(_ type: T.Type, from response: HTTPResponse, url: String) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(response.body))
        } catch {
            throw unexpected(response, url: url, why: "cannot read \(T.self): \(Self.explain(error))")
        }
    }

    /// Why a body could not be decoded, in words: which field is missing or of the wrong type, or that it is not JSON
    /// (not Foundation's `DecodingError` dump, which is neither readable nor bounded).
    static func explain(_ error: any Error) -> String {
        func path(_ context: DecodingError.Context, adding key: CodingKey? = nil) -> String {
            let keys = context.codingPath + (key.map { [$0] } ?? [])
            let text = keys.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
            return text.hasPrefix(".") ? String(text.dropFirst()) : text
        }
        guard let error = error as? DecodingError else { return "not a readable JSON document" }
        switch error {
        case .keyNotFound(let key, let context): return "the field \"\(path(context, adding: key))\" is missing"
        case .valueNotFound(_, let context): return "the field \"\(path(context))\" is null"
        case .typeMismatch(let type, let context): return "the field \"\(path(context))\" is not \(Self.kind(type))"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "the body is not valid JSON" : "the field \"\(path(context))\" has an invalid value"
        @unknown default: return "not a readable JSON document"
        }
    }

    private static func kind(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Double.Type: "a number"
        case is Bool.Type: "a boolean"
        default: String(describing: type).hasPrefix("Array") ? "an array" : "an object"
        }
    }

    /// The `Location` header resolved against `url`, or throws `unexpectedResponse` (RFC 8555 §7.3, §7.4).
    func location(_ response: HTTPResponse, url: String) throws -> String {
        guard let location = response.header("Location"), !location.isEmpty else {
            throw unexpected(response, url: url, why: "no Location header")
        }
        return LinkHeader.resolve(location, against: url)
    }
}
