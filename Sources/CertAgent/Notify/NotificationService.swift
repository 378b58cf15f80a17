import CurlHTTP
import FoundationEssentials
import Logging
import Synchronization

/// Looks at certificates after the daemon's work on them, decides with `NotificationEngine` what the admin should
/// hear, remembers it in each certificate's `notify.json`, and hands the messages to `NotificationDelivery` (which
/// sends them on its own queue: a renewal never waits for a notification).
public final class NotificationService: Sendable {
    private let clock: any AgentClock
    private let cancellation: CurlHTTPCancellation?
    private let logger: Logger
    public let delivery: NotificationDelivery
    private let siteFact: @Sendable (String) -> SiteCheckFact?
    /// One evaluation at a time: a job's and a re-plan's look at the same certificate never both send its news.
    private let evaluating = Mutex(())

    /// `siteFact`: what the site check last saw for a certificate (nil: not checked).
    public init(clock: any AgentClock, cancellation: CurlHTTPCancellation? = nil, logger: Logger, delivery: NotificationDelivery,
                siteFact: @escaping @Sendable (String) -> SiteCheckFact? = { _ in nil }) {
        self.clock = clock
        self.cancellation = cancellation
        self.logger = logger
        self.delivery = delivery
        self.siteFact = siteFact
    }

    /// Evaluates the certificates `names` (all when nil) of `session` and queues what is due. `retryAt` says when a
    /// certificate is next worked on (a failing one's retry). Returns the notifications queued.
    @discardableResult
    public func evaluate(_ names: [String]? = nil, session: AgentSession, retryAt: (String) -> Date?) -> [AgentNotification] {
        // A stopping daemon sends nothing more: what is due now is decided again at the next start.
        if clock.isStopped { return [] }
        return evaluating.withLock { _ in evaluateHoldingTheLock(names, session: session, retryAt: retryAt) }
    }

    private func evaluateHoldingTheLock(_ names: [String]?, session: AgentSession, retryAt: (String) -> Date?) -> [AgentNotification] {
        let now = clock.now()
        let states = NotificationStateStore(store: session.store)
        let records = RenewalRecordStore(store: session.store)
        var groups: [(settings: NotifyConfig, batch: [(name: String, events: [AgentNotification])])] = []
        var newStates: [String: NotificationState] = [:]
        var oldStates: [String: NotificationState] = [:]
        for certificate in session.config.certificates where names?.contains(certificate.name) ?? true {
            guard let settings = session.config.notifySettings(for: certificate) else { continue }
            let record = records.load(certificate.name).record
            let stored = StoredCertificateState.inspect(certificate, in: session.store, now: now, summary: record.certificateSummary).state
            let facts = CertificateFacts(certificate: certificate, record: record, state: stored,
                                         retryAt: retryAt(certificate.name), site: siteFact(certificate.name))
            let loaded = states.load(certificate.name)
            if let problem = loaded.problem { logger.warning("\(problem)", metadata: ["certificate": "\(certificate.name)"]) }
            let (events, state) = NotificationEngine.evaluate(facts, state: loaded.state, settings: settings, now: now)
            oldStates[certificate.name] = loaded.state
            newStates[certificate.name] = state
            if let index = groups.firstIndex(where: { $0.settings == settings }) {
                groups[index].batch.append((certificate.name, events))
            } else {
                groups.append((settings, [(certificate.name, events)]))
            }
        }
        var sent: [AgentNotification] = []
        for group in groups {
            let notifications = NotificationEngine.combine(group.batch, states: &newStates, now: now)
            guard !notifications.isEmpty else { continue }
            for notification in notifications {
                logger.notice("notifying: \(notification.subject)", metadata: ["event": "\(notification.event.rawValue)"])
            }
            delivery.send(notifications, through: NotificationChannels.make(group.settings, secrets: session.secrets.secrets, cancellation: cancellation))
            sent += notifications
        }
        for (name, state) in newStates.sorted(by: { $0.key < $1.key }) where state != oldStates[name] {
            do { try states.save(state, for: name) } catch {
                logger.error("cannot save the notification state: \(error)", metadata: ["certificate": "\(name)"])
            }
        }
        return sent
    }

    /// Fleet mode: tells the admin (the top-level `notify` block) that this node lost etcd or has it again — once per
    /// outage, as `FleetCoordinator` reports it.
    public func tellFleet(_ availability: FleetAvailability, node: String, session: AgentSession) {
        guard let settings = session.config.notify, !clock.isStopped else { return }
        let host = ProcessInfo.processInfo.hostName
        let notification = availability.isReachable
            ? AgentNotification(event: .fleetReachable, certificate: nil, domains: [],
                                subject: "CertAgent on \(host) (node \(node)): etcd answers again",
                                message: "The fleet's etcd answers again: renewals resume.", occurredAt: clock.now())
            : AgentNotification(event: .fleetUnreachable, certificate: nil, domains: [],
                                subject: "CertAgent on \(host) (node \(node)): etcd unreachable",
                                message: availability.text + "\nSee `certagent status` on this node; check the etcd members and the network between them.",
                                error: availability.reason, since: availability.unreachableSince, occurredAt: clock.now())
        logger.notice("notifying: \(notification.subject)", metadata: ["event": "\(notification.event.rawValue)"])
        delivery.send([notification], through: NotificationChannels.make(settings, secrets: session.secrets.secrets, cancellation: cancellation))
    }

    /// The test message of `certagent notify --test`.
    public static func testNotification(now: Date = Date()) -> AgentNotification {
        NotificationText.test(now: now, host: ProcessInfo.processInfo.hostName)
    }
}
