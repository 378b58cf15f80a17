import ACME
import CertCrypto
import FoundationEssentials

/// A domain (a DNS name or an IP address) that did not pass the CA's HTTP-01 check (RFC 8555 §8.3), told as an admin
/// needs it: where the token was written, which URL the CA fetched, what it got (the CA's problem document, escaped),
/// and the usual causes.
public struct HTTP01ValidationFailure: Error, Sendable, CustomStringConvertible {
    /// The configured domain.
    public let domain: String
    /// The webroot configured for it, if any.
    public let webroot: String?
    /// The file the token was written to, when one was.
    public let tokenFile: String?
    /// What the CA said, when it said anything.
    public let problem: ACMEProblem?
    /// Fleet mode: where each node wrote the token (the CA's request may have reached any of them through the load
    /// balancer); empty on a single server.
    public var fleetCopies: [TokenCopy] = []

    /// One node's copy of the token file (fleet mode).
    public struct TokenCopy: Sendable, Equatable {
        public var node: String
        /// The file it wrote, when it said (a node of an earlier version does not).
        public var file: String?
        public var isThisNode: Bool

        public init(node: String, file: String?, isThisNode: Bool) {
            self.node = node
            self.file = file
            self.isThisNode = isThisNode
        }
    }

    public init(domain: String, webroot: String?, tokenFile: String?, problem: ACMEProblem?) {
        self.domain = domain
        self.webroot = webroot
        self.tokenFile = tokenFile
        self.problem = problem
    }

    /// The URL the CA fetches for the token (§8.3: `http://DOMAIN/.well-known/acme-challenge/TOKEN`, port 80; an IPv6
    /// address in brackets, RFC 8738 §3).
    public var url: String? {
        (tokenFile ?? fleetCopies.lazy.compactMap(\.file).first).map { "http://\(host)/.well-known/acme-challenge/" + PathText.lastComponent($0) }
    }

    /// The configured address, when the domain is one (RFC 8738).
    private var address: IPAddress? { IPAddress(domain) }

    /// The domain as the host of a URL.
    private var host: String { address?.urlHost ?? domain }

    /// Whether the problem is about reaching or reading the token (where the usual causes apply) rather than about
    /// the CA's policy (CAA, a rejected name, a rate limit).
    private var isAboutTheToken: Bool {
        switch problem?.kind {
        case nil, .unauthorized?, .connection?, .dns?, .incorrectResponse?, .tls?, .other?: true
        default: false
        }
    }

    public var description: String {
        var lines = ["\(domain) did not pass the CA's HTTP-01 check"]
        if !fleetCopies.isEmpty, let url {
            lines.append("  the token was written on every node of the fleet (the CA's request may reach any of them through the load balancer):")
            for copy in fleetCopies {
                lines.append("    node \(copy.node)\(copy.isThisNode ? " (this node)" : ""): \(copy.file ?? "its webroot for \(domain)")")
            }
            lines.append("  the CA fetched \(url)")
        } else if let tokenFile, let url {
            lines.append("  the token was written to \(tokenFile)")
            lines.append("  the CA fetched \(url)")
        }
        lines.append("  and got: " + (problem.map { "\($0)" } ?? "no reason given"))
        guard isAboutTheToken else { return lines.joined(separator: "\n") }
        let root = webroot.map { " \($0)" } ?? " the configured webroot"
        if let address {
            lines.append("  usual causes: the web server does not listen on \(address.urlHost) port 80, or its default site (the one "
                + "answering requests whose Host is the address itself, not a name) does not serve\(root) at /.well-known/acme-challenge/; "
                + "a redirect to an IP address (the CA follows none); a firewall closing port 80; "
                + "the address is not this machine's from the Internet (behind NAT, or a private address)")
        } else if problem?.kind == .dns {
            lines.append("  usual causes: \(domain) has no A/AAAA record in public DNS, or it points at another machine")
        } else {
            lines.append("  usual causes: the web server's site for \(domain) does not serve\(root) at /.well-known/acme-challenge/ "
                + "(check its root or an alias); a redirect to another host, or to https with a certificate that does not load; "
                + "an AAAA record sending the CA over IPv6 to a machine or port that does not serve it (the CA prefers IPv6); "
                + "a firewall closing port 80")
        }
        if let webroot, let address {
            lines.append("  to check: mkdir -p \(webroot)/.well-known/acme-challenge; echo ok > \(webroot)/.well-known/acme-challenge/check; "
                + "curl http://\(address.urlHost)/.well-known/acme-challenge/check "
                + "(from another network: it must print ok; then remove the file)")
        } else if let webroot {
            lines.append("  to check: mkdir -p \(webroot)/.well-known/acme-challenge; echo ok > \(webroot)/.well-known/acme-challenge/check; "
                + "curl -4 http://\(domain)/.well-known/acme-challenge/check; curl -6 http://\(domain)/.well-known/acme-challenge/check "
                + "(from another network: both must print ok; then remove the file)")
        }
        if !fleetCopies.isEmpty, webroot != nil {
            lines.append("  in a fleet, check on every node (\(fleetCopies.map(\.node).joined(separator: ", "))) with its own webroot, and through the load balancer: a node whose web server does not serve its webroot fails the CA's requests that reach it")
        }
        return lines.joined(separator: "\n")
    }
}
