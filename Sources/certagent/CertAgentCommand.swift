import ArgumentParser
import CertAgent
import CertCrypto
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

@main
struct CertAgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certagent",
        abstract: "Keeps TLS certificates issued and renewed over ACME (RFC 8555), with HTTP-01 through your webroots.",
        version: CertAgentVersion.current,
        subcommands: [
            InitCommand.self, IssueCommand.self, RunCommand.self, RenewCommand.self, StatusCommand.self,
            RevokeCommand.self, DeleteCommand.self, RollbackCommand.self, CheckCommand.self, NotifyCommand.self, SecretCommand.self, RotateMasterKeyCommand.self,
            MetricsCommand.self, AccountCommand.self,
            ImportCommand.self,
            DiscoverCommand.self,
            ConfigCommand.self,
            ClusterCommand.self,
        ])

    /// A usage error (unknown option, missing argument, a value that does not parse): status 2, as for a bad config.
    static let usageExitStatus: Int32 = 2

    static func main() {
        // Before anything uses OpenSSL or libcurl: `exit` must not free OpenSSL under a thread still using it.
        OpenSSLProcessSetup.initializeWithoutExitCleanup()
        ProcessHardening.apply()
        // Line-buffered even into a pipe or file, so our lines and standard error's (unbuffered) keep their order.
        GlibcExtensions.lineBufferStandardOutput()
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard !arguments.isEmpty else {
            // No command is a usage error too: the help says which there are.
            StandardStream.error(helpMessage() + "\n")
            Glibc.exit(usageExitStatus)
        }
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            // ArgumentParser exits 64 (EX_USAGE) for these; the README promises 2.
            if exitCode(for: error) == .validationFailure {
                StandardStream.error(fullMessage(for: error) + "\n")
                Glibc.exit(usageExitStatus)
            }
            exit(withError: error)
        }
    }
}
