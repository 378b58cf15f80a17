import ArgumentParser
import CertAgent
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

struct DiscoverCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "discover",
        abstract: "List the certificates this host's nginx and Apache serve: names, files, issuer, expiry, which client manages them, and their webroots.",
        discussion: """
            Reads the web servers' configuration as they load it (`nginx -T`; `apachectl -S` and the files it names) \
            and, for every certificate a TLS site serves, shows: its names (the certificate's and the sites'), its \
            files, issuer and expiry, which client seems to keep it renewed (certbot, lego, acme.sh, CertAgent itself, \
            or none), and for each name the webroot HTTP-01 would use — the root or acme-challenge location of the site \
            answering the name on port 80 (or, when that site redirects, of the HTTPS site it redirects to) — or why \
            there is none.

            --as-config prints config entries for the certificates no client manages, ready to paste into the \
            config's certificates (or to check as they are): CertAgent then replaces the files the server already \
            reads and reloads it. --config names CertAgent's own config (its store and installed files mark its own \
            certificates); none is needed.

            Nothing on the host is changed. Run it as root: the servers' configuration and certificates are root's.
            """)

    @OptionGroup var options: GlobalOptions

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Flag(help: ArgumentHelp("Print config entries (certificates) for the certificates no client manages.",
                             discussion: "Only names with a webroot are included; the others are listed on standard error with the reason."))
    var asConfig = false

    @Option(help: ArgumentHelp("The nginx program.", discussion: "Default: nginx on PATH or in the sbin directories.", valueName: "program"))
    var nginx: String?

    @Option(help: ArgumentHelp("Read this nginx configuration file (nginx -c FILE -T) instead of nginx's own.", valueName: "file"))
    var nginxConfig: String?

    @Option(help: ArgumentHelp("The Apache control or server program.", discussion: "Default: apache2ctl or apachectl (else apache2, httpd) on PATH or in the sbin directories.", valueName: "program"))
    var apache: String?

    @Option(help: ArgumentHelp("Read this Apache configuration file (-f FILE -S) instead of Apache's own.", valueName: "file"))
    var apacheConfig: String?

    @Flag(help: "Do not ask nginx.")
    var noNginx = false

    @Flag(help: "Do not ask Apache.")
    var noApache = false

    func run() throws {
        _ = options.logger()
        guard !(json && asConfig) else { throw ValidationError("--json and --as-config print different things: give one") }
        let environment = ProcessInfo.processInfo.environment
        // CertAgent's own config, when there is one, says where its store is and which files it installs.
        let config = try existingConfig()
        let host = WebServerHost.live(environment: environment)

        var queries: [WebServerConfigQuery] = []
        var notes: [String] = []
        if !noNginx {
            if let query = WebServerConfigQuery.nginx(program: nginx, configFile: nginxConfig, host: host) { queries.append(query) } else {
                notes.append("nginx: not installed (no nginx program found)")
            }
        }
        if !noApache {
            if let query = WebServerConfigQuery.apache(program: apache, configFile: apacheConfig, host: host) { queries.append(query) } else {
                notes.append("Apache: not installed (no apache2ctl, apachectl, apache2 or httpd program found)")
            }
        }
        var sites: [ServedSite] = []
        var failures: [String] = []
        var summaries: [String] = []
        // The servers' configuration, certificates and pid files are root's: say so when that is the likely cause.
        let asRoot = geteuid() == 0 ? "" : " (discover runs as root to read what the server reads)"
        for query in queries {
            do {
                let output = try WebServerConfigDump.run(query, environment: environment)
                let found: [ServedSite]
                switch query.kind {
                case .nginx: found = try WebServerConfigDump.nginxSites(dump: output)
                case .apache:
                    let read = WebServerConfigDump.apacheSites(dump: output, environment: environment)
                    found = read.sites
                    failures += read.problems.map { "Apache: \($0)" }
                }
                sites += found
                let tls = found.filter { !$0.certificates.isEmpty }.count
                summaries.append("\(query.kind.displayName) (`\(query.commandText)`): \(found.count) site\(found.count == 1 ? "" : "s"), \(tls) serving a certificate")
            } catch let error as WebServerConfigError {
                failures.append("\(query.kind.displayName): cannot read its configuration: \(error)\(asRoot)")
            } catch {
                failures.append("\(query.kind.displayName): its configuration does not parse: \(error)")
            }
        }
        for note in notes where !json { printError("note: " + note) }
        for failure in failures { printError(failure) }
        if queries.isEmpty {
            printError("no web server to ask: install nginx or Apache, or point at one with --nginx / --apache")
            throw ExitCode(1)
        }

        // Without a config, root's store is where `init` would put it (`ConfigLoader.rootDefaultStorage`).
        let storeRoot = config?.storagePath ?? (geteuid() == 0 ? ConfigLoader.rootDefaultStorage : nil)
        let certificates = HostDiscovery.certificates(sites: sites, files: .live(config: config, storeRoot: storeRoot), now: Date())
        if json {
            print(try DiscoveryReport.json(certificates))
        } else if asConfig {
            let proposal = WebServerDetection.propose(on: host)
            let reloads = Dictionary(proposal.servers.compactMap { server in server.reload.map { (server.kind, $0) } }, uniquingKeysWith: { first, _ in first })
            var configured: [String: String] = [:]
            for certificate in config?.certificates ?? [] { for domain in certificate.domains { configured[domain] = certificate.name } }
            let (entries, leftOut) = DiscoveryReport.configEntries(certificates, takenNames: Set(config?.certificates.map(\.name) ?? []),
                                                                   configured: configured, reload: reloads)
            for line in leftOut { printError("note: " + line) }
            print(DiscoveryReport.configText(entries), terminator: "")
            if entries.isEmpty { printError("note: no certificate here is both unmanaged and served from a webroot: no entry to propose") }
        } else {
            for summary in summaries { print(TerminalText.safe(summary)) }
            if !summaries.isEmpty { print("") }
            print(DiscoveryReport.text(certificates, now: Date()))
        }
        if !failures.isEmpty { throw ExitCode(1) }
    }

    /// The config when one exists at the usual place (or `--config`): a missing one is fine here, a broken one is
    /// reported as everywhere else.
    private func existingConfig() throws -> AgentConfig? {
        var info = stat()
        if lstat(options.configPath, &info) != 0, errno == ENOENT { return nil }
        return try options.loadConfig()
    }
}
