import ArgumentParser
import CertAgent
import CertCrypto
import Foundation
import Logging

extension KeyType: ExpressibleByArgument {}

/// `certagent account show|update|rollover|deactivate`: the ACME account's whole life (RFC 8555 §7.3).
struct AccountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "account",
        abstract: "Show the ACME account, send its contact, roll its key over, or deactivate it.",
        subcommands: [AccountShowCommand.self, AccountUpdateCommand.self, AccountRolloverCommand.self, AccountDeactivateCommand.self])
}

/// The config, store access and session every account subcommand needs.
private struct AccountContext {
    let session: AgentSession
    let accounts: AccountManager
    let logger: Logger

    init(_ options: GlobalOptions) throws {
        logger = options.logger()
        let config = try options.loadConfig()
        try options.requireStoreAccess(config, .write)
        session = try AgentSession(config: config, logger: logger)
        accounts = AccountManager(store: session.store, config: config, secrets: session.secrets)
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

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        let context = try AccountContext(options)
        let overview = try context.run("account") {
            try context.accounts.overview(transport: context.session.transport, clock: context.session.clock, logger: context.logger)
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

    func run() throws {
        let context = try AccountContext(options)
        let account = try context.run("account update") {
            try context.accounts.updateContact(transport: context.session.transport, clock: context.session.clock, logger: context.logger)
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

    @Option(name: .customLong("key-type"), help: "The new key's type: ec256, ec384, rsa2048, rsa3072 or rsa4096 (default: the current key's type).")
    var keyType: KeyType?

    func run() throws {
        let context = try AccountContext(options)
        let result = try context.run("account rollover") {
            try context.accounts.rollover(to: keyType, transport: context.session.transport, clock: context.session.clock, logger: context.logger)
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

    @Flag(help: "Deactivate without asking (required when standard input is not a terminal).")
    var yes = false

    func run() throws {
        let logger = options.logger()
        let config = try options.loadConfig()
        try options.requireStoreAccess(config, .write)
        try Confirmation.require("Deactivate the ACME account at \(config.directoryURL)? This cannot be undone.",
                                 yes: yes, command: "certagent account deactivate")
        let context = try AccountContext(options, logger: logger, config: config)
        let record = try context.run("account deactivate") {
            try context.accounts.deactivate(transport: context.session.transport, clock: context.session.clock, logger: context.logger)
        }
        print("✓ account \(record.url) deactivated; its key is removed and the next issuance registers a new account")
    }
}

extension AccountContext {
    /// A context for a config already loaded and checked.
    fileprivate init(_ options: GlobalOptions, logger: Logger, config: AgentConfig) throws {
        self.logger = logger
        session = try AgentSession(config: config, logger: logger)
        accounts = AccountManager(store: session.store, config: config, secrets: session.secrets)
    }
}
