import ArgumentParser
import CertAgent
import FoundationEssentials

/// `certagent notify --test`: sends a test message through every configured channel and says, per channel, whether
/// it was accepted.
struct NotifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notify",
        abstract: "Send a test notification through every configured channel (email, webhook).",
        discussion: "Prints one line per channel: accepted, or why not. Exit status 0 when every channel accepted it, 1 when one failed, 2 when the config sets up no notification channel (or is invalid).")

    @OptionGroup var options: GlobalOptions

    @Flag(name: .long, help: "Send a test message (the only action for now).")
    var test = false

    func validate() throws {
        guard test else { throw ValidationError("say what to do: certagent notify --test") }
    }

    func run() throws {
        _ = options.logger()
        let config = try options.loadConfig()
        let blocks = config.allNotifySettings
        guard !blocks.isEmpty else {
            printError("\(config.sourcePath): no notify block: add \"notify\": {\"email\": …} or {\"webhook\": …} (see README, Being told)")
            throw ExitCode(2)
        }
        // The sealed secrets are opened only when a channel uses one: a webhook without secrets needs no master key.
        var secrets: AgentSecrets?
        if !config.referencedSecrets.isEmpty {
            try options.requireStoreAccess(config, .read)
            do {
                let store = try CertificateStore(config: config, create: false)
                secrets = try AgentSecrets.open(config: config, store: store, create: false)
            } catch {
                printError("cannot open the sealed secrets the channels use: \(error)")
                throw ExitCode(1)
            }
        }
        let secretValue: (String) throws -> [UInt8] = { name in
            guard let secrets else { throw NotificationDeliveryError("the secret \(name) is not available") }
            return try secrets.secrets.value(named: name)
        }
        let notification = NotificationService.testNotification()
        var failed = 0
        // Each channel once, though several blocks (a certificate's own) may name it.
        var emails: [EmailNotifyConfig] = []
        var webhooks: [WebhookConfig] = []
        for var block in blocks {
            if let email = block.email { if emails.contains(email) { block.email = nil } else { emails.append(email) } }
            if let webhook = block.webhook { if webhooks.contains(webhook) { block.webhook = nil } else { webhooks.append(webhook) } }
            for channel in NotificationChannels.make(block, secretValue: secretValue) {
                do {
                    try channel.deliver(notification)
                    print("\(channel.displayName): accepted")
                } catch {
                    failed += 1
                    print("\(channel.displayName): \(error)")
                }
            }
        }
        if failed > 0 { throw ExitCode(1) }
    }
}
