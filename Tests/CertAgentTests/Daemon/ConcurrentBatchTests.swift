import ACME
@testable import CertAgent
import Foundation
import Logging
import Synchronization
import TestSupport
import XCTest

/// A batch of certificates run as `issue` and `renew` run it (`WorkerThreads` over one `RenewalService`, at most
/// `maxConcurrentRenewals` at once) against the scripted CA: the orders really run side by side, never more than the
/// bound, over one account; one certificate that fails stops no other; certificates sharing a webroot leave nothing in it.
final class ConcurrentBatchTests: XCTestCase {
    /// Counts the orders in flight: from their newOrder request (seen by the CA) to the end of their pass. The first
    /// `width` orders wait at newOrder until `width` are in flight together (a barrier, not a timer: it ends as soon
    /// as they are), which proves they run side by side; later ones pass at once.
    private final class InFlightOrders: Sendable {
        private let counts = Mutex<(inFlight: Int, most: Int, placed: Int)>((0, 0, 0))
        let width: Int

        init(width: Int, server: ScriptedACMEServer) {
            self.width = width
            server.script(beforeNewOrder: { [self] in
                let placed = counts.withLock { counts in
                    counts.inFlight += 1
                    counts.placed += 1
                    counts.most = max(counts.most, counts.inFlight)
                    return counts.placed
                }
                guard placed <= width else { return }
                let deadline = Date().addingTimeInterval(60)
                while counts.withLock({ $0.inFlight }) < width, Date() < deadline { usleep(1_000) }
            })
        }

        /// A pass that had placed an order ended.
        func ended() { counts.withLock { $0.inFlight -= 1 } }

        var most: Int { counts.withLock { $0.most } }
    }

    func testEightCertificatesFourAtATimeOneFailingTheOthersIssuedAndTheSharedWebrootLeftClean() throws {
        let temporary = try TemporaryDirectory()
        let webroot = try temporary.make("webroot")
        let elsewhere = try temporary.make("elsewhere")
        let ca = try ScriptedIssuingCA(directory: try temporary.make("ca"))
        let names = (0..<8).map { "site\($0)" }
        let domain = { (name: String) in "\(name).example.test" }
        // The CA looks for every token in the shared webroot, but site5's config puts its token elsewhere: it fails.
        let server = ScriptedACMEServer(ca: ca, webroots: Dictionary(uniqueKeysWithValues: names.map { (domain($0), webroot) }))
        let config: [String: Any] = [
            "directory": ScriptedACMEServer.directoryURL,
            "storage": temporary.path("store"),
            "acceptTermsOfService": true,
            "maxConcurrentRenewals": 4,
            "certificates": names.map { ["name": $0, "domains": [domain($0)], "webroot": $0 == "site5" ? elsewhere : webroot] },
        ]
        let configPath = try temporary.write("config.json", bytes: Array(try JSONSerialization.data(withJSONObject: config)))
        let logger = Logger(label: "batch-test") { _ in SwiftLogNoOpLogHandler() }
        let clock = StoppableClock()
        let session = try AgentSession(config: try ConfigLoader.load(path: configPath, environment: [:]), clock: clock, logger: logger,
                                       environment: [:], transport: server)
        XCTAssertEqual(session.config.maxConcurrentRenewals, 4)
        let service = RenewalService(session: session, clock: clock, logger: logger)
        service.connectIfPossible()
        let orders = InFlightOrders(width: session.config.maxConcurrentRenewals, server: server)

        let outcomes = Mutex<[String: RenewalOutcome]>([:])
        WorkerThreads.forEach(count: names.count, width: session.config.maxConcurrentRenewals) { index in
            let outcome = service.process(names[index], forcing: ForcedRenewal(replacing: .missing))
            orders.ended()   // every pass here placed an order: none of these certificates exists yet
            outcomes.withLock { $0[names[index]] = outcome }
        }

        XCTAssertEqual(orders.most, 4, "four orders in flight at once, never more")
        let results = outcomes.withLock { $0 }
        XCTAssertEqual(results.count, 8)
        for name in names {
            switch results[name] {
            case .renewed(let issued, _)?: XCTAssertNotEqual(name, "site5", "\(issued)")
            case .failed(let error, _)?: XCTAssertEqual(name, "site5", error)
            default: XCTFail("\(name): \(String(describing: results[name]))")
            }
        }
        XCTAssertEqual(server.issued.count, 7)
        XCTAssertEqual(server.placedOrders.count, 8)
        XCTAssertEqual(server.accountURLs.count, 1, "one account for the whole batch")
        XCTAssertEqual(server.rejectedNonces, 0, "every nonce used once, whichever order's answer brought it")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: webroot), [], "no challenge file or directory left")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: elsewhere), [])
    }
}
