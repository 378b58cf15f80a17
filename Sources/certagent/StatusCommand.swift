import ArgumentParser
import CertAgent
import FoundationEssentials
import Logging

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each certificate: domains, issuer, expiry, what happens next, and what its sites serve.")

    @OptionGroup var options: GlobalOptions

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Flag(help: "Monitoring-plugin output (Nagios/Icinga/Zabbix): one summary line first; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.")
    var check = false

    @Flag(help: "Check what each name's site serves now (TLS to port 443, or the certificate's address) before reporting.")
    var site = false

    func run() throws {
        _ = options.logger()
        let reports: [CertificateStatus]
        let config: AgentConfig
        do {
            (config, reports) = try loadReports()
        } catch {
            // Whatever went wrong was said on stderr; the plugin convention wants a first line and 3.
            if check {
                print("CERTAGENT UNKNOWN - cannot read the config or the store: see the messages above")
                throw ExitCode(3)
            }
            throw error
        }
        // Fleet mode: nodes alive, the version each deployed, lock holders — or why etcd cannot be read.
        let fleet = FleetStatusText.read(config: config)
        if check {
            // The notifications' at-risk rule, so --check and the mails call the same certificates at risk.
            let report = StatusCheck.report(reports.map(StatusCheck.Input.init), now: Date(), risk: config.notify ?? NotifyConfig(), fleet: fleet)
            print(report.summary)
            for line in report.details { print(line) }
            if report.level != .ok { throw ExitCode(Int32(report.level.rawValue)) }
        } else if json {
            var reports = reports
            if let fleet { for index in reports.indices where reports[index].configured { reports[index].fleet = fleet.certificate(reports[index].name) } }
            print(try StatusJSON.encode(reports))
        } else {
            for report in reports { print(report.text) }
            if let fleet { print(fleet.text(certificates: config.certificates.map(\.name))) }
        }
    }

    private func loadReports() throws -> (AgentConfig, [CertificateStatus]) {
        let config = try options.loadConfig()
        try options.requireStoreAccess(config, .read)
        let store: CertificateStore
        do { store = try CertificateStore(config: config, create: false) } catch {
            printError("\(config.sourcePath): storage: \(error)")
            throw ExitCode(2)
        }
        var fresh: [String: [SiteNameResult]] = [:]
        if site {
            let checker = SiteChecker(timeout: 10)
            for certificate in config.certificates {
                let leaf = StoredCertificateState.inspect(certificate, in: store, now: Date()).leaf
                let results = checker.check(certificate, current: leaf, now: { Date() }) ?? []   // never cancelled here (Ctrl-C ends the command)
                fresh[certificate.name] = results
                // Kept for the next plain `status` when this user may write the store; shown either way.
                try? SiteCheckStore(store: store).update(certificate.name) { record in
                    record.checkedAt = Date()
                    record.currentSerial = leaf?.serialHex
                    record.names = results
                }
            }
        }
        var reports = CertificateStatus.all(config: config, store: store, now: Date())   // and those removed from the config by hand
        for index in reports.indices {
            if let results = fresh[reports[index].name] { reports[index].site = results }
        }
        return (config, reports)
    }
}
