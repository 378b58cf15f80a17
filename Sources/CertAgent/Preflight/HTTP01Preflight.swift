import ACME
import ByteEncoding
import CertCrypto
import CurlHTTP
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// A check run before a certificate's first order, so a misconfigured site does not cost the CA's failed validations
/// (Let's Encrypt allows 5 per name per hour). Injected into `RenewalService`; tests use a fake.
public protocol CertificatePreflight: Sendable {
    /// Checks every name of `certificate`. `journal`: where probe files are recorded so a crash leaves none behind
    /// (the certificate's challenge journal; nil: none). Throws `PreflightInterrupted` when stopped; the probe files
    /// are removed whatever happens.
    func check(_ certificate: CertificateConfig, journal: String?) throws -> PreflightReport
}

/// One HTTP GET of a probe, as the prober sees the answer.
public struct ProbeAnswer: Sendable, Equatable {
    public let status: Int
    public let body: [UInt8]
    /// The `Location` header, when there is one.
    public let location: String?

    public init(status: Int, body: [UInt8], location: String?) {
        self.status = status
        self.body = body
        self.location = location
    }
}

/// Sends the probes' GET requests (libcurl in production, a fake in tests).
public protocol ProbeTransport: Sendable {
    /// GETs `url`, connecting as `connectTo` says (`HOST:PORT:CONNECT-TO-HOST:CONNECT-TO-PORT` entries); no redirect
    /// is followed. `verifyPeer`: whether an HTTPS certificate is checked. Throws `CurlHTTPError` on transport failure.
    func get(_ url: String, connectTo: [String], verifyPeer: Bool) throws -> ProbeAnswer
}

/// The libcurl transport: a new connection per request (never a connection made for another address).
public struct CurlProbeTransport: ProbeTransport {
    let cancellation: CurlHTTPCancellation?

    public init(cancellation: CurlHTTPCancellation?) { self.cancellation = cancellation }

    public func get(_ url: String, connectTo: [String], verifyPeer: Bool) throws -> ProbeAnswer {
        let client = try CurlHTTPClient(configuration: CurlHTTPConfiguration(
            connectTimeout: 10, silenceTimeout: 10, totalTimeout: 20, maxResponseBytes: 64 << 10,
            userAgent: CurlTransport.userAgent + " (pre-flight check)", allowedSchemes: ["http", "https"], cancellation: cancellation))
        let response = try client.perform(method: "GET", url: url, options: CurlRequestOptions(connectTo: connectTo, verifyPeer: verifyPeer))
        let location = response.headers.last { $0.name.lowercased() == "location" }?.value
        return ProbeAnswer(status: response.status, body: response.body, location: location)
    }
}

/// Issue 9 item 3: for each name, resolve A and AAAA (an IP address entry is its own one address, RFC 8738); for every
/// address, place a probe file (random name, random content) in the name's webroot under `.well-known/acme-challenge/`,
/// fetch `http://<name>/.well-known/acme-challenge/<probe>` (`http://[v6]/…` for an IPv6 entry) from that address,
/// following redirects as Let's Encrypt does (up to 10, to http on port 80 or https on port 443, HTTPS certificates
/// not checked), and compare the body.
public struct HTTP01Preflight: CertificatePreflight {
    /// The port `http://` URLs are fetched from: 80, as the CA does (RFC 8555 §8.3).
    public let port: Int
    let transport: any ProbeTransport
    let resolve: @Sendable (String) throws -> [ResolvedAddress]
    let isStopped: @Sendable () -> Bool

    public init(port: Int = PreflightLimits.standardHTTPPort, transport: any ProbeTransport,
                resolve: @escaping @Sendable (String) throws -> [ResolvedAddress] = { try AddressLookup.addresses(of: $0) },
                isStopped: @escaping @Sendable () -> Bool = { false }) {
        self.port = port
        self.transport = transport
        self.resolve = resolve
        self.isStopped = isStopped
    }

    /// The production check: libcurl aborted by `clock`'s stop, on the port `environment` names (see `probePort`).
    public init(clock: StoppableClock, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.init(port: try Self.probePort(environment: environment), transport: CurlProbeTransport(cancellation: clock.httpCancellation),
                  isStopped: { clock.isStopped })
    }

    /// The environment form of `--skip-preflight` (`1`): for the daemon (a unit's `Environment=`) and test beds whose
    /// names only the CA's own resolver knows.
    public static let skipVariable = "CERTAGENT_SKIP_PREFLIGHT"

    /// The check the commands and the daemon run before a first order: nil when `skip` (`--skip-preflight`) or
    /// `CERTAGENT_SKIP_PREFLIGHT=1` says not to. Throws `PreflightPortError` for a bad `CERTAGENT_HTTP01_PORT`.
    public static func forAgent(clock: StoppableClock, skip: Bool,
                                environment: [String: String] = ProcessInfo.processInfo.environment) throws -> HTTP01Preflight? {
        if skip || environment[skipVariable] == "1" { return nil }
        return try HTTP01Preflight(clock: clock, environment: environment)
    }

    /// The environment variable that moves the probes off port 80, for test CAs that validate HTTP-01 on another port
    /// (Pebble's `httpPort`). Test-only: a real CA always connects to port 80, so a probe on another port would pass
    /// where the CA fails.
    public static let portVariable = "CERTAGENT_HTTP01_PORT"

    /// The probes' port: `CERTAGENT_HTTP01_PORT` when set (1–65535), else 80.
    public static func probePort(environment: [String: String]) throws -> Int {
        guard let text = environment[portVariable], !text.isEmpty else { return PreflightLimits.standardHTTPPort }
        guard let port = Int(text), (1...65535).contains(port) else {
            throw PreflightPortError(value: text)
        }
        return port
    }

    public func check(_ certificate: CertificateConfig, journal: String?) throws -> PreflightReport {
        let solver = WebrootSolver(webroots: certificate.webroots, journal: journal.map { ChallengeJournal(path: $0) })
        var names: [PreflightNameResult] = []
        for name in certificate.domains {
            if isStopped() { throw PreflightInterrupted() }
            names.append(try check(name: name, webroot: certificate.webroots[name], solver: solver))
        }
        return PreflightReport(certificate: certificate.name, names: names, port: port)
    }

    private func check(name: String, webroot: String?, solver: WebrootSolver) throws -> PreflightNameResult {
        guard let webroot else { return PreflightNameResult(name: name, webroot: nil, problem: .noWebroot) }
        let addresses: [ResolvedAddress]
        if let address = IPAddress(name) {
            // An address entry (RFC 8738): the CA connects to it as it is, with no lookup.
            addresses = [ResolvedAddress(family: address.isIPv6 ? .ipv6 : .ipv4, address: address.text)]
        } else {
            do { addresses = try resolve(name) } catch {
                return PreflightNameResult(name: name, webroot: webroot, problem: .lookupFailed("\(error)"))
            }
        }
        guard !addresses.isEmpty else { return PreflightNameResult(name: name, webroot: webroot, problem: .noAddress) }
        var results: [PreflightAddressResult] = []
        for address in addresses {
            if isStopped() { throw PreflightInterrupted() }
            let token = Hex.encode(try SecureRandom.bytes(16))
            let content = Hex.encode(try SecureRandom.bytes(24))
            do {
                try solver.present(domain: name, token: token, keyAuthorization: content)
            } catch {
                return PreflightNameResult(name: name, webroot: webroot, problem: .cannotPlaceProbe("\(error)"))
            }
            defer { solver.cleanUp(domain: name, token: token) }
            results.append(try probe(name: name, address: address, token: token, content: content))
        }
        return PreflightNameResult(name: name, webroot: webroot, addresses: results)
    }

    /// Fetches the probe through `address`, following redirects as the CA would.
    func probe(name: String, address: ResolvedAddress, token: String, content: String) throws -> PreflightAddressResult {
        let host = IPAddress(name)?.urlHost ?? name.lowercased()   // an address entry: http://[::1]/… (RFC 8738 §3)
        let target = address.family == .ipv6 ? "[\(address.address)]" : address.address
        // The name itself always goes to the address under test (port 80 to the probe port); another host a redirect
        // names is resolved as usual, its port 80 also moved to the probe port.
        var connectTo = ["\(host):\(PreflightLimits.standardHTTPPort):\(target):\(port)",
                         "\(host):\(PreflightLimits.standardHTTPSPort):\(target):\(PreflightLimits.standardHTTPSPort)"]
        if port != PreflightLimits.standardHTTPPort {
            connectTo.insert("\(host):\(port):\(target):\(port)", at: 1)
            connectTo.append(":\(PreflightLimits.standardHTTPPort)::\(port)")
        }
        var url = "http://\(host)/.well-known/acme-challenge/\(token)"
        var redirects: [String] = []
        var certificateError: String?
        func result(_ outcome: PreflightOutcome) -> PreflightAddressResult {
            PreflightAddressResult(name: name, address: address, outcome: outcome, redirects: redirects, certificateError: certificateError)
        }
        while true {
            if isStopped() { throw PreflightInterrupted() }
            let isHTTPS = url.lowercased().hasPrefix("https:")
            let answer: ProbeAnswer
            do {
                answer = try transport.get(url, connectTo: connectTo, verifyPeer: isHTTPS)
            } catch let error as CurlHTTPError {
                if case .cancelled = error { throw PreflightInterrupted() }
                if isHTTPS, error.failureKind == .certificateRejected {
                    // The CA does not check a redirect target's certificate: ask again without checking, and say so.
                    certificateError = Self.detail(of: error)
                    do { answer = try transport.get(url, connectTo: connectTo, verifyPeer: false) } catch let error as CurlHTTPError {
                        if case .cancelled = error { throw PreflightInterrupted() }
                        return result(outcome(of: error, url: url))
                    }
                } else {
                    return result(outcome(of: error, url: url))
                }
            }
            if (300...399).contains(answer.status), let location = answer.location {
                guard redirects.count < PreflightLimits.maximumRedirects else {
                    return result(.tooManyRedirects(limit: PreflightLimits.maximumRedirects))
                }
                guard let next = URL(string: location, relativeTo: URL(string: url))?.absoluteURL,
                      let scheme = next.scheme?.lowercased(), let host = next.host, !Self.isIPLiteral(host) else {
                    // Let's Encrypt does not follow a redirect to a bare IP address, and neither does the probe (nor
                    // does it let a site send this host's requests to an internal address by number).
                    return result(.redirectNotFollowed(to: location))
                }
                redirects.append(next.absoluteString)
                let allowedPort = scheme == "http" ? [PreflightLimits.standardHTTPPort, port] : [PreflightLimits.standardHTTPSPort]
                let nextPort = next.port ?? (scheme == "https" ? PreflightLimits.standardHTTPSPort : PreflightLimits.standardHTTPPort)
                guard scheme == "http" || scheme == "https", allowedPort.contains(nextPort) else {
                    redirects.removeLast()
                    return result(.redirectNotFollowed(to: next.absoluteString))
                }
                url = next.absoluteString
                continue
            }
            guard answer.status == 200 else { return result(.status(answer.status)) }
            // The CA trims surrounding whitespace of the key authorization it reads (RFC 8555 §8.3).
            let body = String(decoding: answer.body, as: UTF8.self).trimmingWhitespaceAndNewlines()
            return result(body == content ? .served : .otherContent)
        }
    }

    private func outcome(of error: CurlHTTPError, url: String) -> PreflightOutcome {
        let requestPort = URL(string: url)?.port ?? (url.lowercased().hasPrefix("https:") ? PreflightLimits.standardHTTPSPort : port)
        let detail = Self.detail(of: error)
        switch error.failureKind {
        case .connectionFailed:
            return .cannotConnect(port: requestPort, refused: detail.lowercased().contains("refused"), detail: detail)
        case .timedOut: return .timedOut(port: requestPort)
        case .noAnswer: return .noAnswer(port: requestPort)
        case .tlsHandshakeFailed, .certificateRejected: return .tlsFailed(url: url, detail: detail)
        case .notResolved: return .failed("redirected to \(url), whose host name does not resolve")
        case .other:
            if case .responseTooLarge = error { return .otherContent }
            return .failed(detail)
        }
    }

    /// libcurl's own words for a transport error, without the URL and code CertAgent's description adds.
    static func detail(of error: CurlHTTPError) -> String {
        guard case .transport(_, _, let message) = error else { return "\(error)" }
        return message
    }
}

/// `CERTAGENT_HTTP01_PORT` holds something other than a port number.
public struct PreflightPortError: Error, Sendable, CustomStringConvertible {
    public let value: String
    public var description: String {
        "environment variable \(HTTP01Preflight.portVariable): \(UntrustedText.display(value, limit: 40).debugDescription) is not a port number (1–65535)"
    }
}

extension HTTP01Preflight {
    /// Whether `host` (as a URL gives it, IPv6 with or without brackets) is an IPv4 or IPv6 address, not a name.
    static func isIPLiteral(_ host: String) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        return IPAddress(bare) != nil
    }
}
