import CCurl
#if canImport(Glibc)
import Glibc
#endif

// MARK: - Server

/// Where and how to hand a message to an SMTP server (RFC 5321) for `CurlSMTPClient.send`.
public struct SMTPServer: Sendable {
    /// How the connection is protected. There is no clear-text mode.
    public enum Security: String, Sendable {
        /// `smtp://`: a plain connection upgraded with STARTTLS (RFC 3207) before anything else is sent; a server
        /// that does not offer STARTTLS is refused (`CURLOPT_USE_SSL` = `CURLUSESSL_ALL`). Usually port 587.
        case starttls
        /// `smtps://`: TLS from the first byte ("implicit TLS", RFC 8314 §3.3). Usually port 465.
        case smtps
    }

    /// STARTTLS on a plain connection, or implicit TLS.
    public var security: Security
    /// Host name, IPv4 address, or IPv6 address (without brackets).
    public var host: String
    /// TCP port: usually 587 with STARTTLS, 465 with implicit TLS.
    public var port: Int
    /// Login for SMTP AUTH (RFC 4954), sent only after TLS is up; nil = no AUTH.
    public var username: String?
    /// The password's bytes. `send` copies them into a buffer it wipes after the transfer; they are never logged
    /// and never part of an error.
    public var password: [UInt8]?
    /// PEM bundle to trust instead of the system store (`CURLOPT_CAINFO`); nil = the system store.
    public var caFile: String?
    /// The name announced in EHLO (RFC 5321 §4.1.1.1): this machine's name; nil = the system host name.
    public var clientName: String?
    /// Seconds allowed for the connection phase (TCP connect and TLS handshake).
    public var connectTimeout: Double
    /// Seconds the server may stay silent before the transfer is dropped; 0 turns the check off.
    public var silenceTimeout: Double
    /// Seconds allowed for the whole conversation.
    public var totalTimeout: Double
    /// When set, cancelling it aborts the conversation in flight (within about a second) and refuses later ones.
    public var cancellation: CurlHTTPCancellation?

    /// A server to send through; the timeouts default like `CurlHTTPConfiguration`'s.
    public init(
        security: Security,
        host: String,
        port: Int,
        username: String? = nil,
        password: [UInt8]? = nil,
        caFile: String? = nil,
        clientName: String? = nil,
        connectTimeout: Double = 10,
        silenceTimeout: Double = 30,
        totalTimeout: Double = 60,
        cancellation: CurlHTTPCancellation? = nil
    ) {
        self.security = security
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.caFile = caFile
        self.clientName = clientName
        self.connectTimeout = connectTimeout
        self.silenceTimeout = silenceTimeout
        self.totalTimeout = totalTimeout
        self.cancellation = cancellation
    }

    /// `host:port`, with an IPv6 address in brackets: how the server is named in messages.
    public var endpoint: String { "\(host.contains(":") ? "[\(host)]" : host):\(port)" }

    /// The URL libcurl is given: scheme, endpoint and the EHLO name as its path.
    var url: String {
        "\(security == .smtps ? "smtps" : "smtp")://\(endpoint)/\(clientName ?? Self.systemHostName)"
    }

    /// The system host name when it is a plain DNS name, else `localhost` (what libcurl would send).
    static let systemHostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return isHostName(name) ? name : "localhost"
    }()
}

/// True for a DNS name made of letters, digits, hyphens and dots, or an IP address: nothing that could change
/// the meaning of a URL or of an SMTP command line.
func isHostName(_ text: String) -> Bool {
    guard !text.isEmpty, text.utf8.count <= 253 else { return false }
    return text.utf8.allSatisfy { byte in
        (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
            || byte == 0x2D || byte == 0x2E || byte == 0x3A
    }
}

// MARK: - Errors

/// Why a message was not accepted, in words. Never carries the password; the server's own reply is quoted with
/// every byte outside printable ASCII escaped.
public struct CurlSMTPError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure it was, for callers that react differently (retry later, or tell the admin to fix
    /// the settings).
    public enum Kind: Sendable, Equatable {
        /// A bad argument (address, host, option); nothing was sent.
        case invalidArgument
        /// The cancellation token was cancelled.
        case cancelled
        /// The server could not be reached (no connection, name not resolved).
        case unreachable
        /// The server did not answer in time.
        case timedOut
        /// `smtp://` and the server does not offer STARTTLS: nothing but EHLO and STARTTLS was sent.
        case startTLSNotOffered
        /// The TLS handshake or the server's certificate failed.
        case tlsFailed
        /// The server refused the username or password.
        case authenticationFailed
        /// The server refused the sender address (MAIL FROM).
        case senderRefused
        /// The server refused a recipient (RCPT TO).
        case recipientRefused
        /// The server refused the message itself (DATA or after it).
        case messageRefused
        /// Anything else libcurl reported.
        case other
    }

    /// What kind of failure it was.
    public let kind: Kind
    /// `host:port` of the server.
    public let server: String
    /// What went wrong, in words (with the server's reply where there was one).
    public let detail: String
    /// libcurl's code, when libcurl reported the failure.
    public let curlCode: Int?

    /// An error about `server` (`host:port`) with `detail` in words.
    public init(kind: Kind, server: String, detail: String, curlCode: Int? = nil) {
        self.kind = kind
        self.server = server
        self.detail = detail
        self.curlCode = curlCode
    }

    /// `sending mail via HOST:PORT failed: DETAIL`.
    public var description: String { "sending mail via \(server) failed: \(detail)" }
}

// MARK: - Client

/// Hands messages to an SMTP server through libcurl, one connection per message (mail is rare; nothing is kept
/// between messages, so the password lives in libcurl only for one conversation).
public enum CurlSMTPClient {
    /// Sends one message: connect, TLS (STARTTLS or implicit), EHLO, AUTH when a username is set, MAIL FROM,
    /// RCPT TO for each recipient, DATA.
    ///
    /// - Parameters:
    ///   - message: the RFC 5322 message, CRLF line endings. libcurl does the SMTP dot-stuffing
    ///     (RFC 5321 §4.5.2) and sends the terminating `.`: do not do either yourself.
    ///   - from: the envelope sender, a bare address (no angle brackets).
    ///   - recipients: the envelope recipients, bare addresses. Any refused recipient fails the whole send.
    /// - Throws: `CurlSMTPError`, whose `detail` says in words what happened.
    public static func send(message: [UInt8], from: String, recipients: [String], server: SMTPServer) throws {
        // An invalid host is named quoted, escaped: it may hold anything.
        let endpoint = isHostName(server.host) ? server.endpoint : "\(quoted(server.host)):\(server.port)"
        func invalid(_ detail: String) -> CurlSMTPError {
            CurlSMTPError(kind: .invalidArgument, server: endpoint, detail: detail)
        }
        guard isHostName(server.host) else { throw invalid("the server name \(quoted(server.host)) is not a host name or IP address") }
        guard (1...65_535).contains(server.port) else { throw invalid("the port \(server.port) is not between 1 and 65535") }
        if let name = server.clientName, !isHostName(name) { throw invalid("the EHLO name \(quoted(name)) is not a host name") }
        guard !recipients.isEmpty else { throw invalid("there is no recipient") }
        for address in [from] + recipients where !isEnvelopeAddress(address) {
            throw invalid("\(quoted(address)) is not an e-mail address that can go into an SMTP command")
        }
        if let username = server.username, username.isEmpty || username.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            throw invalid("the username is empty or contains a control character")
        }
        if let password = server.password, password.contains(0) {
            throw invalid("the password contains a NUL byte")
        }
        if let cancellation = server.cancellation, cancellation.isCancelled {
            throw CurlSMTPError(kind: .cancelled, server: endpoint, detail: "cancelled before connecting")
        }
        let initCode = curlGlobalInitResult
        guard initCode == CURLE_OK else {
            throw CurlSMTPError(kind: .other, server: endpoint, detail: "libcurl could not be initialised", curlCode: Int(initCode.rawValue))
        }
        guard let handle = curl_easy_init() else {
            throw CurlSMTPError(kind: .other, server: endpoint, detail: "libcurl could not create a handle", curlCode: Int(CURLE_FAILED_INIT.rawValue))
        }
        // One handle per message: cleaning it up closes the connection and drops libcurl's copy of the password.
        defer { curl_easy_cleanup(handle) }
        return try Conversation(handle: handle, server: server, endpoint: endpoint)
            .run(message: message, from: from, recipients: recipients)
    }

    /// An address libcurl can put between angle brackets in `MAIL FROM:<…>` / `RCPT TO:<…>`: printable ASCII, one
    /// `@`, no spaces, brackets or quotes. (CertAgent validates addresses fully before they get here.)
    static func isEnvelopeAddress(_ address: String) -> Bool {
        let bytes = Array(address.utf8)
        guard (3...254).contains(bytes.count), bytes.filter({ $0 == 0x40 }).count == 1,
              let at = bytes.firstIndex(of: 0x40), at > 0, at < bytes.count - 1 else { return false }
        return bytes.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != 0x3C && $0 != 0x3E && $0 != 0x22 && $0 != 0x5C }
    }
}

/// `text` in double quotes, every byte outside printable ASCII as `\xNN`, at most `limit` bytes of it: for what a
/// server said or a caller passed (SMTP replies are ASCII, RFC 5321 §2.4).
func quoted(_ text: String, limit: Int = 300) -> String {
    var output = "\""
    let bytes = Array(text.utf8)
    for byte in bytes.prefix(limit) {
        switch byte {
        case 0x22, 0x5C: output += "\\" + String(UnicodeScalar(byte))
        case 0x20..<0x7F: output.unicodeScalars.append(UnicodeScalar(byte))
        default:
            let hex = String(byte, radix: 16)
            output += "\\x" + (hex.count == 1 ? "0" + hex : hex)
        }
    }
    output += "\""
    if bytes.count > limit { output += "… (\(bytes.count - limit) more bytes)" }
    return output
}

// MARK: - One conversation

/// The message being uploaded and what was said: touched only on the thread running `curl_easy_perform`.
private final class ConversationLog {
    let message: [UInt8]
    var offset = 0
    /// The last command CertAgent sent, reduced to what is safe to show (`AUTH PLAIN`, `RCPT TO:<a@b>`).
    var lastCommand: String?
    /// The server's last reply line(s) to that command.
    var lastReply: [String] = []
    private var replyComplete = true
    private var quitting = false

    init(message: [UInt8]) { self.message = message }

    func read(into buffer: UnsafeMutableRawPointer, capacity: Int) -> Int {
        let count = min(capacity, message.count - offset)
        guard count > 0 else { return 0 }
        message.withUnsafeBytes { source in
            buffer.copyMemory(from: source.baseAddress! + offset, byteCount: count)
        }
        offset += count
        return count
    }

    /// A command line CertAgent sent. Only known verbs are kept, and of AUTH only the mechanism: the lines after
    /// `AUTH` carry the credentials (base64) and must never be kept.
    func sent(_ raw: UnsafeRawBufferPointer) {
        let line = String(decoding: raw, as: UTF8.self).trimmingSuffix()
        let upper = line.uppercased()
        // libcurl says QUIT when it closes the connection after a failure: keep what led to the failure.
        if upper == "QUIT" {
            quitting = true
            return
        }
        if upper.hasPrefix("MAIL FROM:") || upper.hasPrefix("RCPT TO:") {
            lastCommand = line
        } else if upper.hasPrefix("AUTH ") {
            let mechanism = upper.dropFirst(5).prefix { $0 != " " }
            lastCommand = "AUTH " + mechanism.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
        } else if ["EHLO", "HELO", "STARTTLS", "DATA"].contains(where: { upper == $0 || upper.hasPrefix($0 + " ") }) {
            lastCommand = String(upper.prefix { $0 != " " })
        } else {
            return
        }
        replyComplete = true
        lastReply = []
    }

    /// A reply line from the server (`250-…` continues, `250 …` ends a reply, RFC 5321 §4.2.1).
    func received(_ raw: UnsafeRawBufferPointer) {
        guard !quitting else { return }
        let line = String(decoding: raw, as: UTF8.self).trimmingSuffix()
        if replyComplete { lastReply = [] }
        if lastReply.count < 8 { lastReply.append(line) }
        let bytes = Array(line.utf8)
        replyComplete = !(bytes.count > 3 && bytes[3] == 0x2D)
    }

    /// The last reply, quoted and escaped, e.g. `"550 5.1.1 <x@y>: mailbox unavailable"`.
    var replyText: String? {
        lastReply.isEmpty ? nil : quoted(lastReply.joined(separator: " "))
    }
}

private extension String {
    func trimmingSuffix() -> String {
        var text = Substring(self)
        while let last = text.last, last == "\r" || last == "\n" || last == "\r\n" { text.removeLast() }
        return String(text)
    }
}

private let uploadCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    buffer, size, count, context in
    guard let buffer, let context else { return 0 }
    let log = Unmanaged<ConversationLog>.fromOpaque(context).takeUnretainedValue()
    return log.read(into: UnsafeMutableRawPointer(buffer), capacity: size * count)
}

/// libcurl's debug callback: protocol lines in (`CURLINFO_HEADER_IN`) and out (`CURLINFO_HEADER_OUT`); data and
/// libcurl's own text are ignored.
private let protocolCallback: @convention(c) (UnsafeMutableRawPointer?, curl_infotype, UnsafeMutablePointer<CChar>?, Int, UnsafeMutableRawPointer?) -> Int32 = {
    _, type, data, size, context in
    guard let data, let context else { return 0 }
    let log = Unmanaged<ConversationLog>.fromOpaque(context).takeUnretainedValue()
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    switch type {
    case CURLINFO_HEADER_IN: log.received(bytes)
    case CURLINFO_HEADER_OUT: log.sent(bytes)
    default: break
    }
    return 0
}

private struct Conversation {
    let handle: UnsafeMutableRawPointer
    let server: SMTPServer
    let endpoint: String

    func run(message: [UInt8], from: String, recipients: [String]) throws {
        let h = handle
        var failure: CURLcode?
        func set(_ option: CURLoption, _ value: Int) {
            let code = certagent_curl_setopt_long(h, option, value)
            if code != CURLE_OK && failure == nil { failure = code }
        }
        func set(_ option: CURLoption, _ value: String) {
            let code = certagent_curl_setopt_pointer(h, option, value) // string options are copied
            if code != CURLE_OK && failure == nil { failure = code }
        }
        func setPointer(_ option: CURLoption, _ value: UnsafeRawPointer?) {
            let code = certagent_curl_setopt_pointer(h, option, value)
            if code != CURLE_OK && failure == nil { failure = code }
        }

        let scheme = server.security == .smtps ? "smtps" : "smtp"
        set(CURLOPT_URL, server.url)
        // This handle speaks exactly the one mail protocol asked for; HTTP handles stay restricted to http/https.
        set(CURLOPT_PROTOCOLS_STR, scheme)
        set(CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue))
        set(CURLOPT_SSL_VERIFYPEER, 1)
        set(CURLOPT_SSL_VERIFYHOST, 2)
        set(CURLOPT_SSLVERSION, Int(CURL_SSLVERSION_TLSv1_2))
        if let caFile = server.caFile { set(CURLOPT_CAINFO, caFile) }
        set(CURLOPT_NOSIGNAL, 1)
        set(CURLOPT_CONNECTTIMEOUT_MS, CurlHTTPClient.milliseconds(server.connectTimeout))
        set(CURLOPT_TIMEOUT_MS, CurlHTTPClient.milliseconds(server.totalTimeout))
        let silence = server.silenceTimeout
        if silence.isFinite, silence > 0 {
            set(CURLOPT_LOW_SPEED_LIMIT, 1)
            set(CURLOPT_LOW_SPEED_TIME, max(1, Int(min(silence, Double(Int32.max)).rounded(.up))))
        }
        if let cancellation = server.cancellation {
            // The token outlives the transfer: `server` holds it.
            set(CURLOPT_NOPROGRESS, 0)
            let code = certagent_curl_setopt_xferinfo_callback(h, CURLOPT_XFERINFOFUNCTION, cancellationCallback)
            if code != CURLE_OK && failure == nil { failure = code }
            setPointer(CURLOPT_XFERINFODATA, Unmanaged.passUnretained(cancellation).toOpaque())
        } else {
            set(CURLOPT_NOPROGRESS, 1)
        }

        let log = ConversationLog(message: message)
        let context = Unmanaged.passUnretained(log).toOpaque()
        // The debug callback sees the protocol lines; with it set, libcurl writes nothing to stderr.
        set(CURLOPT_VERBOSE, 1)
        let debugCode = certagent_curl_setopt_debug_callback(h, CURLOPT_DEBUGFUNCTION, protocolCallback)
        if debugCode != CURLE_OK && failure == nil { failure = debugCode }
        setPointer(CURLOPT_DEBUGDATA, context)
        set(CURLOPT_UPLOAD, 1)
        let readCode = certagent_curl_setopt_write_callback(h, CURLOPT_READFUNCTION, uploadCallback)
        if readCode != CURLE_OK && failure == nil { failure = readCode }
        setPointer(CURLOPT_READDATA, context)

        set(CURLOPT_MAIL_FROM, "<\(from)>")
        var list: UnsafeMutablePointer<curl_slist>?
        defer {
            _ = certagent_curl_setopt_pointer(h, CURLOPT_MAIL_RCPT, nil)
            curl_slist_free_all(list)
        }
        for recipient in recipients {
            guard let appended = curl_slist_append(list, "<\(recipient)>") else {
                throw CurlSMTPError(kind: .other, server: endpoint, detail: "out of memory", curlCode: Int(CURLE_OUT_OF_MEMORY.rawValue))
            }
            list = appended
        }
        setPointer(CURLOPT_MAIL_RCPT, UnsafeRawPointer(list))

        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        defer { errorBuffer.deallocate() }
        setPointer(CURLOPT_ERRORBUFFER, UnsafeRawPointer(errorBuffer))

        if let username = server.username { set(CURLOPT_USERNAME, username) }
        // The password goes to libcurl from a NUL-terminated copy wiped right after libcurl copied it.
        if let password = server.password {
            var terminated = password + [0]
            terminated.withUnsafeBytes { setPointer(CURLOPT_PASSWORD, $0.baseAddress) }
            terminated.withUnsafeMutableBytes { if let base = $0.baseAddress { explicit_bzero(base, $0.count) } }
        }
        if let failure {
            throw CurlSMTPError(kind: .other, server: endpoint,
                                detail: "libcurl refused an option: \(String(cString: curl_easy_strerror(failure)))",
                                curlCode: Int(failure.rawValue))
        }

        // libcurl keeps its own copy of the password until `curl_easy_cleanup` (one conversation).
        let code = withExtendedLifetime(log) { curl_easy_perform(h) }
        guard code != CURLE_OK else { return }
        let libcurlText = errorBuffer[0] != 0 ? String(cString: errorBuffer) : String(cString: curl_easy_strerror(code))
        throw classify(code, log: log, libcurlText: libcurlText)
    }

    /// The failure in words, from libcurl's code, the last command sent and the server's last reply.
    private func classify(_ code: CURLcode, log: ConversationLog, libcurlText: String) -> CurlSMTPError {
        let reply = log.replyText
        let replied = reply.map { "; the server replied \($0)" } ?? ""
        let command = log.lastCommand ?? ""
        func error(_ kind: CurlSMTPError.Kind, _ detail: String) -> CurlSMTPError {
            CurlSMTPError(kind: kind, server: endpoint, detail: detail, curlCode: Int(code.rawValue))
        }
        switch code {
        case CURLE_ABORTED_BY_CALLBACK:
            return error(.cancelled, "cancelled")
        case CURLE_COULDNT_RESOLVE_HOST:
            return error(.unreachable, "the host name \(server.host) could not be resolved")
        case CURLE_COULDNT_CONNECT:
            return error(.unreachable, "could not connect (connection refused or host unreachable)")
        case CURLE_OPERATION_TIMEDOUT:
            return error(.timedOut, "the server did not answer in time\(command.isEmpty ? "" : " (after \(command))")")
        case CURLE_USE_SSL_FAILED:
            let what = server.password == nil ? "the message" : "the password"
            // When the server's EHLO did not list STARTTLS, libcurl asks nothing further: its reply to EHLO says nothing.
            return error(.startTLSNotOffered, "the server does not offer STARTTLS; refusing to send \(what) in clear\(command == "STARTTLS" ? replied : "")")
        case CURLE_PEER_FAILED_VERIFICATION:
            return error(.tlsFailed, "the server's TLS certificate was not accepted: \(quoted(libcurlText))")
        case CURLE_SSL_CONNECT_ERROR:
            return error(.tlsFailed, "the TLS handshake failed: \(quoted(libcurlText))")
        case CURLE_SSL_CACERT_BADFILE:
            return error(.tlsFailed, "the CA file \(server.caFile.map { quoted($0) } ?? "") could not be read")
        case CURLE_LOGIN_DENIED:
            return error(.authenticationFailed, "the server refused the username or password\(replied)")
        default:
            break
        }
        let upper = command.uppercased()
        if upper.hasPrefix("AUTH") {
            return error(.authenticationFailed, "the server refused the login (\(command))\(replied)")
        }
        if upper.hasPrefix("MAIL FROM:") {
            return error(.senderRefused, "the server refused the sender \(command.dropFirst(10))\(replied)")
        }
        if upper.hasPrefix("RCPT TO:") {
            return error(.recipientRefused, "the server refused the recipient \(command.dropFirst(8))\(replied)")
        }
        if upper == "DATA", let first = log.lastReply.first, first.hasPrefix("4") || first.hasPrefix("5") {
            return error(.messageRefused, "the server refused the message\(replied)")
        }
        if upper == "EHLO" || upper == "HELO" || upper == "STARTTLS", reply != nil {
            return error(.other, "the server refused \(upper)\(replied)")
        }
        let after = command.isEmpty ? "" : " after \(command)"
        return error(.other, "\(CurlHTTPClient.kind(of: code))\(after): \(quoted(libcurlText))\(replied)")
    }
}
