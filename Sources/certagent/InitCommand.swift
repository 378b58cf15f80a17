import ArgumentParser
import CertAgent
import Foundation

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "First install in one command: write a config, get the certificate now, and say how to enable the daemon.",
        discussion: """
            Example: certagent init --domain example.com --domain www.example.com --webroot /var/www/html \\
                       --email admin@example.com --accept-terms-of-service
            """)

    @OptionGroup var options: GlobalOptions

    @Option(name: .customLong("domain"), help: "A DNS name for the certificate (repeat for more; the first names it).")
    var domains: [String] = []

    @Option(help: "The directory your web server serves for these names.")
    var webroot: String

    @Option(help: "Contact e-mail for the CA.")
    var email: String?

    @Option(help: "ACME directory URL, or letsencrypt / letsencrypt-staging.")
    var directory: String = "letsencrypt"

    @Option(help: "PEM file of CAs to trust for the ACME server (private CA).")
    var caFile: String?

    @Option(help: ArgumentHelp("Where to keep keys and certificates (outside every webroot).",
                               discussion: "Default: /var/lib/certagent as root (the service's store), else beside the webroot."))
    var storage: String?

    @Option(help: "ec256, ec384, rsa2048, rsa3072 or rsa4096.")
    var keyType: String = "ec256"

    @Flag(help: "You agree to the CA's terms of service (Let's Encrypt requires it).")
    var acceptTermsOfService = false

    @Flag(help: "Replace an existing config file.")
    var force = false

    func run() throws {
        let logger = options.logger()
        let path = options.configPath
        guard !domains.isEmpty else {
            printError("give at least one --domain")
            throw ExitCode(2)
        }
        if FileManager.default.fileExists(atPath: path), !force {
            printError("\(path) exists: edit it, or pass --force to replace it")
            throw ExitCode(2)
        }
        // Validated before anything is written: a bad domain or webroot leaves no file behind. The store is written
        // out explicitly, so every later command and the service use this one whatever their environment.
        let config: AgentConfig
        let text: String
        do {
            let draft = try ConfigLoader.parse(Data(try configText(storage: storage).utf8), path: path)
            text = try configText(storage: draft.storagePath)
            config = try ConfigLoader.parse(Data(text.utf8), path: path)
        } catch let error as ConfigError {
            printError(error.description)
            throw ExitCode(2)
        }
        try AtomicFile.makeDirectory((path as NSString).deletingLastPathComponent, mode: 0o755)
        try AtomicFile.write(text, to: path, mode: 0o644)
        print("Wrote \(path)")
        try options.refuseUnsafeConfig(at: path, afterwards: "The config was written but no certificate was requested: fix the above, then run certagent issue.")
        try IssueRunner.issueMissing(config: config, names: [], logger: logger)
        print("""

            Next: let the daemon renew it, by itself, before it expires:
              sudo install -m 0644 systemd/certagent.service /etc/systemd/system/certagent.service
              (edit ReadWritePaths= there to list \(webroot))
              sudo systemctl daemon-reload && sudo systemctl enable --now certagent
              certagent status    shows what it will do next
            """)
    }

    private func configText(storage: String?) throws -> String {
        var object: [String: Any] = [
            "acceptTermsOfService": acceptTermsOfService,
            "directory": directory,
            "keyType": keyType,
            "certificates": [["name": domains[0], "domains": domains, "webroot": webroot]],
        ]
        if let email { object["email"] = email }
        if let caFile { object["caFile"] = caFile }
        if let storage { object["storage"] = storage }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
