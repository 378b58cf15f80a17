import ACME
import ArgumentParser
import CertAgent
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Add a certificate in one command: write (or add to) the config, get the certificate now, and say how to serve it and run the daemon.",
        discussion: """
            Example: certagent init --domain example.com --domain www.example.com --webroot /var/www/html \\
                       --email admin@example.com --accept-terms-of-service

            Run again with other domains to add another certificate: every certificate already in the config stays as it
            is. A name or domain already configured is an error; --force updates that certificate (its domains, webroot,
            and the reload when given), after listing the changes and asking (--yes to confirm without a terminal).
            When the certificate cannot be issued, nothing is kept: the config is removed (or, when adding, left as it
            was), so running the same command again after the fix just works.

            The web server is looked for (nginx, Apache: their programs, running processes, pid files and systemd units)
            and its reload written as install.reload: `systemctl reload nginx` where systemd runs it, else the server's
            own (`nginx -s reload`, `apachectl graceful`). --reload 'CMD ARGS' sets another: one argument, split into
            words on blanks with '…' or "…" quoting (no shell). --no-reload writes none.
            """)

    @OptionGroup var options: GlobalOptions

    @Option(name: .customLong("domain"), help: "A DNS name for the certificate (repeat for more; the first names it).")
    var domains: [String] = []

    @Option(help: "The certificate's name in the config and the store (default: the first domain).")
    var name: String?

    @Option(help: "The directory your web server serves for these names.")
    var webroot: String

    @Option(help: "Contact e-mail for the CA (a new config only).")
    var email: String?

    @Option(help: ArgumentHelp("ACME directory URL, or letsencrypt / letsencrypt-staging (a new config only).", discussion: "Default: letsencrypt."))
    var directory: String?

    @Option(help: "PEM file of CAs to trust for the ACME server (private CA; a new config only).")
    var caFile: String?

    @Option(help: ArgumentHelp("Where to keep keys and certificates (outside every webroot; a new config only).",
                               discussion: "Default: /var/lib/certagent as root (the service's store), else beside the webroot."))
    var storage: String?

    @Option(help: ArgumentHelp("ec256, ec384, rsa2048, rsa3072 or rsa4096.", discussion: "Default: ec256, or the config's keyType when adding."))
    var keyType: String?

    @Option(help: ArgumentHelp("The command that makes the web server load the new certificate, as one argument: 'systemctl reload nginx'.",
                               discussion: "Split into words on blanks ('…' and \"…\" quote); run without a shell. Default: the detected web server's reload."))
    var reload: String?

    @Flag(help: "Write no reload command (the web server re-reads the files by itself, or you deploy otherwise).")
    var noReload = false

    @Flag(help: "You agree to the CA's terms of service (Let's Encrypt requires it).")
    var acceptTermsOfService = false

    @Flag(help: "Update the certificate of this name when it is already configured (the changes are listed and confirmed).")
    var force = false

    @Flag(help: "Confirm --force without asking.")
    var yes = false

    @Flag(help: ArgumentHelp("Order without the pre-flight check of a first certificate's names.",
                             discussion: "The check fetches a probe file through every address of every name, as the CA would, and refuses to order when one fails."))
    var skipPreflight = false

    func run() throws {
        let logger = options.logger()
        let path = options.configPath
        guard !domains.isEmpty else {
            printError("give at least one --domain")
            throw ExitCode(2)
        }
        if reload != nil && noReload {
            printError("--reload and --no-reload contradict each other: give one")
            throw ExitCode(2)
        }
        let problems = domains.compactMap(InitArguments.domainProblem) + (self.name.flatMap(InitArguments.nameProblem).map { [$0] } ?? [])
        guard problems.isEmpty else {
            printError(problems.joined(separator: "\n") + "\nNothing was written.")
            throw ExitCode(2)
        }
        let name = self.name ?? IPAddressEntry.defaultCertificateName(for: domains[0])
        let existing: ExistingConfigFile?
        do { existing = try ExistingConfigFile.read(path) } catch {
            printError(error.description + "\nNothing was changed.")
            throw ExitCode(2)
        }
        if existing != nil {
            try options.refuseUnsafeConfig(at: path, afterwards: "Nothing was changed: fix the above, then run init again.")
        }
        let (reloadCommand, serverKind) = try chooseReload()

        // The whole new text is validated before anything is written: a bad domain or webroot leaves no file behind.
        let text: String
        let config: AgentConfig
        let updating = existing.map { ConfigEditor.names(in: $0.bytes).contains(name) } ?? false
        do {
            if let existing {
                text = try plannedAddition(to: existing, name: name, reload: reloadCommand)
            } else {
                let draft = try ConfigLoader.parse(Data(newConfigText(name: name, storage: storage, reload: reloadCommand).utf8), path: path)
                text = newConfigText(name: name, storage: draft.storagePath, reload: reloadCommand)
            }
            config = try ConfigLoader.parse(Data(text.utf8), path: path)
        } catch let error as ConfigError {
            printError(error.description + (existing == nil ? "\nNothing was written." : "\nNothing was changed."))
            throw ExitCode(2)
        }
        let written: ConfigFileWrite
        do {
            written = try ConfigFileWrite(path: path, previous: existing)
            try written.write(text)
        } catch ConfigEditError.changedMeanwhile(let file) {
            printError(ConfigEditError.changedMeanwhile(file: file).description)
            throw ExitCode(1)
        } catch {
            printError("\(error)\nNothing was \(existing == nil ? "written" : "changed"): pass --config with a path you can write (or run as the user who owns \(path)).")
            throw ExitCode(1)
        }
        print(existing == nil ? "Wrote \(path)" : "\(updating ? "Updated" : "Added") the certificate \(name) \(updating ? "in" : "to") \(path)")
        if existing == nil {
            do {
                try options.refuseUnsafeConfig(at: path, afterwards: "Nothing was kept (\(path) was removed) and no certificate was requested: fix the above, then run the same init again.")
            } catch {
                written.undo()
                throw error
            }
        }
        // A store that cannot be made is a flag to change, not a half-set-up config.
        do {
            _ = try CertificateStore(config: config)
        } catch {
            written.undo()
            let what = existing == nil ? "\(path) was removed" : "\(path) is as it was"
            printError("cannot use the store \(config.storagePath): \(error)\nNothing was kept (\(what)) and no certificate was requested: "
                       + (existing == nil ? "pass --storage with a directory you can create (outside every webroot), or fix its permissions" : "fix the store's permissions (the config names it)")
                       + ", then run the same init again.")
            throw ExitCode(1)
        }

        var failures: [String] = []
        var thrown: (any Error)?
        do { failures = try IssueRunner.issue(config: config, names: [name], skipPreflight: skipPreflight, logger: logger).failures } catch { thrown = error }
        // Kept only when the store now holds a usable certificate for exactly this entry (a failed deployment is
        // retried by the daemon; a failed issuance or update leaves nothing behind).
        let store = try? CertificateStore(config: config, create: false)
        let usable = store.flatMap { store in config.certificate(named: name).map { StoredCertificateState.inspect($0, in: store, now: Date()).isUsable } } ?? false
        guard usable, let files = store?.currentFiles(name) else {
            written.undo()
            let what = existing == nil ? "\(path) was removed" : "\(path) is as it was"
            // An interruption (or a session that could not start) has said what happened already: no hint to guess.
            let hint = thrown == nil ? ": " + InitGuidance.fixHint(for: failures, webroot: webroot, domains: domains.map { $0.lowercased() }) : ""
            printError("Nothing was kept (\(what))\(hint).")
            throw thrown ?? ExitCode(1)
        }

        print("\nServe it: point the web server at the stable paths (they always hold the current certificate):")
        print(InitGuidance.servingLines(kind: serverKind, files: files))
        if let reloadCommand {
            print("After each renewal CertAgent runs: \(reloadCommand.joined(separator: " "))")
        } else if noReload {
            print("No reload command (--no-reload): make sure the web server loads the renewed files by itself.")
        } else {
            print("No reload command is configured: the web server keeps serving the old certificate until it is reloaded. Add \"install\": {\"reload\": [\"…\"]} to the certificate in \(path) if it needs one.")
        }
        print("")
        if existing == nil {
            let home = ProcessInfo.processInfo.environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path
            let defaultPath = geteuid() == 0 ? "/etc/certagent/config.json" : "~/.config/certagent/config.json"
            let shownPath = geteuid() == 0 || !path.hasPrefix(home + "/") ? path : "~/" + path.dropFirst(home.count + 1)
            let binary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
            print(InitGuidance.nextSteps(asRoot: geteuid() == 0, userName: ConfigFileWrite.currentUserName(), binary: binary,
                                         configPath: shownPath, defaultConfigPath: defaultPath, webroots: [webroot]))
        } else {
            DaemonNotice.tell(storeRoot: config.storagePath, names: [name], change: .configAdded)
        }
        if let thrown { throw thrown }
        if !failures.isEmpty { throw ExitCode(1) }
    }

    /// The reload command to write, and the server to print directives for: `--reload`, none for `--no-reload`, else
    /// the detected server's (saying what was found, or why none was chosen).
    private func chooseReload() throws -> (command: [String]?, kind: WebServerKind?) {
        if noReload { return (nil, nil) }
        if let reload {
            do {
                return (try CommandWords.split(reload), nil)
            } catch {
                printError("--reload \(ConfigFileWrite.shellQuoted(reload)) \(error): give the command and its arguments, e.g. --reload 'systemctl reload nginx'")
                throw ExitCode(2)
            }
        }
        let proposal = WebServerDetection.propose(on: .live())
        print(proposal.explanation)
        return (proposal.reload, proposal.kind)
    }

    private func newConfigText(name: String, storage: String?, reload: [String]?) -> String {
        var settings: [OrderedJSON.Member] = []
        if let email { settings.append(.init("email", .string(email))) }
        settings.append(.init("acceptTermsOfService", .bool(acceptTermsOfService)))
        settings.append(.init("directory", .string(directory ?? "letsencrypt")))
        if let caFile { settings.append(.init("caFile", .string(caFile))) }
        if let storage { settings.append(.init("storage", .string(storage))) }
        settings.append(.init("keyType", .string(keyType ?? ConfigLoader.defaultKeyType.rawValue)))
        let entry = CertificateEntry(name: name, domains: domains, webroot: webroot, reload: reload)
        return ConfigEditor.newConfig(settings: settings, certificate: entry)
    }

    /// The existing config with this certificate added (or, with --force, updated after confirmation). Settings every
    /// certificate shares are never changed here: a flag that disagrees with the config is an error naming both.
    private func plannedAddition(to existing: ExistingConfigFile, name: String, reload: [String]?) throws -> String {
        let current: AgentConfig
        do {
            current = try ConfigLoader.parse(existing.bytes, path: existing.path)
        } catch let error as ConfigError {
            printError(error.description + "\nNothing was changed: fix \(existing.path) first (`certagent check` lists every problem); init adds to a valid config only.")
            throw ExitCode(2)
        }
        var conflicts: [String] = []
        if let email, current.emails != [email] {
            conflicts.append("--email \(email): the config's email is \(current.emails.isEmpty ? "not set" : current.emails.joined(separator: ", "))")
        }
        if let directory {
            let url = KnownDirectory(rawValue: directory)?.url ?? directory
            if url != current.directoryURL { conflicts.append("--directory \(directory): the config's directory is \(current.directoryURL)") }
        }
        if let caFile, caFile != current.caFile { conflicts.append("--ca-file \(caFile): the config's caFile is \(current.caFile ?? "not set")") }
        if let storage, PathSafety.canonical(storage) != PathSafety.canonical(current.storagePath) {
            conflicts.append("--storage \(storage): the config's store is \(current.storagePath)")
        }
        if acceptTermsOfService && !current.acceptTermsOfService {
            conflicts.append("--accept-terms-of-service: the config says \"acceptTermsOfService\": false (set it to true there if you agree)")
        }
        guard conflicts.isEmpty else {
            printError("\(existing.path) already exists and init only adds certificates to it: settings every certificate shares stay as they are.\n"
                       + conflicts.map { "  " + $0 }.joined(separator: "\n")
                       + "\nNothing was changed: leave these flags out to use the config's settings, or edit \(existing.path) to change them for every certificate.")
            throw ExitCode(2)
        }
        let wanted = domains.map { $0.lowercased() }
        for certificate in current.certificates where certificate.name != name {
            let shared = certificate.domains.filter(wanted.contains)
            if !shared.isEmpty {
                printError("\(shared.joined(separator: ", ")) \(shared.count == 1 ? "is" : "are") already in the certificate \(certificate.name) (\(certificate.domains.joined(separator: ", "))) in \(existing.path).\nNothing was changed: to change that certificate, run init --name \(certificate.name) --force with its full list of --domain; or choose other domains.")
                throw ExitCode(2)
            }
        }
        let keyTypeField = keyType.flatMap { $0 == (existing.keyType ?? ConfigLoader.defaultKeyType.rawValue) ? nil : $0 }
        guard let index = current.certificates.firstIndex(where: { $0.name == name }) else {
            do {
                return try ConfigEditor.adding(CertificateEntry(name: name, domains: domains, webroot: webroot, keyType: keyTypeField, reload: reload),
                                               to: existing.text, file: existing.path)
            } catch {
                printError(error.description)
                throw ExitCode(2)
            }
        }
        let before = current.certificates[index]
        guard force else {
            printError("the certificate \(name) is already in \(existing.path) (\(before.domains.joined(separator: ", "))).\nNothing was changed: pass --force to update it (the changes are listed and confirmed), or --name to add another certificate.")
            throw ExitCode(2)
        }
        var changes: [(path: [String], value: OrderedJSON)] = []
        var listed: [String] = []
        if before.domains != wanted {
            changes.append((["domains"], .strings(domains)))
            listed.append("domains: \(before.domains.joined(separator: ", ")) → \(wanted.joined(separator: ", "))")
        }
        let oldWebroots = Set(before.webroots.values)
        if oldWebroots != [webroot] {
            changes.append((["webroot"], .string(webroot)))
            listed.append("webroot: \(oldWebroots.sorted().joined(separator: ", ")) → \(webroot)")
        }
        if let keyType, keyType != before.keyType.rawValue {
            changes.append((["keyType"], .string(keyType)))
            listed.append("keyType: \(before.keyType.rawValue) → \(keyType)")
        }
        if let reload, before.install?.reload?.arguments != reload {
            changes.append((["install", "reload"], .strings(reload)))
            listed.append("install.reload: \(before.install?.reload?.displayText ?? "none") → \(reload.joined(separator: " "))")
        }
        guard !changes.isEmpty else {
            printError("the certificate \(name) in \(existing.path) already has these settings: nothing to change (`certagent issue \(name)` gets it if it has no certificate yet)")
            throw ExitCode(2)
        }
        print("Updating the certificate \(name) in \(existing.path) (its other fields and every other certificate stay as they are):")
        for line in listed { print("  " + line) }
        try confirm("Update \(name)?")
        do {
            return try ConfigEditor.updating(certificateAt: index, setting: changes, in: existing.text, file: existing.path)
        } catch {
            printError(error.description)
            throw ExitCode(2)
        }
    }

    /// Goes on with --yes, or after "y" on a terminal; otherwise exits with status 2 and nothing changed.
    private func confirm(_ question: String) throws {
        if yes { return }
        guard isatty(STDIN_FILENO) == 1 else {
            printError("Nothing was changed: pass --yes to confirm without a terminal.")
            throw ExitCode(2)
        }
        StandardStream.output("\(question) [y/N] ")
        let answer = readLine()?.trimmingWhitespace().lowercased()
        guard answer == "y" || answer == "yes" else {
            printError("Nothing was changed.")
            throw ExitCode(2)
        }
    }
}
