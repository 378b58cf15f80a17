import ArgumentParser
import CertAgent
import FoundationEssentials

struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Print the Prometheus metrics (text exposition) the daemon writes to metricsFile.",
        discussion: "Per certificate: expiry, last renewal, consecutive failures, next planned renewal. The daemon's last pass and notification delivery failures come from metricsFile, when it is configured and written.")

    @OptionGroup var options: GlobalOptions

    func run() throws {
        _ = options.logger()
        let config = try options.loadConfig()
        try options.requireStoreAccess(config, .read)
        let store: CertificateStore
        do { store = try CertificateStore(config: config, create: false) } catch {
            printError("\(config.sourcePath): storage: \(error)")
            throw ExitCode(2)
        }
        let published = config.metricsFile.map(MetricsWriter.publishedProcessValues(path:)) ?? (lastPass: nil, notificationDeliveryFailures: nil)
        print(MetricsWriter.exposition(config: config, store: store, now: Date(), lastPass: published.lastPass,
                                       notificationDeliveryFailures: published.notificationDeliveryFailures), terminator: "")
    }
}
