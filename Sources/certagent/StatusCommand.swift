import ArgumentParser
import CertAgent
import Foundation

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each certificate: domains, issuer, expiry, and what happens next.")

    @OptionGroup var options: GlobalOptions

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        _ = options.logger()
        let config = try options.loadConfig()
        try options.requireStoreAccess(config, .read)
        let store: CertificateStore
        do { store = try CertificateStore(config: config, create: false) } catch {
            printError("\(config.sourcePath): storage: \(error)")
            throw ExitCode(2)
        }
        let reports = CertificateStatus.all(config: config, store: store, now: Date())   // and those removed from the config by hand
        if json {
            print(try StatusJSON.encode(reports))
        } else {
            for report in reports { print(report.text) }
        }
    }
}
