import ArgumentParser
import CertAgent
import Foundation

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate the config and report every problem at once.")

    @OptionGroup var options: GlobalOptions

    func run() throws {
        _ = options.logger()
        let config = try options.loadConfig()
        let store: CertificateStore
        do {
            store = try CertificateStore(root: config.storagePath, webroots: config.allWebroots, create: false)
        } catch {
            printError("\(config.sourcePath): storage: \(error)")
            throw ExitCode(2)
        }
        print("\(config.sourcePath): OK")
        print("  ACME server  \(config.directoryURL)")
        print("  store        \(config.storagePath)")
        for certificate in config.certificates {
            let state = StoredCertificateState.inspect(certificate, in: store, now: Date())
            print("  \(certificate.name): \(certificate.domains.joined(separator: ", ")) [\(certificate.keyType.rawValue)] — \(state)")
        }
    }
}
