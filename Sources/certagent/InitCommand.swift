import ArgumentParser
import CertAgent

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Not built yet.", shouldDisplay: false)

    @OptionGroup var options: GlobalOptions

    func run() throws {
        printError("init is not built yet")
        throw ExitCode(1)
    }
}
