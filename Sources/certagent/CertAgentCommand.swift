import ArgumentParser
import CertAgent

@main
struct CertAgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certagent",
        abstract: "Keeps TLS certificates issued and renewed over ACME (RFC 8555), with HTTP-01 through your webroots.",
        version: CertAgentVersion.current,
        subcommands: [
            InitCommand.self, IssueCommand.self, RunCommand.self, RenewCommand.self, StatusCommand.self,
            RevokeCommand.self, DeleteCommand.self, RollbackCommand.self, CheckCommand.self, SecretCommand.self, RotateMasterKeyCommand.self,
        ])

    static func main() {
        ProcessHardening.apply()
        main(nil)
    }
}
