import CurlHTTP
import FoundationEssentials
import Synchronization

/// A small etcd v3 client over the members' JSON gateway (`/v3/kv/…`, `/v3/lease/…`, `/v3/watch`), through libcurl.
///
/// Each request goes to the member that answered last; a member that refuses the connection, times out, breaks the
/// connection or answers UNAVAILABLE (no leader, say) is skipped for the next one, and the one that answers is
/// remembered. When none answers the request fails with `EtcdError.unreachable`, naming each member and why.
/// With a user name configured the client authenticates (`/v3/auth/authenticate`), sends the token with every
/// request, and authenticates again when etcd says the token expired. Every answer is checked before use (JSON
/// shape, base64, sizes). Calls block the calling thread; the client may be used from several threads at once.
///
/// A write whose answer was lost (a member stopping mid-request) is sent again to the next member, so it may have been
/// applied twice: a put is harmless, a create-if-absent transaction then fails its compare — compare the value (a
/// node name, say) to tell "mine" from "someone else's".
public final class EtcdClient: Sendable {
    public let configuration: EtcdConfiguration
    /// The members' URLs, checked, in configured order.
    public let endpoints: [String]
    let http: CurlHTTPClient
    /// The index of the member that answered last: the first one tried.
    private let preferred = Atomic<Int>(0)
    /// The authentication token, once obtained; nil without a user name or before the first request.
    private let token = Mutex<String?>(nil)

    public init(configuration: EtcdConfiguration) throws {
        endpoints = try configuration.checkedEndpoints()
        for (field, value) in [("requestTimeout", configuration.requestTimeout), ("connectTimeout", configuration.connectTimeout)] {
            guard value.isFinite, value > 0 else {
                throw EtcdError.invalidConfiguration(field: field, value: "\(value)", reason: "must be a positive number of seconds")
            }
        }
        guard configuration.maxResponseBytes >= 1024 else {
            throw EtcdError.invalidConfiguration(field: "maxResponseBytes", value: "\(configuration.maxResponseBytes)", reason: "must be at least 1024")
        }
        if configuration.username != nil, configuration.password == nil {
            throw EtcdError.invalidConfiguration(field: "password", value: "", reason: "a user name needs a password")
        }
        if (configuration.clientCertificateFile == nil) != (configuration.clientKeyFile == nil) {
            throw EtcdError.invalidConfiguration(field: "clientKeyFile", value: configuration.clientKeyFile ?? "",
                                                 reason: "a client certificate and its key go together")
        }
        self.configuration = configuration
        let httpConfiguration = CurlHTTPConfiguration(
            caFile: configuration.caFile, clientCertificateFile: configuration.clientCertificateFile,
            clientKeyFile: configuration.clientKeyFile, connectTimeout: configuration.connectTimeout,
            silenceTimeout: configuration.requestTimeout, totalTimeout: configuration.requestTimeout,
            maxResponseBytes: configuration.maxResponseBytes, userAgent: configuration.userAgent,
            allowedSchemes: ["http", "https"])
        do {
            http = try CurlHTTPClient(configuration: httpConfiguration)
        } catch {
            throw EtcdError.invalidConfiguration(field: "endpoints", value: endpoints.joined(separator: ","),
                                                 reason: "the HTTP client could not be set up")
        }
    }

    /// The member requests go to first: the one that answered last.
    public var currentEndpoint: String { endpoints[preferred.load(ordering: .relaxed) % endpoints.count] }

    // MARK: - Key-value

    /// Reads the keys of `keys` (`/v3/kv/range`).
    /// - Parameters:
    ///   - revision: read the store as it was at this revision; 0 = now. A compacted revision is refused
    ///     (`EtcdError.rejected`, code 11).
    ///   - limit: at most this many keys (in key order); 0 = all. `more` says whether there were more.
    ///   - keysOnly: leave the values out.
    public func range(_ keys: EtcdKeyRange, revision: Int64 = 0, limit: Int64 = 0, keysOnly: Bool = false) throws -> EtcdRangeResponse {
        let body = encodeBody(RangeRequestBody(keys, revision: revision, limit: limit, keysOnly: keysOnly))
        return try call("/v3/kv/range", body: body) { reader, bytes in
            try reader.range(reader.decode(RangeResponseBody.self, from: bytes, what: "the range answer"))
        }
    }

    /// Writes `value` under `key` (`/v3/kv/put`).
    /// - Parameters:
    ///   - lease: bind the key to this lease (deleted when it expires or is revoked); 0 = none.
    ///   - prevKV: return the key as it was before.
    @discardableResult
    public func put(key: [UInt8], value: [UInt8], lease: Int64 = 0, prevKV: Bool = false) throws -> EtcdPutResponse {
        let body = encodeBody(PutRequestBody(key: key, value: value, lease: lease, prevKV: prevKV))
        return try call("/v3/kv/put", body: body) { reader, bytes in
            try reader.put(reader.decode(PutResponseBody.self, from: bytes, what: "the put answer"))
        }
    }

    /// Deletes the keys of `keys` (`/v3/kv/deleterange`).
    @discardableResult
    public func deleteRange(_ keys: EtcdKeyRange, prevKV: Bool = false) throws -> EtcdDeleteRangeResponse {
        let body = encodeBody(DeleteRangeRequestBody(keys, prevKV: prevKV))
        return try call("/v3/kv/deleterange", body: body) { reader, bytes in
            try reader.deleteRange(reader.decode(DeleteRangeResponseBody.self, from: bytes, what: "the delete answer"))
        }
    }

    /// Runs a transaction (`/v3/kv/txn`): if every comparison in `compare` holds, the `success` operations run,
    /// otherwise the `failure` ones — atomically, at one revision. E.g. create-if-absent:
    /// `txn(compare: [.absent(key)], success: [.put(key: key, value: v, lease: id)], failure: [.range(.key(key))])`.
    public func txn(compare: [EtcdCompare], success: [EtcdRequestOp], failure: [EtcdRequestOp] = []) throws -> EtcdTxnResponse {
        let body = encodeBody(TxnRequestBody(compare: compare.map(CompareBody.init), success: success.map(RequestOpBody.init),
                                             failure: failure.map(RequestOpBody.init)))
        return try call("/v3/kv/txn", body: body) { reader, bytes in
            let answer = try reader.decode(TxnResponseBody.self, from: bytes, what: "the transaction answer")
            return try reader.txn(answer, expected: (answer.succeeded ?? false) ? success : failure)
        }
    }

    /// Compacts the key-value history up to `revision` (`/v3/kv/compaction`): older revisions can no longer be read
    /// or watched from.
    @discardableResult
    public func compact(revision: Int64, physical: Bool = false) throws -> EtcdResponseHeader {
        let body = encodeBody(CompactionRequestBody(revision: WireInt64(revision), physical: physical ? true : nil))
        return try call("/v3/kv/compaction", body: body) { reader, bytes in
            try reader.header(reader.decode(HeaderOnlyResponseBody.self, from: bytes, what: "the compaction answer").header)
        }
    }

    // MARK: - Leases

    /// Creates a lease of `ttl` seconds (`/v3/lease/grant`); `id` 0 lets etcd choose its ID.
    public func leaseGrant(ttl: Int64, id: Int64 = 0) throws -> EtcdLease {
        guard ttl > 0 else { throw EtcdError.invalidConfiguration(field: "ttl", value: "\(ttl)", reason: "a lease lives at least 1 second") }
        let body = encodeBody(LeaseGrantRequestBody(TTL: WireInt64(ttl), ID: id != 0 ? WireInt64(id) : nil))
        return try call("/v3/lease/grant", body: body) { reader, bytes in
            let lease = try reader.lease(reader.decode(LeaseResponseBody.self, from: bytes, what: "the lease grant answer"))
            guard lease.id != 0, lease.ttl > 0 else { throw reader.fault("the lease grant answer has no ID or TTL") }
            return lease
        }
    }

    /// Renews lease `id` for its TTL from now (`/v3/lease/keepalive`); throws `EtcdError.leaseNotFound` when it
    /// expired or was revoked.
    @discardableResult
    public func leaseKeepAlive(id: Int64) throws -> EtcdLease {
        let body = encodeBody(LeaseIDRequestBody(ID: WireInt64(id)))
        let lease = try call("/v3/lease/keepalive", body: body) { reader, bytes in
            let answer = try reader.decode(LeaseKeepAliveResponseBody.self, from: bytes, what: "the keepalive answer")
            guard let result = answer.result else { throw reader.fault("the keepalive answer has no result") }
            return try reader.lease(result)
        }
        // etcd answers a lease it does not know with TTL 0 (or none).
        guard lease.ttl > 0 else { throw EtcdError.leaseNotFound(id: id) }
        return lease
    }

    /// Ends lease `id` now, deleting the keys bound to it (`/v3/lease/revoke`); throws `EtcdError.leaseNotFound` when
    /// it is already gone.
    @discardableResult
    public func leaseRevoke(id: Int64) throws -> EtcdResponseHeader {
        let body = encodeBody(LeaseIDRequestBody(ID: WireInt64(id)))
        do {
            return try call("/v3/lease/revoke", body: body) { reader, bytes in
                try reader.header(reader.decode(HeaderOnlyResponseBody.self, from: bytes, what: "the revoke answer").header)
            }
        } catch EtcdError.rejected(_, 5, let message) where message.contains("lease not found") {
            throw EtcdError.leaseNotFound(id: id)
        }
    }

    // MARK: - Requests, failover, authentication

    /// Why a member was skipped.
    struct Skip: Error {
        let failure: EtcdEndpointFailure
    }

    /// POSTs `body` to `path` on the preferred member, then on the others in turn; `read` checks the 200 answer.
    func call<Answer>(_ path: String, body: [UInt8], read: (WireReader, [UInt8]) throws -> Answer) throws -> Answer {
        let start = preferred.load(ordering: .relaxed)
        var failures: [EtcdEndpointFailure] = []
        for offset in 0..<endpoints.count {
            let index = (start + offset) % endpoints.count
            do {
                let answer = try attempt(endpoints[index], path: path, body: body, read: read)
                preferred.store(index, ordering: .relaxed)
                return answer
            } catch let skip as Skip {
                failures.append(skip.failure)
            }
        }
        throw EtcdError.unreachable(failures)
    }

    /// Makes `index` the member tried first (a watch that reconnected elsewhere says so).
    func prefer(_ endpoint: String) {
        if let index = endpoints.firstIndex(of: endpoint) { preferred.store(index, ordering: .relaxed) }
    }

    /// One member: throws `Skip` to move on to the next, `EtcdError` to stop.
    private func attempt<Answer>(_ endpoint: String, path: String, body: [UInt8], read: (WireReader, [UInt8]) throws -> Answer) throws -> Answer {
        var authenticatedAgain = false
        while true {
            let headers = try requestHeaders(endpoint)
            let response = try post(endpoint, path: path, headers: headers, body: body)
            let reader = WireReader(endpoint: endpoint)
            if response.status == 200 { return try read(reader, response.body) }
            let error = try gatewayError(response.status, response.body, endpoint: endpoint)
            if error.code == 16, configuration.username != nil, !authenticatedAgain {
                // The token expired (or the member restarted and forgot it): once more with a new one.
                forgetToken(headers)
                authenticatedAgain = true
                continue
            }
            throw error.asEtcdError(endpoint: endpoint)
        }
    }

    /// `Content-Type`, and the token when the cluster wants one (authenticating first when there is none yet).
    func requestHeaders(_ endpoint: String) throws -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json")]
        if let token = try currentToken(endpoint) { headers.append(("Authorization", token)) }
        return headers
    }

    /// Forgets the token `headers` carried, unless another request replaced it meanwhile.
    func forgetToken(_ headers: [(name: String, value: String)]) {
        guard let used = headers.first(where: { $0.name == "Authorization" })?.value else { return }
        token.withLock { if $0 == used { $0 = nil } }
    }

    private func currentToken(_ endpoint: String) throws -> String? {
        guard let username = configuration.username else { return nil }
        if let known = token.withLock({ $0 }) { return known }
        let body = encodeBody(AuthenticateRequestBody(name: username, password: configuration.password ?? ""))
        let response = try post(endpoint, path: "/v3/auth/authenticate", headers: [("Content-Type", "application/json")], body: body)
        let reader = WireReader(endpoint: endpoint)
        guard response.status == 200 else {
            let error = try gatewayError(response.status, response.body, endpoint: endpoint)
            if error.code == 14 { throw Skip(failure: EtcdEndpointFailure(endpoint: endpoint, reason: .unavailable(message: cleanedMessage(error.message)))) }
            throw EtcdError.authenticationFailed(endpoint: endpoint, message: cleanedMessage(error.message))
        }
        let answer = try reader.decode(AuthenticateResponseBody.self, from: response.body, what: "the authentication answer")
        guard let fresh = answer.token, !fresh.isEmpty, fresh.utf8.count <= 4096,
              fresh.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw reader.fault("the authentication answer has no usable token")
        }
        token.withLock { $0 = fresh }
        return fresh
    }

    /// The gateway's error answer; a member that cannot serve (UNAVAILABLE, 503) is skipped.
    func gatewayError(_ status: Int, _ body: [UInt8], endpoint: String) throws -> GatewayErrorBody {
        let error = try? JSONDecoder().decode(GatewayErrorBody.self, from: Data(body))
        if error?.code == 14 || (error == nil && (status == 502 || status == 503 || status == 504)) {
            throw Skip(failure: EtcdEndpointFailure(endpoint: endpoint, reason: .unavailable(message: cleanedMessage(error?.message ?? "HTTP status \(status)"))))
        }
        guard let error else {
            throw EtcdError.invalidResponse(endpoint: endpoint, detail: "HTTP status \(status) without etcd's error JSON")
        }
        return error
    }

    /// One POST; transport failures become `Skip` (try the next member), cancellation and oversize answers errors.
    private func post(_ endpoint: String, path: String, headers: [(name: String, value: String)], body: [UInt8]) throws -> CurlResponse {
        do {
            return try http.perform(method: "POST", url: endpoint + path, headers: headers, body: body)
        } catch let error as CurlHTTPError {
            throw Self.translate(error, endpoint: endpoint)
        }
    }

    /// A libcurl failure in etcd's terms: `Skip` for a member that could not serve, `EtcdError` otherwise.
    static func translate(_ error: CurlHTTPError, endpoint: String) -> any Error {
        switch error {
        case .cancelled:
            return EtcdError.cancelled
        case .responseTooLarge(_, let limit):
            return EtcdError.invalidResponse(endpoint: endpoint, detail: "the answer exceeds \(limit) bytes")
        case .schemeNotAllowed, .invalidURL:
            return EtcdError.invalidConfiguration(field: "endpoints", value: endpoint, reason: "not a usable URL")
        case .transport(_, let code, _):
            let reason: EtcdEndpointFailure.Reason
            switch error.failureKind {
            case .connectionFailed: reason = .connectionRefused
            case .timedOut: reason = .timedOut
            case .notResolved: reason = .notResolved
            case .certificateRejected: reason = .certificateRejected
            case .tlsHandshakeFailed: reason = .tlsHandshakeFailed
            case .noAnswer: reason = .connectionLost
            case .other: reason = .transferFailed(code: code)
            }
            return Skip(failure: EtcdEndpointFailure(endpoint: endpoint, reason: reason))
        }
    }
}

extension GatewayErrorBody {
    /// The error as the caller sees it: etcd's code and its message, cleaned.
    func asEtcdError(endpoint: String) -> EtcdError {
        .rejected(endpoint: endpoint, code: code, message: cleanedMessage(message))
    }
}
