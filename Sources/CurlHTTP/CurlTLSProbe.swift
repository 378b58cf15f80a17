import CCurl

/// Fetches the certificate chain a TLS server presents, without trusting it: a TLS handshake only (no HTTP request,
/// `CURLOPT_CONNECT_ONLY`), peer and host verification off for this probe alone, the chain read with
/// `CURLOPT_CERTINFO`. For comparing what a site serves with what it should serve — never for sending data.
/// Each probe uses a fresh connection, so a cached connection never answers for a reloaded server.
public enum CurlTLSProbe {
    /// The chain `host` presents with SNI = `host`, as PEM blocks, leaf first (possibly empty when the server sent
    /// none). `connectTo` sends the connection to another address (`CURLOPT_CONNECT_TO`: a proxy, a test server)
    /// while SNI stays `host`; its host is a name, an IPv4 address or a bracketed IPv6 address (`[::1]`).
    /// Throws `CurlHTTPError` (`.transport` with the curl code, `.cancelled`) when no handshake completed.
    public static func servedChain(host: String, port: Int = 443, connectTo: (host: String, port: Int)? = nil,
                                   timeout: Double = 10, cancellation: CurlHTTPCancellation? = nil) throws -> [String] {
        let url = "https://\(host):\(port)/"
        guard curlGlobalInitResult == CURLE_OK, let h = curl_easy_init() else {
            throw CurlHTTPError.transport(url: url, code: Int(CURLE_FAILED_INIT.rawValue), message: "curl_easy_init failed")
        }
        defer { curl_easy_cleanup(h) }
        if let cancellation, cancellation.isCancelled { throw CurlHTTPError.cancelled(url: url) }
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        defer { errorBuffer.deallocate() }

        var failure: CURLcode?
        func set(_ option: CURLoption, _ value: Int) {
            let code = certagent_curl_setopt_long(h, option, value)
            if code != CURLE_OK && failure == nil { failure = code }
        }
        func set(_ option: CURLoption, _ value: UnsafeRawPointer?) {
            let code = certagent_curl_setopt_pointer(h, option, value)
            if code != CURLE_OK && failure == nil { failure = code }
        }
        var connectList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(connectList) }
        let ms = Int((max(timeout, 0.001) * 1000).rounded(.up))
        url.withCString { set(CURLOPT_URL, $0) }
        "https".withCString { set(CURLOPT_PROTOCOLS_STR, $0) }
        set(CURLOPT_CONNECT_ONLY, 1)
        set(CURLOPT_CERTINFO, 1)
        // Not trusted on purpose: the caller compares the served leaf with its own; the chain may be anything.
        set(CURLOPT_SSL_VERIFYPEER, 0)
        set(CURLOPT_SSL_VERIFYHOST, 0)
        set(CURLOPT_NOSIGNAL, 1)
        set(CURLOPT_FRESH_CONNECT, 1)
        set(CURLOPT_FORBID_REUSE, 1)
        set(CURLOPT_CONNECTTIMEOUT_MS, ms)
        set(CURLOPT_TIMEOUT_MS, ms)
        if let connectTo {
            connectList = curl_slist_append(nil, "\(host):\(port):\(connectTo.host):\(connectTo.port)")
            set(CURLOPT_CONNECT_TO, UnsafeRawPointer(connectList))
        }
        if let cancellation {
            set(CURLOPT_NOPROGRESS, 0)
            let code = certagent_curl_setopt_xferinfo_callback(h, CURLOPT_XFERINFOFUNCTION, probeCancellationCallback)
            if code != CURLE_OK && failure == nil { failure = code }
            set(CURLOPT_XFERINFODATA, UnsafeRawPointer(Unmanaged.passUnretained(cancellation).toOpaque()))
        }
        set(CURLOPT_ERRORBUFFER, UnsafeRawPointer(errorBuffer))
        if let failure {
            throw CurlHTTPError.transport(url: url, code: Int(failure.rawValue),
                                          message: "setting a curl option failed: \(String(cString: curl_easy_strerror(failure)))")
        }
        let code = withExtendedLifetime(cancellation) { curl_easy_perform(h) }
        if code == CURLE_ABORTED_BY_CALLBACK { throw CurlHTTPError.cancelled(url: url) }
        guard code == CURLE_OK else {
            let detail = errorBuffer[0] != 0 ? String(cString: errorBuffer) : String(cString: curl_easy_strerror(code))
            throw CurlHTTPError.transport(url: url, code: Int(code.rawValue), message: "\(CurlHTTPClient.kind(of: code)): \(detail)")
        }
        var info: UnsafeMutablePointer<curl_certinfo>?
        guard certagent_curl_getinfo_certinfo(h, CURLINFO_CERTINFO, &info) == CURLE_OK, let info else { return [] }
        var chain: [String] = []
        for index in 0..<Int(info.pointee.num_of_certs) {
            var item = info.pointee.certinfo?[index]
            while let entry = item {
                if let data = entry.pointee.data {
                    let line = String(cString: data)
                    if line.hasPrefix("Cert:") { chain.append(String(line.dropFirst(5))) }
                }
                item = entry.pointee.next
            }
        }
        return chain
    }

    /// The curl codes that mean the server could not be reached at all (as opposed to a failed handshake).
    public static func isConnectionRefused(_ code: Int) -> Bool { code == Int(CURLE_COULDNT_CONNECT.rawValue) }
    /// The curl code of a timeout.
    public static func isTimeout(_ code: Int) -> Bool { code == Int(CURLE_OPERATION_TIMEDOUT.rawValue) }
    /// The curl codes of a connection that was made but whose TLS handshake did not complete (a server that does not
    /// speak TLS there, closed the connection, or offered nothing acceptable). With `CONNECT_ONLY` nothing but the
    /// handshake follows the TCP connection, so a send or receive error is the handshake's too.
    public static func isHandshakeFailure(_ code: Int) -> Bool {
        [CURLE_SSL_CONNECT_ERROR, CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_SSL_CIPHER,
         CURLE_SSL_CERTPROBLEM, CURLE_PEER_FAILED_VERIFICATION].contains { Int($0.rawValue) == code }
    }
    /// The curl code of an unresolvable name.
    public static func isUnresolved(_ code: Int) -> Bool { code == Int(CURLE_COULDNT_RESOLVE_HOST.rawValue) }
}

private let probeCancellationCallback: @convention(c) (UnsafeMutableRawPointer?, curl_off_t, curl_off_t, curl_off_t, curl_off_t) -> Int32 = {
    context, _, _, _, _ in
    guard let context else { return 0 }
    return Unmanaged<CurlHTTPCancellation>.fromOpaque(context).takeUnretainedValue().isCancelled ? 1 : 0
}
