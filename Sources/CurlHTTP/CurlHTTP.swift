import CCurl
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

// MARK: - Configuration

/// Fixed settings of a `CurlHTTPClient`, applied to every request.
public struct CurlHTTPConfiguration: Sendable {
    /// PEM bundle to trust instead of the system store (`CURLOPT_CAINFO`); nil = the system store.
    public var caFile: String?
    /// PEM certificate this client presents to servers that ask for one (TLS client authentication,
    /// `CURLOPT_SSLCERT`), e.g. to an etcd member started with `--client-cert-auth`; nil = none.
    public var clientCertificateFile: String?
    /// PEM private key of `clientCertificateFile` (`CURLOPT_SSLKEY`); nil = the key is in the certificate file.
    public var clientKeyFile: String?
    /// Seconds allowed for the connection phase (TCP connect and TLS handshake).
    public var connectTimeout: Double
    /// Seconds a connected server may stay silent (less than one byte per second, either way) before the transfer is
    /// dropped (`CURLOPT_LOW_SPEED_LIMIT`/`_TIME`): a server that accepted the request and never answers costs this
    /// long, not `totalTimeout`. 0 turns the check off.
    public var silenceTimeout: Double
    /// Seconds allowed for the whole transfer.
    public var totalTimeout: Double
    /// Largest response body accepted; a larger one aborts the transfer with `CurlHTTPError.responseTooLarge`.
    public var maxResponseBytes: Int
    /// Sent as `User-Agent` (`CURLOPT_USERAGENT`) unless the request sets its own.
    public var userAgent: String
    /// URL schemes a request may use. Only `http` and `https` can ever be allowed; others are ignored.
    public var allowedSchemes: Set<String>
    /// When set, cancelling it aborts the request in flight (within about a second, whatever the server does) and
    /// refuses every later one with `CurlHTTPError.cancelled`.
    public var cancellation: CurlHTTPCancellation?

    public init(
        caFile: String? = nil,
        clientCertificateFile: String? = nil,
        clientKeyFile: String? = nil,
        connectTimeout: Double = 10,
        silenceTimeout: Double = 30,
        totalTimeout: Double = 60,
        maxResponseBytes: Int = 4 << 20,
        userAgent: String = CurlHTTPConfiguration.defaultUserAgent,
        allowedSchemes: Set<String> = ["https"],
        cancellation: CurlHTTPCancellation? = nil
    ) {
        self.caFile = caFile
        self.clientCertificateFile = clientCertificateFile
        self.clientKeyFile = clientKeyFile
        self.connectTimeout = connectTimeout
        self.silenceTimeout = silenceTimeout
        self.totalTimeout = totalTimeout
        self.maxResponseBytes = maxResponseBytes
        self.userAgent = userAgent
        self.allowedSchemes = allowedSchemes
        self.cancellation = cancellation
    }

    /// `libcurl/<curl version>`; callers put their own product and version first (RFC 9110 §10.1.5), as CertAgent does.
    public static let defaultUserAgent: String = "libcurl/\(curlVersionNumber)"

    /// The linked libcurl's version, e.g. `7.88.1`.
    public static let curlVersionNumber: String = {
        // curl_version() reads "libcurl/7.88.1 OpenSSL/3.0.x ..."; keep the number of the first word.
        let full = String(cString: curl_version())
        let first = full.split(separator: " ").first.map(String.init) ?? full
        if let slash = first.firstIndex(of: "/") {
            return String(first[first.index(after: slash)...])
        }
        return first
    }()

    /// The schemes libcurl may use: `allowedSchemes` restricted to http and https, lowercased.
    var effectiveSchemes: [String] {
        allowedSchemes.map { $0.lowercased() }.filter { $0 == "http" || $0 == "https" }.sorted()
    }
}

/// Settings of one request, beyond those of the client.
public struct CurlRequestOptions: Sendable {
    /// `CURLOPT_CONNECT_TO` entries, `HOST:PORT:CONNECT-TO-HOST:CONNECT-TO-PORT` (an IPv6 address in brackets; an
    /// empty part matches any host or port, or keeps the URL's): the request names the URL's host (`Host`, SNI) but
    /// connects where the first matching entry says — e.g. to one particular address of a name.
    public var connectTo: [String]
    /// Whether an HTTPS server's certificate is verified (`CURLOPT_SSL_VERIFYPEER`/`VERIFYHOST`). Off only to see what
    /// a server answers regardless of its certificate, as an ACME CA does when a challenge redirects to HTTPS.
    public var verifyPeer: Bool

    public init(connectTo: [String] = [], verifyPeer: Bool = true) {
        self.connectTo = connectTo
        self.verifyPeer = verifyPeer
    }
}

// MARK: - Response and errors

/// The final response of one request (interim 1xx responses are dropped).
public struct CurlResponse: Sendable {
    public let status: Int
    /// Every header of the final response, in order, repeats kept, names as received, values trimmed.
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]
    public let effectiveURL: String

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8], effectiveURL: String) {
        self.status = status
        self.headers = headers
        self.body = body
        self.effectiveURL = effectiveURL
    }
}

/// How a streamed request (`CurlHTTPClient.stream`) ended without an error.
public struct CurlStreamEnd: Sendable {
    public let status: Int
    /// Every header of the final response, as in `CurlResponse`.
    public let headers: [(name: String, value: String)]
    public let effectiveURL: String
    /// True when the receiver ended the transfer (returned false); false when the server ended the response.
    public let stoppedByReceiver: Bool
}

public enum CurlHTTPError: Error, Sendable, CustomStringConvertible {
    /// The URL's scheme is not in `allowedSchemes`; nothing was sent.
    case schemeNotAllowed(url: String)
    /// The URL could not be parsed; nothing was sent.
    case invalidURL(String)
    /// libcurl failed: `code` is the `CURLcode`, `message` names the kind of failure and carries libcurl's error text.
    /// An invalid method or header (CR/LF injection) is reported before any I/O with code 43 (`CURLE_BAD_FUNCTION_ARGUMENT`).
    case transport(url: String, code: Int, message: String)
    /// The response body exceeded `maxResponseBytes`; the transfer was aborted.
    case responseTooLarge(url: String, limit: Int)
    /// The configuration's `cancellation` was cancelled: the transfer was aborted, or never started.
    case cancelled(url: String)

    /// True when the server could not be reached or did not answer in time (no connection, a timeout, a silent
    /// server), as opposed to one that answered badly.
    public var isUnreachable: Bool {
        guard case .transport(_, let code, _) = self else { return false }
        return [CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT, CURLE_OPERATION_TIMEDOUT].contains { Int($0.rawValue) == code }
    }

    /// What kind of transport failure this is, for a caller that words it itself.
    public var failureKind: CurlFailureKind {
        guard case .transport(_, let code, _) = self else { return .other }
        switch code {
        case Int(CURLE_COULDNT_CONNECT.rawValue): return .connectionFailed
        case Int(CURLE_OPERATION_TIMEDOUT.rawValue): return .timedOut
        case Int(CURLE_COULDNT_RESOLVE_HOST.rawValue): return .notResolved
        case Int(CURLE_PEER_FAILED_VERIFICATION.rawValue): return .certificateRejected
        case Int(CURLE_SSL_CONNECT_ERROR.rawValue): return .tlsHandshakeFailed
        case Int(CURLE_GOT_NOTHING.rawValue), Int(CURLE_SEND_ERROR.rawValue), Int(CURLE_RECV_ERROR.rawValue),
             // An HTTP/2 connection that broke (e.g. a TLS 1.3 server refusing the client certificate after the handshake).
             Int(CURLE_HTTP2.rawValue), Int(CURLE_HTTP2_STREAM.rawValue):
            return .noAnswer
        default: return .other
        }
    }

    public var description: String {
        switch self {
        case .schemeNotAllowed(let url):
            return "URL scheme not allowed: \(url)"
        case .invalidURL(let url):
            return "invalid URL: \(url)"
        case .transport(let url, let code, let message):
            return "HTTP request to \(url) failed (curl error \(code)): \(message)"
        case .responseTooLarge(let url, let limit):
            return "response from \(url) exceeds the limit of \(limit) bytes"
        case .cancelled(let url):
            return "HTTP request to \(url) cancelled"
        }
    }
}

/// The kinds of transport failure a caller may word differently (see `CurlHTTPError.failureKind`).
public enum CurlFailureKind: Sendable, Equatable {
    /// The TCP connection was refused or could not be made.
    case connectionFailed
    /// The connection or the transfer timed out.
    case timedOut
    /// The host name did not resolve.
    case notResolved
    /// The server's TLS certificate was not trusted or does not match the name.
    case certificateRejected
    /// The TLS handshake failed.
    case tlsHandshakeFailed
    /// The server closed the connection without an answer, or the connection (or its HTTP/2 session) broke.
    case noAnswer
    /// Anything else.
    case other
}

// MARK: - Cancellation

/// Cancels requests: those in flight are aborted through libcurl's transfer-info callback (which libcurl calls about
/// once a second even while it waits for a connection or an answer), later ones are refused before any I/O.
/// Cancelling cannot be undone.
public final class CurlHTTPCancellation: Sendable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    /// Aborts the request in flight (within about a second) and every later one.
    public func cancel() { flag.store(true, ordering: .releasing) }

    /// Whether `cancel()` was called.
    public var isCancelled: Bool { flag.load(ordering: .acquiring) }
}

// MARK: - libcurl plumbing

/// `curl_global_init` exactly once per process (shared with `CurlSMTPClient`; a global `let` is initialized once, thread-safely).
let curlGlobalInitResult: CURLcode = curl_global_init(Int(CURL_GLOBAL_SSL | CURL_GLOBAL_WIN32))

/// Collects the final response's headers and the body of one transfer. Used only on the thread that
/// runs `curl_easy_perform`, for the one handle it holds.
private final class ResponseSink {
    let limit: Int
    var body: [UInt8] = []
    var headers: [(name: String, value: String)] = []
    var exceeded = false
    /// The status of the response being received (from its status line), 0 before one arrived.
    var status = 0
    /// A streamed request's receiver: body bytes go to it as they arrive instead of into `body` (and `limit` does not
    /// apply); it returns false to end the transfer.
    var receiver: ((Int, [UInt8]) -> Bool)?
    var stoppedByReceiver = false

    init(limit: Int) { self.limit = limit }

    func appendBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if let receiver {
            if receiver(status, Array(bytes)) { return true }
            stoppedByReceiver = true
            return false
        }
        if bytes.count > limit - body.count {
            exceeded = true
            return false
        }
        body.append(contentsOf: bytes)
        return true
    }

    func headerLine(_ raw: UnsafeRawBufferPointer) {
        var line = Array(raw)
        while let last = line.last, last == 0x0D || last == 0x0A { line.removeLast() }
        // Every response (1xx, and any other before the final one) starts with its status line: start over.
        if line.starts(with: Array("HTTP/".utf8)) {
            headers.removeAll()
            // "HTTP/1.1 200 OK", "HTTP/2 200": the three digits after the first space.
            if let space = line.firstIndex(of: 0x20), line.count >= space + 4,
               let code = Int(String(decoding: line[(space + 1)..<(space + 4)], as: UTF8.self)) {
                status = code
            }
            return
        }
        if line.isEmpty { return }
        // Obsolete line folding: a continuation line extends the previous value.
        if line[0] == 0x20 || line[0] == 0x09 {
            if let previous = headers.popLast() {
                let more = trim(String(decoding: line, as: UTF8.self))
                let value = previous.value.isEmpty ? more : previous.value + " " + more
                headers.append((name: previous.name, value: value))
            }
            return
        }
        guard let colon = line.firstIndex(of: 0x3A) else { return }
        let name = String(decoding: line[..<colon], as: UTF8.self)
        let value = trim(String(decoding: line[(colon + 1)...], as: UTF8.self))
        headers.append((name: name, value: value))
    }

    private func trim(_ s: String) -> String {
        var sub = Substring(s)
        while let f = sub.first, f == " " || f == "\t" { sub.removeFirst() }
        while let l = sub.last, l == " " || l == "\t" { sub.removeLast() }
        return String(sub)
    }
}

private let bodyCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    data, size, count, context in
    guard let context else { return 0 }
    let total = size * count
    if total == 0 { return 0 }
    guard let data else { return 0 }
    let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
    // Returning anything but `total` makes libcurl abort the transfer with CURLE_WRITE_ERROR.
    return sink.appendBody(UnsafeRawBufferPointer(start: data, count: total)) ? total : 0
}

private let headerCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    data, size, count, context in
    let total = size * count
    guard let context, let data else { return total }
    let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
    sink.headerLine(UnsafeRawBufferPointer(start: data, count: total))
    return total
}

/// libcurl's transfer-info callback (`CURLOPT_XFERINFOFUNCTION`): a non-zero return aborts the transfer with
/// `CURLE_ABORTED_BY_CALLBACK`.
let cancellationCallback: @convention(c) (UnsafeMutableRawPointer?, curl_off_t, curl_off_t, curl_off_t, curl_off_t) -> Int32 = {
    context, _, _, _, _ in
    guard let context else { return 0 }
    return Unmanaged<CurlHTTPCancellation>.fromOpaque(context).takeUnretainedValue().isCancelled ? 1 : 0
}

/// Several cancellations of which any one aborts the transfer: the client's and a streamed request's own.
private final class CancellationSet {
    let members: [CurlHTTPCancellation]
    init(_ members: [CurlHTTPCancellation]) { self.members = members }
    var isCancelled: Bool { members.contains { $0.isCancelled } }
}

private let cancellationSetCallback: @convention(c) (UnsafeMutableRawPointer?, curl_off_t, curl_off_t, curl_off_t, curl_off_t) -> Int32 = {
    context, _, _, _, _ in
    guard let context else { return 0 }
    return Unmanaged<CancellationSet>.fromOpaque(context).takeUnretainedValue().isCancelled ? 1 : 0
}

/// An easy handle and its error buffer, used by one request at a time: taken from the client's pool of idle handles for
/// the request and put back after it. libcurl keeps each handle's connections open between requests.
private struct HandleState: @unchecked Sendable {   // one request at a time: see above
    let handle: UnsafeMutableRawPointer
    let errorBuffer: UnsafeMutablePointer<CChar>

    static func make() throws -> HandleState {
        guard let handle = curl_easy_init() else {
            throw CurlHTTPError.transport(url: "", code: Int(CURLE_FAILED_INIT.rawValue), message: "curl_easy_init failed")
        }
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        return HandleState(handle: handle, errorBuffer: errorBuffer)
    }

    func free() {
        curl_easy_cleanup(handle)
        errorBuffer.deallocate()
    }
}

private let tokenCharacters: Set<UInt8> = Set(Array("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8))

private func isToken(_ s: String) -> Bool {
    !s.isEmpty && s.utf8.allSatisfy { tokenCharacters.contains($0) }
}

// MARK: - Client

/// An HTTP(S) client over reused libcurl easy handles, so that successive requests reuse their connection (no new
/// TCP connection or TLS handshake per request). Concurrent callers run side by side, each on a handle of its own: an
/// idle one from the pool (the most recently used first, whose connection is warm), or a new one when all are busy —
/// so the pool grows to the most requests ever in flight at once, and each handle keeps its connection for the next
/// request. Redirects are never followed: a 3xx is returned as is.
public final class CurlHTTPClient: @unchecked Sendable {
    public let configuration: CurlHTTPConfiguration
    /// Handles not in use right now, the most recently returned last.
    private let idleHandles: Mutex<[HandleState]>
    private let connectionCount = Atomic<Int>(0)
    private let handleCount = Atomic<Int>(0)

    public init(configuration: CurlHTTPConfiguration = .init()) throws {
        let initCode = curlGlobalInitResult
        guard initCode == CURLE_OK else {
            throw CurlHTTPError.transport(url: "", code: Int(initCode.rawValue),
                                          message: "curl_global_init failed: \(String(cString: curl_easy_strerror(initCode)))")
        }
        // The first handle is made now, so a client that cannot make one fails here rather than at its first request.
        let first = try HandleState.make()
        self.configuration = configuration
        self.idleHandles = Mutex([first])
        handleCount.store(1, ordering: .relaxed)
    }

    deinit {
        idleHandles.withLock { handles in
            for handle in handles { handle.free() }
            handles.removeAll()
        }
    }

    /// New connections libcurl opened (`CURLINFO_NUM_CONNECTS`), summed over all requests.
    public var connectionsOpened: Int { connectionCount.load(ordering: .relaxed) }

    /// Easy handles made so far: the most requests that were in flight at once (at least 1).
    public var handlesMade: Int { handleCount.load(ordering: .relaxed) }

    /// Sends one request and returns the final response, whatever its status.
    /// - Parameters:
    ///   - method: `GET`, `HEAD` (no body is read) or `POST`; another token method is sent with `CURLOPT_CUSTOMREQUEST`.
    ///   - headers: request headers in order; an empty value sends the header with no value.
    ///   - body: the request body (copied by libcurl). A body is refused with `GET` and `HEAD`.
    public func perform(
        method: String,
        url: String,
        headers: [(name: String, value: String)] = [],
        body: [UInt8]? = nil,
        options: CurlRequestOptions = CurlRequestOptions()
    ) throws -> CurlResponse {
        let upperMethod = try validate(method: method, url: url, headers: headers, body: body)
        if let cancellation = configuration.cancellation, cancellation.isCancelled { throw CurlHTTPError.cancelled(url: url) }
        let state = try takeHandle()
        defer { idleHandles.withLock { $0.append(state) } }
        let sink = ResponseSink(limit: max(configuration.maxResponseBytes, 0))
        return try perform(on: state, sink: sink, method: upperMethod, url: url, headers: headers, body: body, options: options,
                           totalTimeout: configuration.totalTimeout, silenceTimeout: configuration.silenceTimeout,
                           cancellations: configuration.cancellation.map { [$0] } ?? [])
    }

    /// Sends one request whose response body is delivered as it arrives — a long-lived response such as etcd's watch
    /// stream, one chunk at a time, in order — rather than collected. The request has no total timeout (only the
    /// configuration's connect timeout and the `silenceTimeout` given here apply) and `maxResponseBytes` does not
    /// apply: the receiver bounds what it keeps. It ends when the server ends the response, when `receive` returns
    /// false (`stoppedByReceiver`), or with an error: the connection broke, a timeout, or `cancellation` (or the
    /// configuration's) was cancelled (`CurlHTTPError.cancelled`, within about a second).
    /// - Parameters:
    ///   - silenceTimeout: seconds the server may send nothing before the transfer is dropped; 0 = never.
    ///   - receive: called on the calling thread with the response's status and each chunk of its body, in order.
    public func stream(
        method: String,
        url: String,
        headers: [(name: String, value: String)] = [],
        body: [UInt8]? = nil,
        options: CurlRequestOptions = CurlRequestOptions(),
        silenceTimeout: Double = 0,
        cancellation: CurlHTTPCancellation? = nil,
        receive: (_ status: Int, _ chunk: [UInt8]) -> Bool
    ) throws -> CurlStreamEnd {
        let upperMethod = try validate(method: method, url: url, headers: headers, body: body)
        let cancellations = [configuration.cancellation, cancellation].compactMap { $0 }
        if cancellations.contains(where: { $0.isCancelled }) { throw CurlHTTPError.cancelled(url: url) }
        let state = try takeHandle()
        defer { idleHandles.withLock { $0.append(state) } }
        let sink = ResponseSink(limit: 0)
        return try withoutActuallyEscaping(receive) { receiver in
            sink.receiver = receiver
            defer { sink.receiver = nil }
            let response = try perform(on: state, sink: sink, method: upperMethod, url: url, headers: headers, body: body,
                                       options: options, totalTimeout: 0, silenceTimeout: silenceTimeout,
                                       cancellations: cancellations)
            return CurlStreamEnd(status: response.status, headers: response.headers, effectiveURL: response.effectiveURL,
                                 stoppedByReceiver: sink.stoppedByReceiver)
        }
    }

    /// Checks a request before any I/O; returns the method uppercased.
    private func validate(method: String, url: String, headers: [(name: String, value: String)], body: [UInt8]?) throws -> String {
        try checkURL(url)
        let upperMethod = method.uppercased()
        guard isToken(upperMethod) else {
            throw CurlHTTPError.transport(url: url, code: Int(CURLE_BAD_FUNCTION_ARGUMENT.rawValue),
                                          message: "invalid HTTP method")
        }
        if body != nil && (upperMethod == "GET" || upperMethod == "HEAD") {
            throw CurlHTTPError.transport(url: url, code: Int(CURLE_BAD_FUNCTION_ARGUMENT.rawValue),
                                          message: "a \(upperMethod) request cannot carry a body")
        }
        for header in headers {
            guard isToken(header.name),
                  !header.value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else {
                throw CurlHTTPError.transport(url: url, code: Int(CURLE_BAD_FUNCTION_ARGUMENT.rawValue),
                                              message: "invalid request header \(header.name.debugDescription)")
            }
        }
        return upperMethod
    }

    /// An idle handle (the one used last, whose connection is the warmest), or a new one when every handle is in use.
    private func takeHandle() throws -> HandleState {
        if let idle = idleHandles.withLock({ $0.popLast() }) { return idle }
        let made = try HandleState.make()
        handleCount.add(1, ordering: .relaxed)
        return made
    }

    /// Refuses, before any I/O, a URL libcurl cannot parse or whose scheme is not allowed.
    private func checkURL(_ url: String) throws {
        guard let parsed = curl_url() else { throw CurlHTTPError.invalidURL(url) }
        defer { curl_url_cleanup(parsed) }
        guard curl_url_set(parsed, CURLUPART_URL, url, UInt32(CURLU_NON_SUPPORT_SCHEME)) == CURLUE_OK else {
            throw CurlHTTPError.invalidURL(url)
        }
        var schemePointer: UnsafeMutablePointer<CChar>?
        guard curl_url_get(parsed, CURLUPART_SCHEME, &schemePointer, 0) == CURLUE_OK, let schemePointer else {
            throw CurlHTTPError.invalidURL(url)
        }
        let scheme = String(cString: schemePointer).lowercased()
        curl_free(schemePointer)
        guard configuration.effectiveSchemes.contains(scheme) else {
            throw CurlHTTPError.schemeNotAllowed(url: url)
        }
    }

    /// Runs one request on `state`, a handle no other request uses meanwhile.
    private func perform(
        on state: HandleState,
        sink: ResponseSink,
        method: String,
        url: String,
        headers: [(name: String, value: String)],
        body: [UInt8]?,
        options: CurlRequestOptions,
        totalTimeout: Double,
        silenceTimeout: Double,
        cancellations: [CurlHTTPCancellation]
    ) throws -> CurlResponse {
        let h = state.handle
        // Forget the previous request's options; the connection cache survives the reset.
        curl_easy_reset(h)

        var failure: (option: CURLoption, code: CURLcode)?
        func set(_ option: CURLoption, _ value: Int) {
            let code = certagent_curl_setopt_long(h, option, value)
            if code != CURLE_OK && failure == nil { failure = (option, code) }
        }
        func set(_ option: CURLoption, _ value: String) {
            let code = certagent_curl_setopt_pointer(h, option, value) // string options are copied
            if code != CURLE_OK && failure == nil { failure = (option, code) }
        }
        func setPointer(_ option: CURLoption, _ value: UnsafeRawPointer?) {
            let code = certagent_curl_setopt_pointer(h, option, value)
            if code != CURLE_OK && failure == nil { failure = (option, code) }
        }
        func setOffT(_ option: CURLoption, _ value: Int) {
            let code = certagent_curl_setopt_off_t(h, option, curl_off_t(value))
            if code != CURLE_OK && failure == nil { failure = (option, code) }
        }

        // Fixed options.
        let schemes = configuration.effectiveSchemes.joined(separator: ",")
        set(CURLOPT_URL, url)
        set(CURLOPT_PROTOCOLS_STR, schemes)
        set(CURLOPT_REDIR_PROTOCOLS_STR, schemes)
        set(CURLOPT_FOLLOWLOCATION, 0)
        set(CURLOPT_NOSIGNAL, 1)
        set(CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(configuration.connectTimeout))
        set(CURLOPT_TIMEOUT_MS, Self.milliseconds(totalTimeout))
        // libcurl checks the speed once a second: under 1 byte/s for `silenceTimeout` whole seconds drops the transfer.
        let silence = silenceTimeout
        if silence.isFinite, silence > 0 {
            set(CURLOPT_LOW_SPEED_LIMIT, 1)
            set(CURLOPT_LOW_SPEED_TIME, max(1, Int(min(silence, Double(Int32.max)).rounded(.up))))
        }
        // Kept alive until the transfer ends (see `withExtendedLifetime` below).
        let cancellationSet = CancellationSet(cancellations)
        if !cancellations.isEmpty {
            set(CURLOPT_NOPROGRESS, 0)
            let code = certagent_curl_setopt_xferinfo_callback(h, CURLOPT_XFERINFOFUNCTION, cancellationSetCallback)
            if code != CURLE_OK && failure == nil { failure = (CURLOPT_XFERINFOFUNCTION, code) }
            setPointer(CURLOPT_XFERINFODATA, Unmanaged.passUnretained(cancellationSet).toOpaque())
        } else {
            set(CURLOPT_NOPROGRESS, 1)
        }
        set(CURLOPT_USERAGENT, configuration.userAgent)
        set(CURLOPT_SSL_VERIFYPEER, options.verifyPeer ? 1 : 0)
        set(CURLOPT_SSL_VERIFYHOST, options.verifyPeer ? 2 : 0)
        set(CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2)
        if let caFile = configuration.caFile { set(CURLOPT_CAINFO, caFile) }
        if let certificate = configuration.clientCertificateFile {
            set(CURLOPT_SSLCERT, certificate)
            set(CURLOPT_SSLCERTTYPE, "PEM")
        }
        if let key = configuration.clientKeyFile {
            set(CURLOPT_SSLKEY, key)
            set(CURLOPT_SSLKEYTYPE, "PEM")
        }
        // The size cap is enforced in the write callback only, on bytes actually received:
        // CURLOPT_MAXFILESIZE would also reject a HEAD (or 304) whose Content-Length exceeds it.
        state.errorBuffer[0] = 0
        setPointer(CURLOPT_ERRORBUFFER, UnsafeRawPointer(state.errorBuffer))

        let context = Unmanaged.passUnretained(sink).toOpaque()
        _ = certagent_curl_setopt_write_callback(h, CURLOPT_WRITEFUNCTION, bodyCallback)
        setPointer(CURLOPT_WRITEDATA, context)
        _ = certagent_curl_setopt_write_callback(h, CURLOPT_HEADERFUNCTION, headerCallback)
        setPointer(CURLOPT_HEADERDATA, context)

        // Per-request options.
        switch method {
        case "GET":
            set(CURLOPT_HTTPGET, 1)
        case "HEAD":
            set(CURLOPT_NOBODY, 1)
        default:
            if method != "POST" { set(CURLOPT_CUSTOMREQUEST, method) }
            if method == "POST" || body != nil {
                set(CURLOPT_POST, 1)
                let bytes = body ?? []
                // Size first, then COPYPOSTFIELDS: libcurl copies exactly that many bytes (NULs included).
                setOffT(CURLOPT_POSTFIELDSIZE_LARGE, bytes.count)
                if bytes.isEmpty {
                    set(CURLOPT_COPYPOSTFIELDS, "")
                } else {
                    bytes.withUnsafeBytes { setPointer(CURLOPT_COPYPOSTFIELDS, $0.baseAddress) }
                }
            }
        }

        // Request headers; libcurl's own `Expect: 100-continue` is disabled unless the caller sets Expect.
        var lines = headers.map { $0.value.isEmpty ? "\($0.name);" : "\($0.name): \($0.value)" }
        if !headers.contains(where: { $0.name.lowercased() == "expect" }) { lines.append("Expect:") }
        var list: UnsafeMutablePointer<curl_slist>?
        for line in lines {
            guard let appended = curl_slist_append(list, line) else {
                curl_slist_free_all(list)
                throw CurlHTTPError.transport(url: url, code: Int(CURLE_OUT_OF_MEMORY.rawValue), message: "out of memory")
            }
            list = appended
        }
        defer {
            // Detach the list from the handle before freeing it.
            _ = certagent_curl_setopt_pointer(h, CURLOPT_HTTPHEADER, nil)
            curl_slist_free_all(list)
        }
        setPointer(CURLOPT_HTTPHEADER, UnsafeRawPointer(list))

        // Connect-to entries: a list that must stay alive until the transfer ends, like the headers.
        var connectToList: UnsafeMutablePointer<curl_slist>?
        for entry in options.connectTo {
            guard !entry.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }),
                  let appended = curl_slist_append(connectToList, entry) else {
                curl_slist_free_all(connectToList)
                throw CurlHTTPError.transport(url: url, code: Int(CURLE_BAD_FUNCTION_ARGUMENT.rawValue),
                                              message: "invalid connect-to entry \(entry.debugDescription)")
            }
            connectToList = appended
        }
        defer {
            if connectToList != nil { _ = certagent_curl_setopt_pointer(h, CURLOPT_CONNECT_TO, nil) }
            curl_slist_free_all(connectToList)
        }
        if let connectToList { setPointer(CURLOPT_CONNECT_TO, UnsafeRawPointer(connectToList)) }

        if let failure {
            throw CurlHTTPError.transport(url: url, code: Int(failure.code.rawValue),
                                          message: "setting curl option \(failure.option.rawValue) failed: \(String(cString: curl_easy_strerror(failure.code)))")
        }

        let code = withExtendedLifetime((sink, cancellationSet)) { curl_easy_perform(h) }

        var connects = 0
        if certagent_curl_getinfo_long(h, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK {
            connectionCount.add(connects, ordering: .relaxed)
        }

        if sink.exceeded {
            throw CurlHTTPError.responseTooLarge(url: url, limit: configuration.maxResponseBytes)
        }
        if code == CURLE_ABORTED_BY_CALLBACK { throw CurlHTTPError.cancelled(url: url) }
        guard code == CURLE_OK || (code == CURLE_WRITE_ERROR && sink.stoppedByReceiver) else {
            var detail = state.errorBuffer[0] != 0
                ? String(cString: state.errorBuffer)
                : String(cString: curl_easy_strerror(code))
            // The system's reason for a failed connection ("Connection refused", "No route to host"), which
            // libcurl's own words leave out.
            var osError = 0
            if code == CURLE_COULDNT_CONNECT, certagent_curl_getinfo_long(h, CURLINFO_OS_ERRNO, &osError) == CURLE_OK, osError != 0,
               let reason = strerror(Int32(osError)) {
                let words = String(cString: reason)
                if !detail.contains(words) { detail += " (\(words))" }
            }
            throw CurlHTTPError.transport(url: url, code: Int(code.rawValue), message: "\(Self.kind(of: code)): \(detail)")
        }

        var status = 0
        _ = certagent_curl_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
        var effective: UnsafeMutablePointer<CChar>?
        let effectiveURL: String
        if certagent_curl_getinfo_string(h, CURLINFO_EFFECTIVE_URL, &effective) == CURLE_OK, let effective {
            effectiveURL = String(cString: effective)
        } else {
            effectiveURL = url
        }
        return CurlResponse(status: status, headers: sink.headers, body: sink.body, effectiveURL: effectiveURL)
    }

    static func milliseconds(_ seconds: Double) -> Int {
        guard seconds.isFinite, seconds > 0 else { return 0 }
        let ms = (seconds * 1000).rounded(.up)
        return ms >= Double(Int.max) ? Int.max : max(Int(ms), 1)
    }

    /// A short label saying what kind of failure a curl code is.
    static func kind(of code: CURLcode) -> String {
        switch code {
        case CURLE_OPERATION_TIMEDOUT: return "timed out"
        case CURLE_COULDNT_CONNECT: return "connection failed"
        case CURLE_COULDNT_RESOLVE_HOST: return "host name not resolved"
        case CURLE_PEER_FAILED_VERIFICATION: return "TLS certificate verification failed"
        case CURLE_SSL_CACERT_BADFILE: return "CA file could not be read"
        case CURLE_SSL_CONNECT_ERROR: return "TLS handshake failed"
        case CURLE_UNSUPPORTED_PROTOCOL: return "protocol not allowed or unsupported"
        case CURLE_GOT_NOTHING: return "server sent no response"
        case CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_HTTP2, CURLE_HTTP2_STREAM: return "network error"
        default: return "transfer failed"
        }
    }
}
