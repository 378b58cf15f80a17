import ACME
import CertCrypto
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// What discovery reads besides the web servers' configurations, injectable for tests: certificate files, where a
/// path leads through symbolic links, whether a directory exists, and what CertAgent itself manages.
public struct DiscoveryFiles: Sendable {
    /// The certificates in a PEM file (leaf first), or why it cannot be read.
    public var readCertificates: @Sendable (String) -> Result<[Certificate], DiscoveryFileProblem>
    /// The path with every symbolic link resolved, nil when it does not exist.
    public var resolve: @Sendable (String) -> String?
    public var isDirectory: @Sendable (String) -> Bool
    /// CertAgent's store (the certificates it keeps live below `store.certificates`), when there is a config.
    public var store: StoreKeys?
    /// Every file a configured certificate installs (`install`), mapped to that certificate's name.
    public var installed: [String: String]

    public init(readCertificates: @escaping @Sendable (String) -> Result<[Certificate], DiscoveryFileProblem>,
                resolve: @escaping @Sendable (String) -> String?, isDirectory: @escaping @Sendable (String) -> Bool,
                store: StoreKeys?, installed: [String: String]) {
        self.readCertificates = readCertificates
        self.resolve = resolve
        self.isDirectory = isDirectory
        self.store = store
        self.installed = installed
    }

    /// The files of this host; `config`, when there is one, says what CertAgent installs; `storeRoot` is its store's
    /// root (the config's, or where one would be).
    public static func live(config: AgentConfig?, storeRoot: String?) -> DiscoveryFiles {
        var installed: [String: String] = [:]
        for certificate in config?.certificates ?? [] {
            for target in certificate.install?.targets ?? [] { installed[target.path] = certificate.name }
        }
        return DiscoveryFiles(readCertificates: readPEMFile, resolve: PathSafety.realPath, isDirectory: { PathSafety.isDirectory($0) }, store: storeRoot.map { StoreKeys(root: $0) }, installed: installed)
    }

    /// The largest certificate file read (a chain is a few kilobytes).
    static let maximumCertificateFileSize = 1 << 20

    @Sendable static func readPEMFile(_ path: String) -> Result<[Certificate], DiscoveryFileProblem> {
        let bytes: [UInt8]
        do { bytes = try RegularFileReader.read(path, limit: maximumCertificateFileSize).bytes } catch {
            switch error {
            case .open(let code) where code == ENOENT: return .failure(.missing)
            case .open(let code) where code == EACCES: return .failure(.notReadable("permission denied: run discover as root (the web server reads it as root)"))
            case .open(let code), .read(let code): return .failure(.notReadable(String(cString: strerror(code))))
            case .notRegular: return .failure(.notReadable("not a regular file"))
            case .tooLarge: return .failure(.notReadable("larger than \(maximumCertificateFileSize >> 20) MiB: not a certificate file"))
            }
        }
        do {
            let chain = try Certificate.parseChain(pem: String(decoding: bytes, as: UTF8.self))
            return chain.isEmpty ? .failure(.notACertificate) : .success(chain)
        } catch {
            return .failure(.notACertificate)
        }
    }
}

/// Why a certificate file a web server names could not be read.
public enum DiscoveryFileProblem: Error, Sendable, Equatable, CustomStringConvertible {
    case missing
    case notReadable(String)
    case notACertificate

    public var description: String {
        switch self {
        case .missing: "does not exist (the web server would refuse to start)"
        case .notReadable(let reason): "cannot be read: \(reason)"
        case .notACertificate: "holds no PEM certificate"
        }
    }
}

/// Puts the sites of the web servers together into the certificates they serve (a file shared by several sites is one
/// certificate), reads each, tells who manages it, and finds a webroot for each of its names. A pure function of its
/// inputs.
public enum HostDiscovery {
    /// The port HTTP-01 validation connects to (RFC 8555 §8.3), and the HTTPS port a redirect leads to.
    static let httpPort = 80
    static let httpsPort = 443

    public static func certificates(sites: [ServedSite], files: DiscoveryFiles, now: Date) -> [DiscoveredCertificate] {
        var order: [String] = []
        var found: [String: DiscoveredCertificate] = [:]
        for site in sites {
            for pair in site.certificates {
                let key = "\(site.server.rawValue) " + (files.resolve(pair.certificate) ?? pair.certificate)
                let reference = DiscoveredCertificate.Site(server: site.server.rawValue, location: site.location, names: site.names)
                if var existing = found[key] {
                    if !existing.sites.contains(reference) { existing.sites.append(reference) }
                    for name in site.names where !existing.servedNames.contains(name) { existing.servedNames.append(name) }
                    if existing.keyFile == nil { existing.keyFile = pair.key }
                    found[key] = existing
                } else {
                    order.append(key)
                    found[key] = DiscoveredCertificate(certificateFile: pair.certificate, keyFile: pair.key, sites: [reference], servedNames: site.names)
                }
            }
        }
        return order.compactMap { found[$0] }.map { complete($0, sites: sites, files: files) }
    }

    private static func complete(_ entry: DiscoveredCertificate, sites: [ServedSite], files: DiscoveryFiles) -> DiscoveredCertificate {
        var entry = entry
        var leaf: Certificate?
        if entry.certificateFile.contains("$") || entry.certificateFile.hasPrefix("data:") || entry.certificateFile.hasPrefix("engine:") {
            entry.problem = "is chosen per request (a variable) or is not a file: not read"
        } else {
            switch files.readCertificates(entry.certificateFile) {
            case .success(let chain):
                leaf = chain.first
            case .failure(let problem):
                entry.problem = problem.description
            }
        }
        if let leaf {
            entry.certificateNames = leaf.dnsNames.map { $0.lowercased() } + leaf.ipAddresses.map(\.text)
            entry.subject = leaf.subject
            entry.issuer = leaf.issuer
            entry.notAfter = leaf.notAfter
            entry.selfSigned = leaf.subject == leaf.issuer && leaf.isIssued(by: leaf)
            entry.uncoveredNames = entry.servedNames.filter { name in
                let plain = plainName(name)
                return !plain.isEmpty && plain != "localhost" && !leaf.covers(plain)
            }
        }
        entry.managedBy = ManagingClient.classify(entry.certificateFile, resolved: files.resolve(entry.certificateFile), store: files.store, installed: files.installed)

        // The names to prove: the certificate's own, then the served names it does not hold (what the sites answer to).
        var names: [String] = []
        for name in entry.certificateNames + entry.servedNames.map(plainName) where !name.isEmpty && !names.contains(name) {
            names.append(name)
        }
        entry.names = names
        let server = entry.sites.first.flatMap { site in sites.first { $0.location == site.location }?.server }
        let ownSites = sites.filter { $0.server == server }
        for name in names {
            switch webroot(for: name, among: ownSites, files: files) {
            case .success(let webroot): entry.webroots[name] = webroot
            case .failure(let reason): entry.noWebroot[name] = reason.text
            }
        }
        return entry
    }

    /// A served name as a certificate would hold it: `.example.com` → `example.com`; a regular expression, a trailing
    /// wildcard or nginx's catch-all `_` as nothing.
    static func plainName(_ written: String) -> String {
        if written.hasPrefix("~") || written.hasSuffix(".*") || written == "_" { return "" }
        return written.hasPrefix(".") ? String(written.dropFirst()) : written
    }

    struct NoWebroot: Error, Equatable {
        var text: String
    }

    /// The webroot HTTP-01 reaches for `name`: the site answering it on port 80 — its acme-challenge location or its
    /// root — or, when that site redirects everything, the HTTPS site answering it on 443.
    static func webroot(for name: String, among sites: [ServedSite], files: DiscoveryFiles) -> Result<DiscoveredCertificate.Webroot, NoWebroot> {
        if let problem = nameProblem(name) { return .failure(NoWebroot(text: problem)) }
        guard let plain = ServedSite.answering(name, port: httpPort, tls: false, among: sites) else {
            return .failure(NoWebroot(text: "no site listens for it on port \(httpPort) without TLS, where the CA fetches the challenge"))
        }
        switch plain.challengePath {
        case .webroot(let path, let fromLocation):
            return existing(path, site: plain, via: fromLocation ? "acme-challenge location" : "root", files: files)
        case .redirected(let host):
            let target = host ?? name
            let destination = "https://\(UntrustedText.display(target))"
            guard let secure = ServedSite.answering(target, port: httpsPort, tls: true, among: sites) else {
                return .failure(NoWebroot(text: "the site at \(UntrustedText.display(plain.location)) redirects it to \(destination), and no site serves that on port \(httpsPort)"))
            }
            guard case .webroot(let path, let fromLocation) = secure.challengePath else {
                return .failure(NoWebroot(text: "the site at \(UntrustedText.display(plain.location)) redirects it to \(destination), where the site at \(UntrustedText.display(secure.location)) \(describe(secure.challengePath))"))
            }
            return existing(path, site: secure, via: (fromLocation ? "acme-challenge location" : "root") + " behind the redirect to \(destination)", files: files)
        case .passedOn, .none:
            return .failure(NoWebroot(text: "the site at \(UntrustedText.display(plain.location)) on port \(httpPort) \(describe(plain.challengePath))"))
        }
    }

    /// Why CertAgent cannot ask for `name` over HTTP-01, or nil.
    static func nameProblem(_ name: String) -> String? {
        if IPAddress(name) != nil { return "an IP address: discover looks for webroots of DNS names only" }
        if name.hasPrefix("*.") { return "a wildcard name: HTTP-01 cannot prove it (DNS-01 can), and CertAgent validates with HTTP-01 only" }
        if DomainName.problem(with: name) != nil { return "not a public DNS name a CA would certify" }
        return nil
    }

    private static func existing(_ path: String, site: ServedSite, via: String, files: DiscoveryFiles) -> Result<DiscoveredCertificate.Webroot, NoWebroot> {
        guard files.isDirectory(path) else {
            return .failure(NoWebroot(text: "the \(via) of the site at \(UntrustedText.display(site.location)) is \(UntrustedText.display(path)), which is not an existing directory"))
        }
        return .success(DiscoveredCertificate.Webroot(path: path, site: site.location, via: via))
    }

    private static func describe(_ path: ServedSite.ChallengePath) -> String {
        switch path {
        case .webroot(let directory, _): "serves \(UntrustedText.display(directory))"
        case .redirected: "redirects it again"
        case .passedOn(let how): "passes the requests on (\(UntrustedText.display(how, limit: 200)))"
        case .none: "names no root for its files"
        }
    }
}
