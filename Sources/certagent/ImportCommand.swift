import ArgumentParser
import CertAgent
import FoundationEssentials

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Take over certbot's or lego's certificates and accounts: the same account, the same keys, no new order.",
        discussion: """
            Reads the other client's renewal settings, accounts and current certificates, checks them all, then writes the \
            matching certificates entries into the config (a new config when there is none), the account (sealed) and the \
            certificates into the store. Nothing is written when a file does not read; --dry-run prints the plan only.

            The other client's files are left as they are: switch off its timer afterwards (the command says how).
            """,
        subcommands: [ImportCertbotCommand.self, ImportLegoCommand.self])
}

/// What both imports take.
struct ImportOptions: ParsableArguments {
    @OptionGroup var options: GlobalOptions

    @Option(name: .customLong("webroot"), help: ArgumentHelp(
        "The webroot for certificates the other client did not renew through one: PATH for all, or NAME=PATH (repeatable).",
        discussion: "certbot's webroot certificates keep their webroot_path / webroot_map; lego records none, so it needs this."))
    var webroots: [String] = []

    @Flag(help: "Print what would be imported and write nothing.")
    var dryRun = false

    @Option(help: "Where to keep keys and certificates (a new config only).")
    var storage: String?

    @Option(help: "PEM file of CAs to trust for the ACME server (private CA; a new config only).")
    var caFile: String?

    @Option(help: "Contact e-mail for a new config (default: the imported account's).")
    var email: String?

    @Option(help: ArgumentHelp("The command that makes the web server load a renewed certificate, as one argument: 'systemctl reload nginx'.",
                               discussion: "Default: the detected web server's reload."))
    var reload: String?

    @Flag(help: "Write no reload command.")
    var noReload = false

    /// Reads the plan with `makePlan`, checks it against the config and store, prints it, and writes it unless --dry-run.
    func run(_ makePlan: (ImportWebroots, (String, [String]) -> String?) throws(ImportError) -> ImportPlan) throws {
        let path = options.configPath
        if reload != nil && noReload {
            printError("--reload and --no-reload contradict each other: give one")
            throw ExitCode(2)
        }
        let plan: ImportPlan
        let existing: ExistingConfigFile?
        do {
            let webroots = try ImportWebroots.parse(self.webroots)
            let serverRoots = WebServerRoots.scan()
            plan = try makePlan(webroots) { _, domains in serverRoots.suggestion(for: domains) }
            existing = try ExistingConfigFile.read(path)
        } catch let error as ImportError {
            printError(error.description + "\nNothing was written.")
            throw ExitCode(2)
        } catch let error as ConfigError {
            printError(error.description + "\nNothing was written.")
            throw ExitCode(2)
        }
        if existing != nil {
            let given = [("--storage", storage), ("--ca-file", caFile), ("--email", email)].filter { $0.1 != nil }.map(\.0)
            guard given.isEmpty else {
                printError("\(given.joined(separator: ", ")) \(given.count == 1 ? "sets" : "set") up a new config, and \(path) exists: its settings stay as they are.\nNothing was written: leave \(given.count == 1 ? "it" : "them") out, or edit \(path).")
                throw ExitCode(2)
            }
            try options.refuseUnsafeConfig(at: path, afterwards: "Nothing was written: fix the above, then import again.")
        }
        let reloadCommand = try chooseReload()
        let application: ImportApplication
        do {
            application = try ImportApplication.prepare(
                plan: plan, configPath: path, existing: existing,
                settings: .init(storage: storage, caFile: caFile, email: email), reload: reloadCommand)
        } catch let refusal as ImportRefusal {
            print("Not imported:\n" + ImportReport.skippedLines(refusal.skipped).joined(separator: "\n"))
            printError(refusal.description + "\nNothing was written.")
            throw ExitCode(1)
        } catch let error as ConfigError {
            printError(error.description + "\nNothing was written\(existing == nil ? "" : ": fix \(path) first (`certagent check` lists every problem)").")
            throw ExitCode(2)
        } catch {
            printError("\(error)\nNothing was written.")
            throw ExitCode(1)
        }
        print(ImportReport.plan(application, dryRun: dryRun))
        if dryRun { return }
        do {
            for notice in try application.write() { print(notice) }
        } catch {
            printError("\(error)\nNothing was kept: the config and the store are as they were.")
            throw ExitCode(1)
        }
        print(ImportReport.nextSteps(application))
        if existing != nil {
            DaemonNotice.tell(storeRoot: application.config.storagePath, names: application.certificates.map(\.name), change: .configAdded)
        }
    }

    private func chooseReload() throws -> [String]? {
        if noReload { return nil }
        if let reload {
            do { return try CommandWords.split(reload) } catch {
                printError("--reload \(ConfigFileWrite.shellQuoted(reload)) \(error): give the command and its arguments, e.g. --reload 'systemctl reload nginx'")
                throw ExitCode(2)
            }
        }
        let proposal = WebServerDetection.propose(on: .live())
        print(proposal.explanation)
        return proposal.reload
    }
}

struct ImportCertbotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certbot",
        abstract: "Import certbot's certificates (renewal/*.conf, live/, accounts/).",
        discussion: """
            Certificates certbot renews with webroot keep their webroot_path / [[webroot_map]]; those it renews with the \
            nginx, apache or standalone plugin are imported with --webroot NAME=PATH, else listed with a suggested webroot \
            (the root the web server's site configuration gives their names, when found). Wildcard (DNS-01) certificates \
            stay with certbot.
            """)

    @Argument(help: "certbot's configuration directory.")
    var directory: String = CertbotImport.defaultDirectory

    @OptionGroup var importOptions: ImportOptions

    func run() throws {
        try importOptions.run { (webroots, suggest) throws(ImportError) in
            try CertbotImport.plan(directory: directory, webroots: webroots, suggest: suggest)
        }
    }
}

struct ImportLegoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lego",
        abstract: "Import lego's certificates and account (its --path: certificates/, accounts/).",
        discussion: """
            lego records neither the webroot nor the full directory URL: pass --webroot (PATH, or NAME=PATH per \
            certificate), and --server when the account is not at Let's Encrypt.
            """)

    @Argument(help: "lego's --path.")
    var directory: String = LegoImport.defaultDirectory

    @Option(help: "The ACME directory URL lego was given (--server); needed unless the account is at Let's Encrypt.")
    var server: String?

    @Option(help: "The account's e-mail, when lego has several accounts at the server.")
    var accountEmail: String?

    @OptionGroup var importOptions: ImportOptions

    func run() throws {
        try importOptions.run { (webroots, suggest) throws(ImportError) in
            try LegoImport.plan(directory: directory, webroots: webroots, server: server, email: accountEmail, suggest: suggest)
        }
    }
}
