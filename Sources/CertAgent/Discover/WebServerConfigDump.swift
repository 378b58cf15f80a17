import ACME
import FoundationEssentials

/// How `discover` asks a web server for its configuration: `nginx -T` (every file, as loaded), `apachectl -S` (every
/// virtual host with its file and line). The program and configuration file can be given (`--nginx`,
/// `--nginx-config`, `--apache`, `--apache-config`); by default the host's own are found as `init` finds them
/// (`WebServerHost`).
public struct WebServerConfigQuery: Sendable, Equatable {
    /// The server asked.
    public var kind: WebServerKind
    /// The program run (an absolute path).
    public var executable: String
    /// The argument vector, `arguments[0]` included.
    public var arguments: [String]

    /// The command for messages.
    public var commandText: String { arguments.joined(separator: " ") }

    /// nginx's dump: `nginx [-c FILE] -T`; nil when no nginx program is found (and none was given).
    public static func nginx(program: String?, configFile: String?, host: WebServerHost) -> WebServerConfigQuery? {
        guard let executable = program ?? host.program("nginx") else { return nil }
        return WebServerConfigQuery(kind: .nginx, executable: executable,
                                    arguments: [executable] + (configFile.map { ["-c", $0] } ?? []) + ["-T"])
    }

    /// Apache's virtual hosts: `apachectl [-f FILE] -S` (Debian's `apache2ctl` sets Apache's environment from
    /// `/etc/apache2/envvars`; the server program itself needs `APACHE_RUN_DIR` and the like from ours); nil when no
    /// Apache program is found (and none was given).
    public static func apache(program: String?, configFile: String?, host: WebServerHost) -> WebServerConfigQuery? {
        guard let executable = program ?? ["apache2ctl", "apachectl", "apache2", "httpd"].lazy.compactMap(host.program).first else { return nil }
        return WebServerConfigQuery(kind: .apache, executable: executable,
                                    arguments: [executable] + (configFile.map { ["-f", $0] } ?? []) + ["-S"])
    }
}

/// Why a web server's configuration could not be read: what was run and what it said (escaped).
public struct WebServerConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The command that was run, as words joined by spaces.
    public var command: String
    /// What went wrong, with the end of its standard error (already escaped).
    public var reason: String

    public var description: String { "`\(UntrustedText.display(command))` \(reason)" }
}

/// Runs a `WebServerConfigQuery` and reads the sites from what it prints.
public enum WebServerConfigDump {
    /// The most output read (a large nginx configuration is a few hundred kilobytes).
    static let maximumOutput = 32 << 20
    static let timeoutSeconds: Double = 30

    /// The query's printed output; a failure carries its exit status and the end of its standard error.
    public static func run(_ query: WebServerConfigQuery, environment: [String: String]) throws(WebServerConfigError) -> String {
        let captured: ChildProcess.Captured
        do {
            captured = try ChildProcess.capture(executable: query.executable, arguments: query.arguments, environment: environment,
                                                timeoutSeconds: timeoutSeconds, outputLimit: maximumOutput)
        } catch {
            throw WebServerConfigError(command: query.commandText, reason: "could not be started: \(error.reason)")
        }
        let said = captured.errorTail.isEmpty ? "" : ": \(captured.errorTail)"
        if captured.timedOut {
            throw WebServerConfigError(command: query.commandText, reason: "did not finish within \(Int(timeoutSeconds)) s and was stopped\(said)")
        }
        guard captured.termination == .exited(0) else {
            throw WebServerConfigError(command: query.commandText, reason: "\(captured.termination)\(said)")
        }
        guard !captured.outputTruncated else {
            throw WebServerConfigError(command: query.commandText, reason: "printed more than \(maximumOutput >> 20) MiB: not read")
        }
        return String(decoding: captured.output, as: UTF8.self)
    }

    /// The sites in `nginx -T`'s output; `prefix` is nginx's (for relative roots; Debian's by default).
    public static func nginxSites(dump: String, prefix: String = "/usr/share/nginx") throws(NginxConfigError) -> [ServedSite] {
        let parsed = try NginxConfigParser.parse(dump: dump)
        return NginxSites.sites(in: parsed.directives, mainFile: parsed.mainFile, prefix: prefix)
    }

    /// The sites in `apachectl -S`'s output, read from the files it names; the virtual hosts that could not be read
    /// are returned as problems.
    public static func apacheSites(dump: String, environment: [String: String]) -> (sites: [ServedSite], problems: [String]) {
        ApacheSites.sites(dump: ApacheVirtualHostDump(output: dump), environment: environment) { path in
            (try? RegularFileReader.read(path, limit: 4 << 20)).map { String(decoding: $0.bytes, as: UTF8.self) }
        }
    }
}
