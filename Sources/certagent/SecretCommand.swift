import ArgumentParser
import CertAgent

struct SecretCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "secret", abstract: "Not built yet.", shouldDisplay: false)

    @OptionGroup var options: GlobalOptions

    func run() throws {
        printError("secret is not built yet")
        throw ExitCode(1)
    }
}
