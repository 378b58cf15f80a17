import ACME
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// A web server `certagent init` knows how to point at the store and reload.
public enum WebServerKind: String, Sendable, CaseIterable {
    case nginx
    case apache

    /// The name an admin knows it by.
    public var displayName: String { self == .nginx ? "nginx" : "Apache" }

    /// Its programs, by the names distributions install them under.
    var binaries: [String] { self == .nginx ? ["nginx"] : ["apache2", "httpd", "apachectl", "apache2ctl"] }
    /// Its process names (`/proc/<pid>/comm`).
    var processNames: [String] { self == .nginx ? ["nginx"] : ["apache2", "httpd"] }
    /// Its systemd units.
    var services: [String] { self == .nginx ? ["nginx"] : ["apache2", "httpd"] }
    /// Where the system's instance writes its process id (Debian and Red Hat layouts).
    var pidFiles: [String] {
        self == .nginx ? ["/run/nginx.pid", "/var/run/nginx.pid"]
            : ["/run/apache2/apache2.pid", "/var/run/apache2/apache2.pid", "/run/httpd/httpd.pid", "/var/run/httpd/httpd.pid"]
    }

    /// The lines that make this server use the store's stable paths for a certificate (Apache 2.4.8 and later take the
    /// full chain in `SSLCertificateFile`).
    public func certificateDirectives(fullChain: String, privateKey: String) -> [String] {
        switch self {
        case .nginx: ["ssl_certificate     \(fullChain);", "ssl_certificate_key \(privateKey);"]
        case .apache: ["SSLCertificateFile    \(fullChain)", "SSLCertificateKeyFile \(privateKey)"]
        }
    }
}

/// What detection looks at, injectable so tests can describe any host: a root directory the standard paths are
/// looked up under, the program search path, the running processes, and systemd.
public struct WebServerHost: Sendable {
    /// Prefixed to every standard path (`/` for the real host).
    public var root: String
    /// Directories searched for the servers' programs (PATH plus the usual sbin directories).
    public var searchPath: [String]
    /// Running processes: id → name (`/proc/<pid>/comm`).
    public var processes: [Int32: String]
    /// Whether systemd manages this host (`/run/systemd/system` exists: `sd_booted(3)`).
    public var systemdBooted: Bool
    /// Whether a unit is active (`systemctl is-active`), asked only when `systemdBooted`.
    public var isServiceActive: @Sendable (String) -> Bool
    /// Whether CertAgent runs as root (only root can reload a system web server).
    public var runningAsRoot: Bool

    public init(root: String = "/", searchPath: [String], processes: [Int32: String], systemdBooted: Bool,
                isServiceActive: @escaping @Sendable (String) -> Bool, runningAsRoot: Bool) {
        self.root = root
        self.searchPath = searchPath
        self.processes = processes
        self.systemdBooted = systemdBooted
        self.isServiceActive = isServiceActive
        self.runningAsRoot = runningAsRoot
    }

    /// The usual sbin directories, searched after PATH (an admin's PATH often lacks them).
    public static let standardDirectories = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/nginx/sbin"]

    /// This host: PATH from `environment`, processes from `/proc`, units through `systemctl is-active`.
    public static func live(environment: [String: String] = ProcessInfo.processInfo.environment) -> WebServerHost {
        let path = (environment["PATH"] ?? "").split(separator: ":").map(String.init).filter { $0.hasPrefix("/") }
        var processes: [Int32: String] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), let name = try? String(contentsOfFile: "/proc/\(entry)/comm", encoding: .utf8) else { continue }
            processes[pid] = name.trimmingWhitespaceAndNewlines()
        }
        var info = stat()
        let booted = lstat("/run/systemd/system", &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
        let systemctl = ExecutableSearch.resolve("systemctl", searchPath: (path + standardDirectories).joined(separator: ":"))
        return WebServerHost(searchPath: path, processes: processes, systemdBooted: booted, isServiceActive: { unit in
            guard let systemctl, let result = try? ChildProcess.run(executable: systemctl, arguments: ["systemctl", "is-active", "--quiet", unit],
                                                                     environment: ["PATH": ExecutableSearch.defaultSearchPath], timeoutSeconds: 10) else { return false }
            return result.termination == .exited(0)
        }, runningAsRoot: geteuid() == 0)
    }

    /// The first executable `name` in the search path, as a path on the host (without `root`).
    func program(_ name: String) -> String? {
        for directory in searchPath + Self.standardDirectories {
            let path = (directory.hasSuffix("/") ? directory : directory + "/") + name
            if ExecutableSearch.isExecutableFile(onHost(path)) { return path }
        }
        return nil
    }

    /// `path` below `root`.
    func onHost(_ path: String) -> String { root == "/" || root.isEmpty ? path : (root.hasSuffix("/") ? String(root.dropLast()) : root) + path }
}

/// One web server found on the host, with the evidence and how it is reloaded.
public struct DetectedWebServer: Sendable, Equatable {
    public var kind: WebServerKind
    /// What was found, for the admin ("/usr/sbin/nginx", "process 812 (/run/nginx.pid)", "unit nginx active").
    public var evidence: [String]
    /// The reload command (argument vector), when the system's instance is running and this user can reload it.
    public var reload: [String]?
    /// Why no reload is proposed, when none is.
    public var whyNoReload: String?
}

/// What `certagent init` proposes for reloading the web server after each renewal.
public struct WebServerProposal: Sendable, Equatable {
    /// Every server found (installed or running).
    public var servers: [DetectedWebServer]
    /// The reload command to write into `install.reload`, when exactly one running server can be reloaded.
    public var reload: [String]?
    /// The server whose directives to print (the one reloaded, or the only one found); nil prints both kinds.
    public var kind: WebServerKind?
    /// What to tell the admin about the choice (why this command, or why none).
    public var explanation: String
}

/// Finds nginx and Apache (their programs, running processes, pid files and systemd units) and picks how to reload
/// the one serving the sites: `systemctl reload <unit>` where systemd runs it, else the server's own reload
/// (`nginx -s reload`, `apachectl graceful`). A pure function of `WebServerHost`.
public enum WebServerDetection {
    public static func propose(on host: WebServerHost) -> WebServerProposal {
        let servers = WebServerKind.allCases.compactMap { detect($0, on: host) }
        let reloadable = servers.filter { $0.reload != nil }
        if reloadable.count == 1, let server = reloadable.first, let reload = server.reload {
            return WebServerProposal(servers: servers, reload: reload, kind: server.kind,
                                     explanation: "\(server.kind.displayName) runs here (\(server.evidence.joined(separator: ", "))): after each renewal CertAgent runs `\(reload.joined(separator: " "))` so it serves the new certificate (--reload CMD for another command, --no-reload for none)")
        }
        if reloadable.count > 1 {
            let choices = reloadable.compactMap { $0.reload.map { "--reload '\($0.joined(separator: " "))'" } }.joined(separator: " or ")
            return WebServerProposal(servers: servers, reload: nil, kind: nil,
                                     explanation: "both nginx and Apache run here: pass the one serving these sites, \(choices) (or --no-reload)")
        }
        guard !servers.isEmpty else {
            return WebServerProposal(servers: [], reload: nil, kind: nil,
                                     explanation: "no nginx or Apache found here: pass --reload CMD with the command that makes your web server load a new certificate, or --no-reload if it needs none")
        }
        let reasons = servers.compactMap { server in server.whyNoReload.map { "\(server.kind.displayName): \($0)" } }
        return WebServerProposal(servers: servers, reload: nil, kind: servers.count == 1 ? servers[0].kind : nil,
                                 explanation: reasons.joined(separator: "; ") + ": pass --reload CMD with the command that reloads it, or --no-reload")
    }

    static func detect(_ kind: WebServerKind, on host: WebServerHost) -> DetectedWebServer? {
        var evidence: [String] = []
        let programs = kind.binaries.compactMap { host.program($0) }
        evidence += programs
        let running = host.processes.filter { kind.processNames.contains($0.value) }
        var livePidFile: String?
        for file in kind.pidFiles {
            guard let text = try? String(contentsOfFile: host.onHost(file), encoding: .utf8),
                  let pid = Int32(text.trimmingWhitespaceAndNewlines()), running[pid] != nil else { continue }
            livePidFile = file
            evidence.append("process \(pid) (\(file))")
            break
        }
        var activeUnit: String?
        if host.systemdBooted {
            activeUnit = kind.services.first { host.isServiceActive($0) }
            if let activeUnit { evidence.append("unit \(activeUnit) active") }
        }
        if livePidFile == nil, activeUnit == nil, let (pid, name) = running.min(by: { $0.key < $1.key }) {
            evidence.append("process \(pid) (\(name))")
        }
        guard !evidence.isEmpty else { return nil }
        var server = DetectedWebServer(kind: kind, evidence: evidence)
        if activeUnit == nil && livePidFile == nil {
            server.whyNoReload = running.isEmpty
                ? "installed but not running"
                : "a process runs but not as the system's service (no \(kind.pidFiles[0]), no active unit), so how to reload it cannot be told"
            return server
        }
        guard host.runningAsRoot else {
            server.whyNoReload = "it runs as the system's service, which only root can reload: ask your host, or pass the command your host provides"
            return server
        }
        if let activeUnit {
            server.reload = [host.program("systemctl") ?? "/usr/bin/systemctl", "reload", activeUnit]
        } else if kind == .nginx, let nginx = host.program("nginx") {
            server.reload = [nginx, "-s", "reload"]
        } else if kind == .apache, let control = host.program("apachectl") ?? host.program("apache2ctl") {
            server.reload = [control, "graceful"]
        } else {
            server.whyNoReload = "it runs, but its program (\(kind.binaries.joined(separator: ", "))) is not on PATH to reload it"
        }
        return server
    }
}
