import ArgumentParser
import CertAgent

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Not built yet.", shouldDisplay: false)

    @OptionGroup var options: GlobalOptions

    func run() throws {
        printError("run is not built yet")
        throw ExitCode(1)
    }
}
