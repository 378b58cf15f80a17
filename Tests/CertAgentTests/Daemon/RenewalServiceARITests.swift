import ACME
@testable import CertAgent
import CertCrypto
import Foundation
import Logging
import Synchronization
import TestSupport
import XCTest

/// One certificate, a `RenewalService` on a real `AgentSession` (config file, store, master key, account key), and
/// the scripted CA as its transport. Time is the real clock; renewal windows are scripted around it.
final class ARITestbed {
    static let domain = "www.example.test"
    static let name = "site"

    let temporary: TemporaryDirectory
    let webroot: String
    let ca: ScriptedIssuingCA
    let server: ScriptedACMEServer
    let session: AgentSession
    let service: RenewalService
    let random = ScriptedRandomSource([0.25])
    private let sink = LineSink()

    /// `stoppingAt`: the first request it matches stops the service's clock and is aborted with `CancellationError`,
    /// as SIGTERM aborts a request in flight.
    /// `preflight`: the check run before the first order (none by default).
    init(stoppingAt: (@Sendable (HTTPRequest) -> Bool)? = nil, preflight: (any CertificatePreflight)? = nil) throws {
        temporary = try TemporaryDirectory()
        webroot = try temporary.make("webroot")
        ca = try ScriptedIssuingCA(directory: try temporary.make("ca"))
        let server = ScriptedACMEServer(ca: ca, webroots: [Self.domain: webroot])
        self.server = server
        let config: [String: Any] = [
            "directory": ScriptedACMEServer.directoryURL,
            "storage": temporary.path("store"),
            "acceptTermsOfService": true,
            "certificates": [["name": Self.name, "domains": [Self.domain], "webroot": webroot]],
        ]
        let configPath = try temporary.write("config.json", bytes: Array(try JSONSerialization.data(withJSONObject: config)))
        let sink = self.sink
        var logger = Logger(label: "ari-test") { label in
            AgentLogHandler(label: label, level: .debug, journald: false) { line in sink.lines.withLock { $0.append(line) } }
        }
        logger.logLevel = .debug
        let clock = StoppableClock()
        let transport: any HTTPTransport = stoppingAt.map { StoppingTransport(server: server, clock: clock, stopsAt: $0) } ?? server
        session = try AgentSession(config: try ConfigLoader.load(path: configPath, environment: [:]), clock: clock, logger: logger,
                                   environment: [:], transport: transport)
        service = RenewalService(session: session, clock: clock, random: random, preflight: preflight, logger: logger)
        service.connectIfPossible()   // as `Daemon.start` and `certagent renew` do before the first `process`
    }

    /// Everything logged so far (for failure messages).
    var log: String { sink.lines.withLock { $0.joined(separator: "\n") } }

    var certificate: CertificateConfig { session.config.certificates[0] }

    /// The persisted renewal record, read back from disk.
    func record() -> RenewalRecord {
        let loaded = RenewalRecordStore(store: session.store).load(Self.name)
        XCTAssertNil(loaded.problem)
        return loaded.record
    }

    /// The stored leaf, when the store holds a usable certificate.
    func storedLeaf() -> Certificate? {
        guard case .valid(let leaf, _) = StoredCertificateState.inspect(certificate, in: session.store, now: Date()) else { return nil }
        return leaf
    }

    /// Issues the first certificate through `process` and returns its stored leaf.
    func issueFirstCertificate(file: StaticString = #filePath, line: UInt = #line) throws -> Certificate {
        let outcome = service.process(Self.name)
        guard case .renewed = outcome else {
            throw FirstIssuanceFailed(description: "first issuance: \(outcome)\n\(log)")
        }
        return try XCTUnwrap(storedLeaf(), "stored after the first issuance\n\(log)", file: file, line: line)
    }

    /// The scripted CA, except that a matching request stops the clock and is aborted instead of answered.
    struct StoppingTransport: HTTPTransport {
        let server: ScriptedACMEServer
        let clock: StoppableClock
        let stopsAt: @Sendable (HTTPRequest) -> Bool

        func send(_ request: HTTPRequest) throws -> HTTPResponse {
            guard stopsAt(request) else { return try server.send(request) }
            clock.stop()
            throw CancellationError()
        }
    }

    final class LineSink: Sendable {
        let lines = Mutex<[String]>([])
    }

    struct FirstIssuanceFailed: Error, CustomStringConvertible {
        let description: String
    }

    /// `date` without its fraction of a second: scripted windows are sent as RFC 3339 whole seconds.
    static func wholeSecond(_ date: Date) -> Date { Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down)) }
}

/// RFC 9773 (ARI) through `RenewalService.process`, end to end against `ScriptedACMEServer`: account, order, http-01
/// through the real webroot solver, finalize signed by an openssl CA, download, chain verification, the store, and
/// renewalInfo windows scripted per test.
final class RenewalServiceARITests: XCTestCase {
    func testFirstIssuanceStoresACertificateAndPlacesNoReplaces() throws {
        let bed = try ARITestbed()
        XCTAssertEqual(bed.service.ariSupported, true, "the directory offers renewalInfo\n\(bed.log)")

        let outcome = bed.service.process(ARITestbed.name)

        guard case .renewed(let issued, let deployError) = outcome else { return XCTFail("\(outcome)\n\(bed.log)") }
        XCTAssertNil(deployError)
        let leaf = try XCTUnwrap(bed.storedLeaf(), bed.log)
        let caCertificate = try Certificate(pem: bed.ca.certificatePEM)
        let served = try XCTUnwrap(bed.server.issued.first)
        XCTAssertEqual(bed.server.issued.count, 1)
        XCTAssertEqual(leaf.serialHex, "00" + served.serialHex.lowercased(), "the store holds the certificate the CA signed (serialHex keeps the DER leading 00)")
        XCTAssertEqual(issued.serialHex, leaf.serialHex)
        XCTAssertTrue(leaf.isIssued(by: caCertificate))
        XCTAssertTrue(leaf.covers(ARITestbed.domain))
        XCTAssertEqual(leaf.notAfter.timeIntervalSince(leaf.notBefore), 90 * 86_400, accuracy: 1)
        XCTAssertEqual(leaf.ariCertificateIdentifier, served.certificateID,
                       "CertCrypto's ARI identifier equals the one computed from the CA's SKI and the serial (leading 00 kept)")
        XCTAssertTrue(served.certificateID.hasSuffix(".AIpRwN4AAQ"), served.certificateID)

        XCTAssertEqual(bed.server.placedOrders, [.init(identifiers: [ARITestbed.domain], replaces: nil, hasReplacesMember: false, accepted: true)],
                       "a first certificate replaces nothing: no `replaces` member at all")
        XCTAssertEqual(bed.server.challengeFilesChecked.count, 1, "the CA found the key authorization in the webroot")
        let challengeFile = try XCTUnwrap(bed.server.challengeFilesChecked.first)
        XCTAssertFalse(FileManager.default.fileExists(atPath: challengeFile), "the challenge file is removed afterwards")
        XCTAssertEqual(bed.server.renewalInfoRequests, [], "nothing to ask about before a certificate exists")
        XCTAssertEqual(bed.server.rejectedNonces, 0)

        let record = bed.record()
        XCTAssertEqual(record.failures, 0)
        XCTAssertNotNil(record.lastRenewed)
        XCTAssertNil(record.inFlightSince)
    }

    func testFutureWindowIsFetchedStoredAndNotRenewedYet() throws {
        let bed = try ARITestbed()
        let leaf = try bed.issueFirstCertificate()
        let certificateID = try XCTUnwrap(bed.server.issued.first?.certificateID)
        let now = ARITestbed.wholeSecond(Date())
        let window = RenewalWindow(start: now.addingTimeInterval(30 * 86_400), end: now.addingTimeInterval(32 * 86_400))
        bed.server.script(renewalInfo: .window(start: window.start, end: window.end, retryAfter: "5"))
        let requestsBefore = bed.server.requests.count

        let before = Date()
        let outcome = bed.service.process(ARITestbed.name)
        let after = Date()

        XCTAssertEqual(bed.server.renewalInfoRequests, [ScriptedACMEServer.renewalInfoBase + "/" + certificateID],
                       "one GET renewalInfo/<base64url(AKI)>.<base64url(serial)>")
        XCTAssertEqual(leaf.ariCertificateIdentifier, certificateID)
        XCTAssertEqual(bed.server.requests.count, requestsBefore + 1, "only the renewalInfo GET: \(bed.server.requests.dropFirst(requestsBefore).map(\.url))")
        XCTAssertEqual(bed.server.placedOrders.count, 1, "no renewal order")
        XCTAssertEqual(bed.storedLeaf()?.serialHex, leaf.serialHex, "the certificate is unchanged")

        let record = bed.record()
        XCTAssertEqual(record.ariCertificateID, certificateID)
        XCTAssertEqual(record.ariWindow, window, "the window is persisted")
        let chosen = try XCTUnwrap(record.chosenRenewalTime)
        XCTAssertEqual(record.chosenFromWindow, window)
        XCTAssertEqual(record.chosenForSerial, leaf.serialHex)
        XCTAssertTrue(window.start <= chosen && chosen <= window.end, "\(chosen) inside \(window)")
        XCTAssertEqual(chosen, window.start.addingTimeInterval(0.25 * 2 * 86_400), "the scripted random fraction 0.25 of the window")
        XCTAssertEqual(record.failures, 0)

        guard case .notDue(let decision) = outcome else { return XCTFail("\(outcome)\n\(bed.log)") }
        XCTAssertEqual(decision.action, .renewAt(chosen, .inWindow))

        let fetched = try XCTUnwrap(record.ariFetched)
        let nextCheck = try XCTUnwrap(record.nextARICheck)
        XCTAssertTrue(fetched >= before.addingTimeInterval(-0.001) && fetched <= after.addingTimeInterval(0.001))
        XCTAssertEqual(nextCheck.timeIntervalSince(fetched), RenewalInfoPolling.minimumInterval, accuracy: 0.002,
                       "Retry-After: 5 is clamped up to 60 s")
        XCTAssertGreaterThanOrEqual(nextCheck, before.addingTimeInterval(60 - 0.001))

        let nextDue = bed.service.nextDue(of: ARITestbed.name)
        XCTAssertLessThanOrEqual(nextDue, chosen)
        XCTAssertEqual(nextDue, nextCheck, "woken for the next ARI check, which comes before the chosen time")

        // Looking again at once: the Retry-After has not passed, so the CA is not asked again.
        let again = bed.service.process(ARITestbed.name)
        guard case .notDue = again else { return XCTFail("\(again)") }
        XCTAssertEqual(bed.server.requests.count, requestsBefore + 1)
        XCTAssertEqual(bed.record().chosenRenewalTime, chosen, "the chosen time is kept, not drawn again")
    }

    func testStartedWindowRenewsNowWithReplaces() throws {
        let bed = try ARITestbed()
        let oldLeaf = try bed.issueFirstCertificate()
        let oldID = try XCTUnwrap(bed.server.issued.first?.certificateID)
        let now = ARITestbed.wholeSecond(Date())
        bed.server.script(renewalInfo: .window(start: now.addingTimeInterval(-3_600), end: now.addingTimeInterval(86_400), retryAfter: "21600"))

        let outcome = bed.service.process(ARITestbed.name)

        guard case .renewed(let issued, nil) = outcome else { return XCTFail("\(outcome)\n\(bed.log)") }
        XCTAssertEqual(bed.server.renewalInfoRequests, [ScriptedACMEServer.renewalInfoBase + "/" + oldID])
        XCTAssertEqual(bed.server.placedOrders.count, 2)
        XCTAssertEqual(bed.server.placedOrders.last, .init(identifiers: [ARITestbed.domain], replaces: oldID, hasReplacesMember: true, accepted: true),
                       "the renewal order names the certificate it replaces (RFC 9773 §5)")
        XCTAssertEqual(oldLeaf.ariCertificateIdentifier, oldID)

        let newLeaf = try XCTUnwrap(bed.storedLeaf(), bed.log)
        XCTAssertNotEqual(newLeaf.serialHex, oldLeaf.serialHex)
        XCTAssertEqual(newLeaf.serialHex, issued.serialHex)
        XCTAssertEqual(newLeaf.ariCertificateIdentifier, bed.server.issued.last?.certificateID)
        let record = bed.record()
        XCTAssertEqual(record.failures, 0)
        XCTAssertNil(record.ariWindow, "the old certificate's window is forgotten after the renewal")
        XCTAssertNil(record.inFlightSince)
    }

    func testRenewalInfoErrorIsNotARenewalFailure() throws {
        let bed = try ARITestbed()
        let leaf = try bed.issueFirstCertificate()
        let certificateID = try XCTUnwrap(bed.server.issued.first?.certificateID)
        bed.server.script(renewalInfo: .failure(status: 500))

        let before = Date()
        let outcome = bed.service.process(ARITestbed.name)
        let after = Date()

        XCTAssertEqual(bed.server.renewalInfoRequests, [ScriptedACMEServer.renewalInfoBase + "/" + certificateID])
        XCTAssertEqual(bed.server.placedOrders.count, 1, "no renewal")
        XCTAssertEqual(bed.storedLeaf()?.serialHex, leaf.serialHex)
        let record = bed.record()
        XCTAssertEqual(record.failures, 0, "an ARI failure is not a renewal failure")
        XCTAssertNil(record.lastFailure)
        XCTAssertNil(record.lastError)
        XCTAssertEqual(record.ariCertificateID, certificateID, "the failed fetch is recorded for this certificate")
        XCTAssertNil(record.ariWindow)
        let nextCheck = try XCTUnwrap(record.nextARICheck)
        XCTAssertGreaterThanOrEqual(nextCheck, before.addingTimeInterval(RenewalInfoPolling.intervalAfterError - 0.001))
        XCTAssertLessThanOrEqual(nextCheck, after.addingTimeInterval(RenewalInfoPolling.intervalAfterError + 0.001), "about an hour later")

        guard case .notDue(let decision) = outcome else { return XCTFail("\(outcome)\n\(bed.log)") }
        XCTAssertEqual(decision.action, .checkRenewalInfo(at: nextCheck))
        XCTAssertFalse(decision.heldBackByFailures)
        XCTAssertEqual(bed.service.nextDue(of: ARITestbed.name), nextCheck)
        XCTAssertTrue(bed.log.contains("could not fetch renewal information"), bed.log)
    }

    func testRateLimitedOrderBacksOffUntilRetryAfter() throws {
        let bed = try ARITestbed()
        bed.server.script(newOrderFailure: .init(status: 429, type: "rateLimited", detail: "too many new orders recently", retryAfter: "3600"))

        let before = Date()
        let outcome = bed.service.process(ARITestbed.name)

        guard case .failed(let error, let retryAt) = outcome else { return XCTFail("\(outcome)\n\(bed.log)") }
        XCTAssertTrue(error.contains("rateLimited") || error.contains("too many new orders"), error)
        XCTAssertGreaterThanOrEqual(retryAt, before.addingTimeInterval(3_600), "Retry-After beats the 1-minute backoff")
        XCTAssertEqual(bed.server.placedOrders, [.init(identifiers: [ARITestbed.domain], replaces: nil, hasReplacesMember: false, accepted: false)])
        let record = bed.record()
        XCTAssertEqual(record.failures, 1)
        XCTAssertNotNil(record.lastError)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(record.retryAfter), before.addingTimeInterval(3_600))
        XCTAssertNil(record.inFlightSince)
        XCTAssertNil(bed.storedLeaf())
        XCTAssertEqual(bed.service.nextDue(of: ARITestbed.name).timeIntervalSince(retryAt), 0, accuracy: 0.002)

        let requestsAfterFailure = bed.server.requests.count
        let second = bed.service.process(ARITestbed.name)

        XCTAssertEqual(bed.server.requests.count, requestsAfterFailure, "held back: the CA is not contacted")
        guard case .notDue(let decision) = second else { return XCTFail("\(second)\n\(bed.log)") }
        XCTAssertTrue(decision.heldBackByFailures)
        guard case .renewAt(let at, .missing) = decision.action else { return XCTFail("\(decision.action)") }
        XCTAssertEqual(at.timeIntervalSince(retryAt), 0, accuracy: 0.002)
        XCTAssertEqual(bed.record().failures, 1, "not counted again")
    }
}
