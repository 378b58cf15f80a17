import CertAgent
import FoundationEssentials

/// Tells the daemon running on a store that a command changed certificates there, and prints one line saying so.
enum DaemonNotice {
    /// What the config change, if any, did to the named certificates.
    enum Change {
        /// Certificates in the store changed: the daemon re-inspects them (SIGUSR1).
        case certificates
        /// The config gained these certificates: the daemon reloads it (SIGHUP).
        case configAdded
        /// The config lost these certificates: the daemon reloads it (SIGHUP).
        case configRemoved
    }

    /// Tells the daemon on `storeRoot` (if one runs) about `names`, and prints what happened.
    static func tell(storeRoot: String, names: [String], change: Change = .certificates) {
        guard !names.isEmpty else { return }
        print(line(DaemonPIDFile.notify(storeRoot: storeRoot, configChanged: change != .certificates),
                   names: names.joined(separator: ", "), change: change))
    }

    static func line(_ notification: DaemonNotification, names: String, change: Change) -> String {
        switch notification {
        case .told(let pid):
            switch change {
            case .certificates: return "  the running daemon (pid \(pid)) will look at \(names) now"
            case .configAdded: return "  the running daemon (pid \(pid)) re-reads the config now and looks after \(names)"
            case .configRemoved: return "  the running daemon (pid \(pid)) re-reads the config now and stops renewing \(names)"
            }
        case .noDaemon(let stale):
            return "  no certagent daemon is running on this store\(stale.map { " (\($0))" } ?? "")"
                + (change == .configRemoved ? "" : ": it looks at \(names) when it starts")
        case .failed(let pid, let reason):
            return "  the daemon (pid \(pid)) could not be told (\(reason)): `systemctl reload certagent` makes it look at \(names) now"
        }
    }
}
