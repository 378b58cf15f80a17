import ArgumentParser
import CertAgent

struct RenewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "renew", abstract: "Not built yet.", shouldDisplay: false)

    @OptionGroup var options: GlobalOptions

    func run() throws {
        printError("renew is not built yet")
        throw ExitCode(1)
    }
}
