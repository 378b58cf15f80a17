import ArgumentParser
import CertAgent
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Logging

/// Options every subcommand takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: ArgumentHelp("The config file.", discussion: "Default: $CERTAGENT_CONFIG, else /etc/certagent/config.json when run as root, else ~/.config/certagent/config.json."))
    var config: String?

    @Flag(name: .shortAndLong, help: "Log each step (info level).")
    var verbose = false

    @Flag(help: "Log everything (debug level). Secrets are never logged.")
    var debug = false

    var configPath: String {
        if let config { return config }
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["CERTAGENT_CONFIG"], !path.isEmpty { return path }
        if geteuid() == 0 { return "/etc/certagent/config.json" }
        return (environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path) + "/.config/certagent/config.json"
    }

    /// Sets up logging once for the process and returns the command's logger.
    func logger(defaultLevel: Logger.Level = .warning) -> Logger {
        let level: Logger.Level = debug ? .debug : (verbose ? .info : defaultLevel)
        let journald = AgentLogHandler.underJournald
        LoggingSystem.bootstrap { label in AgentLogHandler(label: label, level: level, journald: journald) }
        return Logger(label: "certagent")
    }

    /// Loads and validates the config, printing every problem and exiting with status 2 when it is not usable
    /// (including a config file or directory others could write: see `ConfigPermissions`).
    func loadConfig() throws -> AgentConfig {
        let path = configPath
        var info = stat()
        if lstat(path, &info) != 0, errno == ENOENT {
            printError(Self.missingConfigMessage(path))
            throw ExitCode(2)
        }
        do {
            return try ConfigLoader.load(path: configPath)
        } catch let error as ConfigError {
            printError(error.description)
            throw ExitCode(2)
        }
    }

    /// Exits with status 1, saying so in words, when the running user may not use the store as `need` says (a
    /// non-root command against root's store): nothing it would report without it could be trusted.
    func requireStoreAccess(_ config: AgentConfig, _ need: StoreAccess.Need) throws {
        guard let message = StoreAccess.denied(config.storagePath, need: need) else { return }
        printError(message)
        throw ExitCode(1)
    }

    /// What a command says when there is no config file at `path`.
    static func missingConfigMessage(_ path: String) -> String {
        "no config at \(path): run `certagent init` or pass --config"
    }

    /// Exits with status 2, printing each fix, when others could write the config at `path` or a directory above it
    /// (every later command would refuse it); `afterwards` says what to run once it is fixed.
    func refuseUnsafeConfig(at path: String, afterwards: String) throws {
        let problems: [ConfigProblem]
        do { problems = try ConfigPermissions().check(path).problems } catch {
            printError(error.description)
            throw ExitCode(2)
        }
        guard problems.isEmpty else {
            printError(ConfigError(file: path, problems: problems).description + "\n" + afterwards)
            throw ExitCode(2)
        }
    }
}

/// Writes a line to standard error. Our own line breaks stay; any other control character is escaped
/// (`TerminalText`), a last line of defence for text from outside that was not made safe where it entered.
func printError(_ text: String) {
    StandardStream.error("certagent: " + TerminalText.safe(text) + "\n")
}
