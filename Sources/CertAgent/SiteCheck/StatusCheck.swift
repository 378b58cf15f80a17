import ACME
import FoundationEssentials

/// `certagent status --check`: the monitoring-plugin convention (Nagios, Icinga, Zabbix, Sensu): exit 0 OK,
/// 1 WARNING, 2 CRITICAL, 3 UNKNOWN, and one summary line first.
///
/// - CRITICAL: a configured certificate is missing, unreadable, does not match its key, does not cover every
///   configured name, has expired or was revoked — or is at risk: less than max(share × lifetime, floor) left, the
///   notifications' rule (`NotifyConfig.atRiskLead`; by default a sixth of the lifetime, at least 2 days).
/// - WARNING (none critical): a renewal failure being retried, a failed deployment being retried, a name serving
///   another certificate than the current one, a name whose site could not be reached.
/// - OK: everything else (a site not checked yet is OK, and said so).
/// - UNKNOWN: the state could not be read (bad config, unreadable store) — decided by the caller.
/// - Fleet mode adds WARNINGs (`FleetStatus.findings`): etcd unreachable, this node's daemon not in the fleet, a node
///   that failed to deploy or still lacks the fleet's version, a lock held for over an hour.
public enum StatusCheck {
    public enum Level: Int, Sendable, Comparable, CaseIterable {
        case ok = 0, warning = 1, critical = 2, unknown = 3

        public var label: String {
            switch self {
            case .ok: "OK"
            case .warning: "WARNING"
            case .critical: "CRITICAL"
            case .unknown: "UNKNOWN"
            }
        }

        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
    }

    /// What `--check` looks at for one certificate.
    public struct Input: Sendable, Equatable {
        public var name: String
        public var state: CertificateState
        public var notBefore: Date?
        public var notAfter: Date?
        public var failures: Int
        public var deployFailing: Bool
        public var site: [SiteNameResult]

        public init(name: String, state: CertificateState, notBefore: Date?, notAfter: Date?, failures: Int,
                    deployFailing: Bool, site: [SiteNameResult]) {
            self.name = name
            self.state = state
            self.notBefore = notBefore
            self.notAfter = notAfter
            self.failures = failures
            self.deployFailing = deployFailing
            self.site = site
        }

        public init(_ status: CertificateStatus) {
            self.init(name: status.name, state: status.state, notBefore: status.notBefore, notAfter: status.notAfter,
                      failures: status.failures ?? 0, deployFailing: status.lastError?.hasPrefix("deployment: ") ?? false,
                      site: status.site)
        }
    }

    /// One finding: how bad, and in words after the certificate's name.
    public struct Finding: Sendable, Equatable {
        public var level: Level
        public var text: String
    }

    /// The result: the level (exit code), the summary line, and the lines after it.
    public struct Report: Sendable, Equatable {
        public var level: Level
        public var summary: String
        public var details: [String]
    }

    /// What is wrong with one certificate at `now` (empty: nothing). `risk` holds the at-risk share and floor (the
    /// config's `notify`, else the defaults), so `--check` and the notifications call the same certificates at risk.
    public static func findings(_ input: Input, now: Date, risk: NotifyConfig = NotifyConfig()) -> [Finding] {
        var found: [Finding] = []
        switch input.state {
        case .notConfigured:
            return []
        case .missing:
            found.append(Finding(level: .critical, text: "\(input.name) has no certificate yet"))
        case .unreadable:
            found.append(Finding(level: .critical, text: "\(input.name) certificate or key unreadable"))
        case .keyMismatch:
            found.append(Finding(level: .critical, text: "\(input.name) certificate does not match its key"))
        case .namesMissing:
            found.append(Finding(level: .critical, text: "\(input.name) certificate does not cover every configured name"))
        case .expired:
            found.append(Finding(level: .critical, text: "\(input.name) expired" + (input.notAfter.map { " at \(TimeText.human($0))" } ?? "")))
        case .revoked:
            found.append(Finding(level: .critical, text: "\(input.name) is revoked"))
        case .valid:
            if let notBefore = input.notBefore, let notAfter = input.notAfter {
                let left = notAfter.timeIntervalSince(now)
                if left < risk.atRiskLead(notBefore: notBefore, notAfter: notAfter) {
                    found.append(Finding(level: .critical, text: "\(input.name) expires in \(duration(left))"))
                }
            }
        }
        if input.failures > 0 {
            found.append(Finding(level: .warning, text: "\(input.name) renewal failing (\(input.failures) failure\(input.failures == 1 ? "" : "s"), retrying)"))
        }
        if input.deployFailing {
            found.append(Finding(level: .warning, text: "\(input.name) deployment failing (retrying)"))
        }
        let other = input.site.filter { $0.served == .other }.map(\.name)
        if !other.isEmpty {
            found.append(Finding(level: .warning, text: "\(input.name) site serves another certificate (\(other.joined(separator: ", ")))"))
        }
        let unreachable = input.site.filter { $0.served == .unreachable }
        if !unreachable.isEmpty {
            let names = unreachable.map { "\($0.name): \($0.reason?.words ?? "unknown")" }
            found.append(Finding(level: .warning, text: "\(input.name) site unreachable (\(names.joined(separator: ", ")))"))
        }
        return found
    }

    /// The whole report over every certificate.
    /// In fleet mode `fleet` adds the fleet's findings (`FleetStatus.findings`) and a line after the certificates'.
    public static func report(_ inputs: [Input], now: Date, risk: NotifyConfig = NotifyConfig(), fleet: FleetStatus? = nil) -> Report {
        let configured = inputs.filter { $0.state != .notConfigured }
        let all = configured.flatMap { findings($0, now: now, risk: risk) } + (fleet?.findings(certificates: configured.map(\.name), now: now) ?? [])
        let level = all.map(\.level).max() ?? .ok
        var summary = "CERTAGENT \(level.label) - "
        if all.isEmpty {
            let count = configured.count
            summary += "\(count) certificate\(count == 1 ? "" : "s") valid"
            let sites = configured.flatMap(\.site)
            if count > 0 {
                summary += sites.contains { $0.served == .unchecked } ? ", sites not all checked yet" : ", sites serve current"
            }
            if let fleet { summary += ", fleet: \(fleet.nodes.count) node\(fleet.nodes.count == 1 ? "" : "s") alive" }
        } else {
            // Worst first, each once.
            summary += all.sorted { $0.level > $1.level }.map(\.text).joined(separator: "; ")
        }
        var details: [String] = []
        for input in configured {
            let words = findings(input, now: now)
            let expiry = input.notAfter.map { ", expires \(TimeText.human($0))" } ?? ""
            details.append("\(input.name): \(input.state.rawValue)\(expiry)" + (words.isEmpty ? "" : " — " + words.map(\.text).joined(separator: "; ")))
        }
        if let fleet {
            let words = fleet.findings(certificates: configured.map(\.name), now: now)
            details.append(fleet.checkDetail + (words.isEmpty ? "" : " — " + words.map(\.text).joined(separator: "; ")))
        }
        return Report(level: level, summary: summary, details: details)
    }

    /// "1 day", "5 days", "7 hours", "12 minutes".
    static func duration(_ seconds: TimeInterval) -> String {
        let s = max(0, seconds)
        if s >= 86_400 { let d = Int(s / 86_400); return "\(d) day\(d == 1 ? "" : "s")" }
        if s >= 3600 { let h = Int(s / 3600); return "\(h) hour\(h == 1 ? "" : "s")" }
        let m = Int(s / 60); return "\(m) minute\(m == 1 ? "" : "s")"
    }
}
