import ArgumentParser
import CertAgent

/// `certagent config …`: facts about the config file itself.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Facts about the config file: its JSON Schema.",
        subcommands: [ConfigSchemaCommand.self])
}

/// `certagent config schema`: the config's JSON Schema (draft 2020-12), for editors.
struct ConfigSchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print the config's JSON Schema (draft 2020-12) for editors.",
        discussion: "The package installs the same schema as \(ConfigSchema.installedPath); a config names it with \"$schema\": \"\(ConfigSchema.installedURI)\". An editor then checks types, names, limits and patterns as you type; `certagent check` checks all of that and what a schema cannot see (files, users, webroots, secrets). Reads no config.")

    func run() throws {
        print(ConfigSchema.text, terminator: "")
    }
}
