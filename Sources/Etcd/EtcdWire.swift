import ByteEncoding
import FoundationEssentials

// The JSON of etcd's v3 gateway (grpc-gateway over etcdserverpb): field names as in the .proto files, int64 and uint64
// as decimal strings, bytes as standard base64, fields at their zero value left out.

// MARK: - Requests

/// An int64 sent as the gateway sends it: a decimal string.
struct WireInt64: Codable, Sendable {
    let value: Int64
    init(_ value: Int64) { self.value = value }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            guard let parsed = Int64(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a 64-bit integer: \(cleanedMessage(text).debugDescription)")
            }
            value = parsed
        } else {
            value = try container.decode(Int64.self)
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(String(value))
    }
}

/// A uint64 of a response header (cluster and member IDs, raft term).
struct WireUInt64: Decodable, Sendable {
    let value: UInt64
    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            guard let parsed = UInt64(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an unsigned 64-bit integer: \(cleanedMessage(text).debugDescription)")
            }
            value = parsed
        } else {
            value = try container.decode(UInt64.self)
        }
    }
}

struct RangeRequestBody: Encodable {
    let key: String
    let range_end: String?
    let limit: WireInt64?
    let revision: WireInt64?
    let keys_only: Bool?
    let count_only: Bool?

    init(_ range: EtcdKeyRange, revision: Int64, limit: Int64, keysOnly: Bool, countOnly: Bool = false) {
        key = Base64.encode(range.key)
        range_end = range.rangeEnd.isEmpty ? nil : Base64.encode(range.rangeEnd)
        self.limit = limit > 0 ? WireInt64(limit) : nil
        self.revision = revision > 0 ? WireInt64(revision) : nil
        keys_only = keysOnly ? true : nil
        count_only = countOnly ? true : nil
    }
}

struct PutRequestBody: Encodable {
    let key: String
    let value: String
    let lease: WireInt64?
    let prev_kv: Bool?

    init(key: [UInt8], value: [UInt8], lease: Int64, prevKV: Bool) {
        self.key = Base64.encode(key)
        self.value = Base64.encode(value)
        self.lease = lease != 0 ? WireInt64(lease) : nil
        prev_kv = prevKV ? true : nil
    }
}

struct DeleteRangeRequestBody: Encodable {
    let key: String
    let range_end: String?
    let prev_kv: Bool?

    init(_ range: EtcdKeyRange, prevKV: Bool) {
        key = Base64.encode(range.key)
        range_end = range.rangeEnd.isEmpty ? nil : Base64.encode(range.rangeEnd)
        prev_kv = prevKV ? true : nil
    }
}

struct CompareBody: Encodable {
    let key: String
    let range_end: String?
    let result: String
    let target: String
    let create_revision: WireInt64?
    let mod_revision: WireInt64?
    let version: WireInt64?
    let value: String?
    let lease: WireInt64?

    init(_ compare: EtcdCompare) {
        key = Base64.encode(compare.key)
        range_end = compare.rangeEnd.isEmpty ? nil : Base64.encode(compare.rangeEnd)
        result = compare.relation.rawValue
        var create: WireInt64?, mod: WireInt64?, version: WireInt64?, value: String?, lease: WireInt64?
        switch compare.target {
        case .createRevision(let r): target = "CREATE"; create = WireInt64(r)
        case .modRevision(let r): target = "MOD"; mod = WireInt64(r)
        case .version(let v): target = "VERSION"; version = WireInt64(v)
        case .value(let bytes): target = "VALUE"; value = Base64.encode(bytes)
        case .lease(let l): target = "LEASE"; lease = WireInt64(l)
        }
        create_revision = create
        mod_revision = mod
        self.version = version
        self.value = value
        self.lease = lease
    }
}

struct RequestOpBody: Encodable {
    let request_range: RangeRequestBody?
    let request_put: PutRequestBody?
    let request_delete_range: DeleteRangeRequestBody?

    init(_ op: EtcdRequestOp) {
        var range: RangeRequestBody?, put: PutRequestBody?, delete: DeleteRangeRequestBody?
        switch op {
        case .range(let keys, let revision, let limit, let keysOnly):
            range = RangeRequestBody(keys, revision: revision, limit: limit, keysOnly: keysOnly)
        case .put(let key, let value, let lease, let prevKV):
            put = PutRequestBody(key: key, value: value, lease: lease, prevKV: prevKV)
        case .deleteRange(let keys, let prevKV):
            delete = DeleteRangeRequestBody(keys, prevKV: prevKV)
        }
        request_range = range
        request_put = put
        request_delete_range = delete
    }
}

struct TxnRequestBody: Encodable {
    let compare: [CompareBody]
    let success: [RequestOpBody]
    let failure: [RequestOpBody]
}

struct LeaseGrantRequestBody: Encodable {
    let TTL: WireInt64
    let ID: WireInt64?
}

struct LeaseIDRequestBody: Encodable {
    let ID: WireInt64
}

struct CompactionRequestBody: Encodable {
    let revision: WireInt64
    let physical: Bool?
}

struct AuthenticateRequestBody: Encodable {
    let name: String
    let password: String
}

struct WatchCreateRequestBody: Encodable {
    struct Create: Encodable {
        let key: String
        let range_end: String?
        let start_revision: WireInt64?
        let prev_kv: Bool?
        let progress_notify: Bool?
    }
    let create_request: Create
}

/// The compact JSON of a request body.
func encodeBody(_ value: some Encodable) -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    // Encoding these plain structs of strings, numbers and booleans cannot fail.
    return (try? Array(encoder.encode(value))) ?? Array("{}".utf8)
}

// MARK: - Responses

struct HeaderBody: Decodable {
    let cluster_id: WireUInt64?
    let member_id: WireUInt64?
    let revision: WireInt64?
    let raft_term: WireUInt64?
}

struct KeyValueBody: Decodable {
    let key: String?
    let value: String?
    let create_revision: WireInt64?
    let mod_revision: WireInt64?
    let version: WireInt64?
    let lease: WireInt64?
}

struct RangeResponseBody: Decodable {
    let header: HeaderBody?
    let kvs: [KeyValueBody]?
    let more: Bool?
    let count: WireInt64?
}

struct PutResponseBody: Decodable {
    let header: HeaderBody?
    let prev_kv: KeyValueBody?
}

struct DeleteRangeResponseBody: Decodable {
    let header: HeaderBody?
    let deleted: WireInt64?
    let prev_kvs: [KeyValueBody]?
}

struct ResponseOpBody: Decodable {
    let response_range: RangeResponseBody?
    let response_put: PutResponseBody?
    let response_delete_range: DeleteRangeResponseBody?
}

struct TxnResponseBody: Decodable {
    let header: HeaderBody?
    let succeeded: Bool?
    let responses: [ResponseOpBody]?
}

struct LeaseResponseBody: Decodable {
    let header: HeaderBody?
    let ID: WireInt64?
    let TTL: WireInt64?
}

/// `/v3/lease/keepalive` wraps its answer (a stream of one, through the gateway) in `result`.
struct LeaseKeepAliveResponseBody: Decodable {
    let result: LeaseResponseBody?
}

struct HeaderOnlyResponseBody: Decodable {
    let header: HeaderBody?
}

struct AuthenticateResponseBody: Decodable {
    let header: HeaderBody?
    let token: String?
}

struct EventBody: Decodable {
    let type: String?
    let kv: KeyValueBody?
    let prev_kv: KeyValueBody?
}

struct WatchResponseBody: Decodable {
    let header: HeaderBody?
    let created: Bool?
    let canceled: Bool?
    let compact_revision: WireInt64?
    let cancel_reason: String?
    let events: [EventBody]?
}

/// One line of the watch stream: a `result`, or an `error`.
struct WatchStreamLine: Decodable {
    let result: WatchResponseBody?
    let error: GatewayErrorBody?
}

/// An error answer of the gateway: `{"error": "...", "message": "...", "code": N}` (unary), or in a stream
/// `{"error": {"grpc_code": N, "message": "...", ...}}`.
struct GatewayErrorBody: Decodable {
    let code: Int
    let message: String

    private enum Keys: String, CodingKey { case error, message, code, grpc_code }

    init(from decoder: any Decoder) throws {
        if let text = try? decoder.singleValueContainer().decode(String.self) {
            code = 2
            message = text
            return
        }
        let container = try decoder.container(keyedBy: Keys.self)
        if let nested = try? container.decode(GatewayErrorBody.self, forKey: .error), !container.contains(.message) {
            self = nested
            return
        }
        code = (try? container.decodeIfPresent(Int.self, forKey: .code)) ?? (try? container.decodeIfPresent(Int.self, forKey: .grpc_code)) ?? 2
        message = (try? container.decodeIfPresent(String.self, forKey: .message))
            ?? (try? container.decodeIfPresent(String.self, forKey: .error)) ?? "unknown error"
    }
}

// MARK: - Checking answers

/// Turns the decoded JSON into the public types, checking every field: base64, signs, presence. Throws a description
/// of the first fault.
struct WireReader {
    let endpoint: String

    func fault(_ detail: String) -> EtcdError { .invalidResponse(endpoint: endpoint, detail: detail) }

    func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], what: String) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw fault("\(what) is not the JSON etcd sends (\(describe(error)))")
        } catch {
            throw fault("\(what) is not JSON")
        }
    }

    private func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let names = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return names.isEmpty ? "at the top" : "at " + names.joined(separator: ".")
        }
        switch error {
        case .typeMismatch(_, let context): return "wrong type \(path(context))"
        case .valueNotFound(_, let context): return "null \(path(context))"
        case .keyNotFound(let key, let context): return "missing \(key.stringValue) \(path(context))"
        case .dataCorrupted(let context): return "malformed \(path(context))"
        @unknown default: return "malformed"
        }
    }

    func bytes(_ text: String?, field: String) throws -> [UInt8] {
        guard let text else { return [] }
        guard let decoded = Base64.decode(text) else { throw fault("\(field) is not standard base64") }
        return decoded
    }

    func nonNegative(_ value: WireInt64?, field: String) throws -> Int64 {
        let number = value?.value ?? 0
        guard number >= 0 else { throw fault("\(field) is negative (\(number))") }
        return number
    }

    func header(_ body: HeaderBody?, required: Bool = true) throws -> EtcdResponseHeader {
        guard let body else {
            if required { throw fault("the answer has no header") }
            return EtcdResponseHeader(revision: 0)
        }
        return EtcdResponseHeader(clusterID: body.cluster_id?.value ?? 0, memberID: body.member_id?.value ?? 0,
                                  revision: try nonNegative(body.revision, field: "header.revision"),
                                  raftTerm: body.raft_term?.value ?? 0)
    }

    func keyValue(_ body: KeyValueBody, field: String) throws -> EtcdKeyValue {
        let key = try bytes(body.key, field: "\(field).key")
        guard !key.isEmpty else { throw fault("\(field).key is missing") }
        return EtcdKeyValue(key: key, value: try bytes(body.value, field: "\(field).value"),
                            createRevision: try nonNegative(body.create_revision, field: "\(field).create_revision"),
                            modRevision: try nonNegative(body.mod_revision, field: "\(field).mod_revision"),
                            version: try nonNegative(body.version, field: "\(field).version"),
                            lease: body.lease?.value ?? 0)
    }

    func range(_ body: RangeResponseBody, headerRequired: Bool = true) throws -> EtcdRangeResponse {
        let kvs = try (body.kvs ?? []).enumerated().map { try keyValue($0.element, field: "kvs[\($0.offset)]") }
        let count = try nonNegative(body.count, field: "count")
        return EtcdRangeResponse(header: try header(body.header, required: headerRequired), kvs: kvs,
                                 more: body.more ?? false, count: count)
    }

    func put(_ body: PutResponseBody, headerRequired: Bool = true) throws -> EtcdPutResponse {
        EtcdPutResponse(header: try header(body.header, required: headerRequired),
                        prevKV: try body.prev_kv.map { try keyValue($0, field: "prev_kv") })
    }

    func deleteRange(_ body: DeleteRangeResponseBody, headerRequired: Bool = true) throws -> EtcdDeleteRangeResponse {
        EtcdDeleteRangeResponse(header: try header(body.header, required: headerRequired),
                                deleted: try nonNegative(body.deleted, field: "deleted"),
                                prevKVs: try (body.prev_kvs ?? []).enumerated().map { try keyValue($0.element, field: "prev_kvs[\($0.offset)]") })
    }

    func txn(_ body: TxnResponseBody, expected: [EtcdRequestOp]) throws -> EtcdTxnResponse {
        let answers = body.responses ?? []
        guard answers.count == expected.count else {
            throw fault("the transaction answered \(answers.count) operations where \(expected.count) ran")
        }
        var responses: [EtcdResponseOp] = []
        for (index, (answer, request)) in zip(answers, expected).enumerated() {
            // Each answer must be of the kind of its request.
            switch request {
            case .range:
                guard let r = answer.response_range else { throw fault("responses[\(index)] is not a range answer") }
                responses.append(.range(try range(r, headerRequired: false)))
            case .put:
                guard let p = answer.response_put else { throw fault("responses[\(index)] is not a put answer") }
                responses.append(.put(try put(p, headerRequired: false)))
            case .deleteRange:
                guard let d = answer.response_delete_range else { throw fault("responses[\(index)] is not a delete answer") }
                responses.append(.deleteRange(try deleteRange(d, headerRequired: false)))
            }
        }
        return EtcdTxnResponse(header: try header(body.header), succeeded: body.succeeded ?? false, responses: responses)
    }

    func lease(_ body: LeaseResponseBody) throws -> EtcdLease {
        EtcdLease(header: try header(body.header), id: body.ID?.value ?? 0, ttl: body.TTL?.value ?? 0)
    }

    func event(_ body: EventBody, index: Int) throws -> EtcdEvent {
        let kind: EtcdEvent.Kind
        switch body.type ?? "PUT" {
        case "PUT": kind = .put
        case "DELETE": kind = .delete
        default: throw fault("events[\(index)].type \(cleanedMessage(body.type ?? "").debugDescription) is neither PUT nor DELETE")
        }
        guard let kv = body.kv else { throw fault("events[\(index)] has no kv") }
        let value = try keyValue(kv, field: "events[\(index)].kv")
        guard value.modRevision > 0 else { throw fault("events[\(index)].kv.mod_revision is missing") }
        return EtcdEvent(kind: kind, kv: value, prevKV: try body.prev_kv.map { try keyValue($0, field: "events[\(index)].prev_kv") })
    }
}
