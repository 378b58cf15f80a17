import ArgumentParser
import CertAgent
import FoundationEssentials
import Logging

struct ClusterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Fleet mode (the config's cluster block): several servers behind a load balancer sharing their certificates through etcd.",
        subcommands: [ClusterPushCommand.self, ClusterStatusCommand.self])
}

struct ClusterPushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Upload this server's store (certificates, renewal records, accounts; keys sealed) into the fleet's empty etcd prefix, so the fleet's first node orders nothing again.",
        discussion: "Refuses a prefix that holds anything: a node joining a running fleet catches up by itself when `certagent run` starts.")

    @OptionGroup var options: GlobalOptions

    func run() throws {
        let logger = options.logger()
        let config = try options.loadConfig()
        guard config.cluster != nil else {
            printError("\(config.sourcePath): cluster: no cluster block: add one (node, endpoints, …) before pushing this store to a fleet")
            throw ExitCode(2)
        }
        try options.requireStoreAccess(config, .read)
        let clock = StoppableClock()
        let session: AgentSession
        do { session = try AgentSession(config: config, clock: clock, logger: logger) } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
        do {
            guard let fleet = try FleetCoordinator.forSession(session, clock: clock, logger: logger, announces: false) else { return }
            let report = try FleetPush.push(config: config, store: session.store, membership: fleet.membership, seal: fleet.distribution.seal, now: Date())
            print("✓ pushed \(report.certificates.count) certificate(s) and \(report.accounts) account(s) to \(fleet.membership.keys.prefix)"
                  + (report.certificates.isEmpty ? "" : ": \(report.certificates.joined(separator: ", "))"))
            for name in report.missing { print("  \(name): no certificate in this store (the fleet orders it when due)") }
        } catch {
            printError("✗ cluster push: \(error)")
            throw ExitCode(1)
        }
    }
}

struct ClusterStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the fleet: nodes alive, each certificate's version and which node deployed it, lock holders (also the end of `certagent status`).")

    @OptionGroup var options: GlobalOptions

    func run() throws {
        let config = try options.loadConfig()
        _ = options.logger()
        guard let text = FleetStatusText.text(config: config) else {
            printError("\(config.sourcePath): cluster: no cluster block: this server is not in a fleet")
            throw ExitCode(2)
        }
        print(text)
    }
}

/// The fleet as `status` shows it (nil without a cluster block): read-only, nothing created — only the etcd password
/// (when the block names one) is read from the secrets. A fleet that cannot be read says why (`unreachable`).
enum FleetStatusText {
    static func read(config: AgentConfig) -> FleetStatus? {
        guard let cluster = config.cluster else { return nil }
        do {
            let password = try cluster.passwordSecret.map { name in
                String(decoding: try SecretCLI.open(config: config, create: false).secrets.secrets.value(named: name), as: UTF8.self)
            }
            let membership = FleetMembership(store: try EtcdFleetStore(cluster: cluster, password: password), cluster: cluster,
                                             clock: SystemClock(), announces: false)
            return FleetStatus.read(membership: membership)
        } catch {
            return .unreadable(prefix: FleetKeys(prefix: cluster.prefix).prefix, node: cluster.node, reason: "cannot read the fleet: \(error)")
        }
    }

    /// The fleet's lines of `status` text.
    static func text(config: AgentConfig) -> String? {
        read(config: config)?.text(certificates: config.certificates.map(\.name))
    }
}
