import ArgumentParser
import CertAgent

struct RotateMasterKeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rotate-master-key", abstract: "Not built yet.", shouldDisplay: false)

    @OptionGroup var options: GlobalOptions

    func run() throws {
        printError("rotate-master-key is not built yet")
        throw ExitCode(1)
    }
}
