import ACME
import FoundationEssentials

/// What one address of a name answered when asked for the probe file, as the CA would ask for the challenge file.
public enum PreflightOutcome: Sendable, Equatable {
    /// It served the probe file's content.
    case served
    /// It answered with another HTTP status (404: the server block does not serve the webroot).
    case status(Int)
    /// It answered 200 with other content (another site's directory, or a catch-all page).
    case otherContent
    /// The TCP connection was refused (`refused` true) or could not be made (`detail` says why).
    case cannotConnect(port: Int, refused: Bool, detail: String)
    /// No answer in time.
    case timedOut(port: Int)
    /// The server closed the connection without an answer.
    case noAnswer(port: Int)
    /// It redirected where the CA does not follow (another scheme, or a port other than 80 and 443).
    case redirectNotFollowed(to: String)
    /// More redirects than the CA follows.
    case tooManyRedirects(limit: Int)
    /// An HTTPS redirect target whose TLS handshake failed (even without checking its certificate).
    case tlsFailed(url: String, detail: String)
    /// Anything else that went wrong with the request.
    case failed(String)
}

/// The probe of one address of one name.
public struct PreflightAddressResult: Sendable, Equatable {
    public let name: String
    public let address: ResolvedAddress
    public let outcome: PreflightOutcome
    /// The redirects followed, in order (absolute URLs).
    public let redirects: [String]
    /// An HTTPS redirect target whose certificate is not valid for it (the CA does not check it, so not a failure).
    public let certificateError: String?

    public init(name: String, address: ResolvedAddress, outcome: PreflightOutcome, redirects: [String] = [], certificateError: String? = nil) {
        self.name = name
        self.address = address
        self.outcome = outcome
        self.redirects = redirects
        self.certificateError = certificateError
    }

    public var passed: Bool { outcome == .served }
}

/// The pre-flight check of one name.
public struct PreflightNameResult: Sendable, Equatable {
    public enum Problem: Sendable, Equatable {
        /// Neither an A nor an AAAA record.
        case noAddress
        /// The lookup itself failed (not "no such record").
        case lookupFailed(String)
        /// The config names no webroot for it.
        case noWebroot
        /// The probe file could not be written.
        case cannotPlaceProbe(String)
    }

    public let name: String
    public let webroot: String?
    public let problem: Problem?
    public let addresses: [PreflightAddressResult]

    public init(name: String, webroot: String?, problem: Problem? = nil, addresses: [PreflightAddressResult] = []) {
        self.name = name
        self.webroot = webroot
        self.problem = problem
        self.addresses = addresses
    }

    public var passed: Bool { problem == nil && !addresses.isEmpty && addresses.allSatisfy(\.passed) }
}

/// The pre-flight check of one certificate: every name, every address.
public struct PreflightReport: Sendable, Equatable {
    public let certificate: String
    public let names: [PreflightNameResult]
    /// The port the probes connected to (80, as the CA does, unless the test-only `CERTAGENT_HTTP01_PORT` says).
    public let port: Int

    public init(certificate: String, names: [PreflightNameResult], port: Int = 80) {
        self.certificate = certificate
        self.names = names
        self.port = port
    }

    public var passed: Bool { names.allSatisfy(\.passed) }

    /// One line per address (or per name without addresses), each starting with ✓ or ✗.
    public var lines: [String] {
        names.flatMap { name -> [String] in
            if let problem = name.problem { return ["✗ " + Self.describe(problem, of: name)] }
            return name.addresses.map { ($0.passed ? "✓ " : "✗ ") + Self.describe($0, webroot: name.webroot) }
        }
    }

    /// The lines of what failed only.
    public var failureLines: [String] { lines.filter { $0.hasPrefix("✗ ") }.map { String($0.dropFirst(2)) } }

    static func describe(_ problem: PreflightNameResult.Problem, of name: PreflightNameResult) -> String {
        let shown = UntrustedText.display(name.name, limit: 300)
        switch problem {
        case .noAddress:
            return "\(shown): no A or AAAA record — the CA cannot reach it; publish the name in DNS first"
        case .lookupFailed(let reason):
            return "\(shown): DNS lookup failed: \(reason)"
        case .noWebroot:
            return "\(shown): no webroot is configured for it"
        case .cannotPlaceProbe(let reason):
            return "\(shown): cannot place the probe file: \(reason)"
        }
    }

    /// "www.example.com AAAA 2001:db8::5 answered 404 — the IPv6 server block does not serve /var/www/example".
    static func describe(_ result: PreflightAddressResult, webroot: String?) -> String {
        let family = result.address.family
        // An IP address entry (RFC 8738) is its own address: no record was looked up.
        let isAddressEntry = result.name == result.address.address
        let head = isAddressEntry ? "\(result.name) (\(family.label))"
            : "\(UntrustedText.display(result.name, limit: 300)) \(family.rawValue) \(result.address.address)"
        let root = webroot ?? "the webroot"
        var text: String
        switch result.outcome {
        case .served:
            text = "\(head) served the probe file from \(root)"
        case .status(404) where isAddressEntry:
            text = "\(head) answered 404 — the server block answering requests for the address itself (the default one) does not serve \(root)"
        case .status(404):
            text = "\(head) answered 404 — the \(family.label) server block does not serve \(root)"
        case .status(let status):
            text = "\(head) answered \(status) instead of the probe file from \(root)"
        case .otherContent:
            text = "\(head) answered 200 with other content — the \(family.label) server block serves another directory than \(root)"
        case .cannotConnect(let port, let refused, let detail):
            text = refused ? "\(head): port \(port) refused the connection — no web server listens there on \(family.label), or a firewall rejects it"
                           : "\(head): cannot connect to port \(port): \(UntrustedText.display(detail, limit: 200))"
        case .timedOut(let port):
            text = "\(head): port \(port) timed out — a firewall may drop the connection"
        case .noAnswer(let port):
            text = "\(head): port \(port) closed the connection without an answer"
        case .redirectNotFollowed(let url):
            text = "\(head) redirected to \(UntrustedText.display(url, limit: 300)), which the CA does not follow (only http on port 80 and https on port 443)"
        case .tooManyRedirects(let limit):
            text = "\(head) redirected more than \(limit) times, more than the CA follows"
        case .tlsFailed(let url, let detail):
            text = "\(head) redirected to \(UntrustedText.display(url, limit: 300)), whose TLS handshake failed: \(UntrustedText.display(detail, limit: 200))"
        case .failed(let detail):
            text = "\(head): \(UntrustedText.display(detail, limit: 300))"
        }
        if !result.redirects.isEmpty, result.outcome != .tooManyRedirects(limit: PreflightLimits.maximumRedirects) {
            text += " (after redirects to \(result.redirects.map { UntrustedText.display($0, limit: 200) }.joined(separator: " → ")))"
        }
        if let certificateError = result.certificateError {
            text += "; redirected to https with a certificate error (\(UntrustedText.display(certificateError, limit: 200))), which Let's Encrypt accepts: it does not check certificates on a redirect"
        }
        return text
    }
}

/// Limits the probes share with the CA's validation (Let's Encrypt's, RFC 8555 §8.3).
public enum PreflightLimits {
    /// Redirects the CA follows.
    public static let maximumRedirects = 10
    /// The port the CA fetches `http://` challenge URLs from.
    public static let standardHTTPPort = 80
    /// The port the CA fetches `https://` redirect targets from.
    public static let standardHTTPSPort = 443
}

/// A certificate whose pre-flight check failed: nothing was ordered.
public struct PreflightFailure: Error, Sendable, CustomStringConvertible {
    public let report: PreflightReport

    public init(report: PreflightReport) { self.report = report }

    public var description: String {
        "pre-flight check failed, nothing was ordered (this spares the CA's limit of 5 failed validations per name per hour; "
            + "--skip-preflight orders anyway):\n  " + report.failureLines.joined(separator: "\n  ")
    }
}

/// The pre-flight check was cut short by a stop (Ctrl-C, SIGTERM); its probe files are removed.
public struct PreflightInterrupted: Error, Sendable, CustomStringConvertible {
    public init() {}
    public var description: String { "pre-flight check interrupted" }
}
