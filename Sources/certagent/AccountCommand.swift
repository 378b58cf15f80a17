import ArgumentParser
import CertAgent
import ACME
import CertCrypto
import FoundationEssentials
import Logging

extension KeyType: ExpressibleByArgument {}

/// `certagent account show|update|rollover|deactivate`: the ACME account's whole life (RFC 8555 §7.3).
struct AccountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "account",
        abstract: "Show the ACME account, send its contact, roll its key over, or deactivate it.",
        subcommands: [AccountShowCommand.self, AccountUpdateCommand.self, AccountRolloverCommand.self, AccountDeactivateCommand.self])
}

/// `--ca`: which configured CA's account (each has its own); the first when absent.
struct AccountAuthorityOption: ParsableArguments {
    @Option(name: .customLong("ca"), help: "The CA whose account this is, when \"directory\" lists several: its position (1, 2, …), known name or directory URL (default: the first).")
    var ca: String?

    /// The configured CA `--ca` names, or exit 2 listing those configured.
    func authority(in config: AgentConfig) throws -> CertificateAuthorityConfig {
        guard let ca else { return config.primaryAuthority }
        let authorities = config.certificateAuthorities
        if let position = Int(ca), (1...authorities.count).contains(position) { return authorities[position - 1] }
        let url = KnownDirectory(rawValue: ca)?.url ?? ca
        if let found = config.certificateAuthority(directoryURL: url) { return found }
        let listed = authorities.enumerated().map { "\($0.offset + 1). \($0.element.displayName)" }.joined(separator: ", ")
        printError("--ca \(TerminalText.safe(ca)): \(config.sourcePath) has no such CA (configured: \(listed))")
        throw ExitCode(2)
    }
}

/// The config, store access and session every account subcommand needs, for the account at one CA.
private struct AccountContext {
    let session: AgentSession
    let accounts: AccountManager
    let transport: any HTTPTransport
    let logger: Logger

    init(_ options: GlobalOptions, authority: AccountAuthorityOption) throws {
        let logger = options.logger()
        let config = try options.loadConfig()
        let chosen = try authority.authority(in: config)
        try options.requireStoreAccess(config, .write)
        try self.init(logger: logger, config: config, authority: chosen)
    }

    /// A context for a config already loaded and checked.
    init(logger: Logger, config: AgentConfig, authority: CertificateAuthorityConfig) throws {
        self.logger = logger
        session = try AgentSession(config: config, logger: logger)
        accounts = AccountManager(store: session.store, config: config, secrets: session.secrets, authority: authority)
        transport = try session.transport(for: authority)
    }

    /// Runs `body`; a failure is printed as a ✗ line and exits 1.
    func run<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            printError("✗ \(what): \(error)")
            throw ExitCode(1)
        }
    }
}

struct AccountShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show the account as the CA reports it: URL, status, contact, key type and thumbprint, creation time.",
        discussion: "Asks the CA (nothing is created: without an account it says so). JSON fields: directory, exists, url, status, contact, configuredContact, keyType, keyThumbprint, keyFile, createdAt, keyRolledOverAt, deactivatedAt, refusal (those that do not apply are left out).")

    @OptionGroup var options: GlobalOptions
    @OptionGroup var authority: AccountAuthorityOption

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        let context = try AccountContext(options, authority: authority)
        let overview = try context.run("account") {
            try context.accounts.overview(transport: context.transport, clock: context.session.clock, logger: context.logger)
        }
        print(json ? try overview.json() : overview.text)
    }
}

struct AccountUpdateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update",
        abstract: "Send the config's contact e-mails (\"email\") to the CA.",
        discussion: "The config is the source of truth; a changed \"email\" is also sent by itself at the next connection.")

    @OptionGroup var options: GlobalOptions
    @OptionGroup var authority: AccountAuthorityOption

    func run() throws {
        let context = try AccountContext(options, authority: authority)
        let account = try context.run("account update") {
            try context.accounts.updateContact(transport: context.transport, clock: context.session.clock, logger: context.logger)
        }
        print("✓ account \(account.url): the CA holds the contact \(account.contact.isEmpty ? "none" : account.contact.joined(separator: ", "))")
    }
}

struct AccountRolloverCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollover",
        abstract: "Replace the account key with a new one at the CA (RFC 8555 §7.3.5); the account and its certificates stay.",
        discussion: "The new key is sealed and staged before the CA is asked, and the old one is kept until the CA confirms: an interrupted rollover is finished or undone at the next start.")

    @OptionGroup var options: GlobalOptions
    @OptionGroup var authority: AccountAuthorityOption

    @Option(name: .customLong("key-type"), help: "The new key's type: ec256, ec384, rsa2048, rsa3072 or rsa4096 (default: the current key's type).")
    var keyType: KeyType?

    func run() throws {
        let context = try AccountContext(options, authority: authority)
        let result = try context.run("account rollover") {
            try context.accounts.rollover(to: keyType, transport: context.transport, clock: context.session.clock, logger: context.logger)
        }
        print("✓ account \(result.accountURL): key rolled over to a new \(result.keyType.rawValue) key "
              + "(thumbprint \(result.newThumbprint); the old key \(result.oldThumbprint) is no longer accepted)")
    }
}

struct AccountDeactivateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deactivate",
        abstract: "Deactivate the account at the CA for good; the next issuance registers a new account with a new key.",
        discussion: "Certificates already issued stay valid. Asks for confirmation on a terminal; elsewhere --yes is required.")

    @OptionGroup var options: GlobalOptions
    @OptionGroup var authority: AccountAuthorityOption

    @Flag(help: "Deactivate without asking (required when standard input is not a terminal).")
    var yes = false

    func run() throws {
        let logger = options.logger()
        let config = try options.loadConfig()
        let chosen = try authority.authority(in: config)
        try options.requireStoreAccess(config, .write)
        try Confirmation.require("Deactivate the ACME account at \(chosen.displayName)? This cannot be undone.",
                                 yes: yes, command: "certagent account deactivate")
        let context = try AccountContext(logger: logger, config: config, authority: chosen)
        let record = try context.run("account deactivate") {
            try context.accounts.deactivate(transport: context.transport, clock: context.session.clock, logger: context.logger)
        }
        print("✓ account \(record.url) deactivated; its key is removed and the next issuance registers a new account")
    }
}

