@testable import CertAgent
import CertCrypto
import FoundationEssentials
import Logging
import Synchronization
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// One pass per renewal: a pass reads a certificate's record once and saves it only when it changed; the certificate
/// summary in the record spares reading and checking the private key while the files are unchanged, and is made again
/// when they change underneath; after planning nothing runs until the earliest due event. Time is a `ManualClock`.
final class OnePassTests: XCTestCase {
    private static let domains = ["shop.test", "www.shop.test"]

    /// A store with certificates signed by a scripted CA, and a renewal service over it on a manual clock.
    private final class Bed {
        let temp: TemporaryDirectory
        let ca: ScriptedIssuingCA
        let session: AgentSession
        let clock: ManualClock
        let service: RenewalService

        init(names: [String] = ["shop"]) throws {
            temp = try TemporaryDirectory()
            ca = try ScriptedIssuingCA(directory: try temp.make("ca"))
            let webroot = try temp.make("public_html")
            let certificates = names.map { name in
                "{\"name\": \"\(name)\", \"domains\": [\"\(name).test\", \"www.\(name).test\"], \"webroot\": \"\(webroot)\"}"
            }
            let configPath = try temp.write("config.json", """
                {"directory": "https://ca.test/dir", "storage": "\(temp.path)/store", "certificates": [\(certificates.joined(separator: ", "))]}
                """)
            session = try AgentSession(config: try ConfigLoader.load(path: configPath), logger: Logger(label: "test"))
            clock = ManualClock(Date())
            service = RenewalService(session: session, clock: clock, random: ScriptedRandomSource([0.5]), logger: Logger(label: "test"))
        }

        var store: CertificateStore { session.store }

        func certificate(_ name: String = "shop") -> CertificateConfig { session.config.certificate(named: name)! }

        /// Stages and commits a certificate for `name` with `serial`, valid `days` days; returns its version's files.
        @discardableResult
        func commit(_ name: String = "shop", serial: String, days: Int = 30) throws -> CertificateFiles {
            let key = try PrivateKey.generate(.ec256)
            let csr = try CertificateSigningRequest.make(key: key, domains: certificate(name).domains)
            let leaf = try ca.sign(csrDER: csr.der, serialHex: serial, days: days)
            let material = CertificateMaterial(privateKeyPEM: try key.pkcs8PEM(), csrPEM: csr.pem, certificatePEM: leaf, chainPEM: ca.certificatePEM)
            try store.commit(try store.stage(material, for: name, now: clock.now()), for: name)
            return try XCTUnwrap(try store.linkedVersion(name))
        }

        func record(_ name: String = "shop") -> RenewalRecord { RenewalRecordStore(store: store).load(name).record }
    }

    // MARK: The certificate summary

    func testTheSummaryIsUsedWhileTheFilesAreUnchangedAndMadeAgainWhenTheyChange() throws {
        let bed = try Bed()
        let files = try bed.commit(serial: "01")
        let certificate = bed.certificate()

        let (state, made) = StoredCertificateState.inspect(certificate, in: bed.store, now: bed.clock.now(), summary: nil)
        XCTAssertTrue(state.isUsable, "\(state)")
        let summary = try XCTUnwrap(made)
        XCTAssertEqual(summary.serial, "01")
        XCTAssertTrue(summary.keyMatches)
        XCTAssertEqual(summary.version, files.directory.split(separator: "/").last.map(String.init))
        XCTAssertEqual(Set(summary.names), Set(Self.domains))
        XCTAssertEqual(summary.ariCertificateID, bed.ca.ariCertificateID(serialHex: "01"))
        XCTAssertEqual(summary.notAfter, state.leaf?.notAfter)

        // With the summary, the private key is not even opened.
        let watch = try FileAccessWatch(directory: files.directory)
        let again = StoredCertificateState.inspect(certificate, in: bed.store, now: bed.clock.now(), summary: summary)
        XCTAssertTrue(again.state.isUsable)
        XCTAssertEqual(again.summary, summary, "an unchanged summary: nothing to save")
        XCTAssertEqual(watch.opens(of: "privkey.pem"), 0)
        XCTAssertEqual(watch.opens(of: "fullchain.pem"), 1)

        // While the files are unchanged the summary is trusted: one that says the key does not match is believed.
        var forged = summary
        forged.keyMatches = false
        guard case .keyMismatch = StoredCertificateState.inspect(certificate, in: bed.store, now: bed.clock.now(), summary: forged).state else {
            return XCTFail("a summary describing the files as they are is used")
        }

        // A file rewritten underneath (same bytes, new file): the summary no longer describes it, the key is checked again.
        let chainText = try String(contentsOfFile: files.fullChain, encoding: .utf8)
        XCTAssertEqual(unlink(files.fullChain), 0)
        try chainText.write(toFile: files.fullChain, atomically: false, encoding: .utf8)
        let rebuilt = StoredCertificateState.inspect(certificate, in: bed.store, now: bed.clock.now(), summary: forged)
        XCTAssertTrue(rebuilt.state.isUsable, "the stale summary is ignored: \(rebuilt.state)")
        XCTAssertEqual(rebuilt.summary?.keyMatches, true)
        XCTAssertNotEqual(rebuilt.summary?.fullChain, summary.fullChain)
        XCTAssertEqual(watch.opens(of: "privkey.pem"), 1, "the key is read again once the chain changed")

        // Another process renewed: a new version, so the summary of the old one is ignored.
        try bed.commit(serial: "02")
        let renewed = StoredCertificateState.inspect(certificate, in: bed.store, now: bed.clock.now(), summary: summary)
        XCTAssertTrue(renewed.state.isUsable)
        XCTAssertEqual(renewed.state.leaf?.serialHex, "02")
        XCTAssertEqual(renewed.summary?.serial, "02")
        XCTAssertNotEqual(renewed.summary?.version, summary.version)

        // Nothing stored: no summary.
        let missing = StoredCertificateState.inspect(bed.certificate(), in: try CertificateStore(root: bed.temp.path("empty"), webroots: []),
                                                     now: bed.clock.now(), summary: summary)
        guard case .missing = missing.state else { return XCTFail("\(missing.state)") }
        XCTAssertNil(missing.summary)
    }

    func testTheSummaryGivesTheLeafBackAsAParseWould() throws {
        let bed = try Bed()
        try bed.commit(serial: "01")
        let parsed = StoredCertificateState.inspect(bed.certificate(), in: bed.store, now: bed.clock.now(), summary: nil)
        let summary = try XCTUnwrap(parsed.summary)
        let leaf = try XCTUnwrap(parsed.state.leaf)
        XCTAssertEqual(summary.leaf, leaf.fields)
        // Through the record's JSON, as status and a start-up read it: the same leaf, state and summary, no parse.
        let stored = try StoreJSON.decode(CertificateSummary.self, from: StoreJSON.encode(summary))
        let fromSummary = StoredCertificateState.inspect(bed.certificate(), in: bed.store, now: bed.clock.now(), summary: stored)
        XCTAssertEqual(fromSummary.state.leaf, leaf)
        XCTAssertTrue(fromSummary.state.isUsable)
        XCTAssertEqual(fromSummary.summary, stored, "nothing changed: nothing to save")
        // A summary of an earlier CertAgent (no leaf fields): the leaf is parsed, and the new summary carries them.
        var earlier = stored
        earlier.leaf = nil
        let upgraded = StoredCertificateState.inspect(bed.certificate(), in: bed.store, now: bed.clock.now(), summary: earlier)
        XCTAssertEqual(upgraded.state.leaf, leaf)
        XCTAssertEqual(upgraded.summary, summary)
    }

    func testAKeyReplacedUnderneathIsFoundThoughTheSummarySaidItMatched() throws {
        let bed = try Bed()
        let files = try bed.commit(serial: "01")
        let summary = try XCTUnwrap(StoredCertificateState.inspect(bed.certificate(), in: bed.store, now: bed.clock.now(), summary: nil).summary)
        XCTAssertTrue(summary.keyMatches)
        // Someone put another key in place: its identity changed, so the summary's "matches" is not trusted.
        try PrivateKey.generate(.ec256).pkcs8PEM().write(toFile: files.privateKey, atomically: true, encoding: .utf8)
        let (state, made) = StoredCertificateState.inspect(bed.certificate(), in: bed.store, now: bed.clock.now(), summary: summary)
        guard case .keyMismatch = state else { return XCTFail("\(state)") }
        XCTAssertEqual(made?.keyMatches, false)
    }

    // MARK: One pass

    func testAPassReadsTheRecordOnceAndSavesItOnlyWhenItChanged() throws {
        let bed = try Bed()
        let files = try bed.commit(serial: "01")
        XCTAssertNil(bed.record().certificateSummary)

        // The first pass after the files appeared (no record yet): the summary is made and saved, once.
        var watch = try FileAccessWatch(directory: bed.store.certificateDirectory("shop"))
        let first = bed.service.pass("shop")
        guard case .notDue = first.outcome else { return XCTFail("\(first.outcome)") }
        XCTAssertTrue(first.usable)
        XCTAssertEqual(watch.replacements(of: CertificateDocumentKind.renewal.fileName), 1, "saved once")
        let saved = try XCTUnwrap(bed.record().certificateSummary)
        XCTAssertEqual(saved.serial, "01")

        // The next pass: nothing changed, so one read of the record, no write, and the key is not opened.
        watch = try FileAccessWatch(directory: bed.store.certificateDirectory("shop"))
        let versionWatch = try FileAccessWatch(directory: files.directory)
        let second = bed.service.pass("shop")
        guard case .notDue(let decision) = second.outcome else { return XCTFail("\(second.outcome)") }
        XCTAssertEqual(watch.opens(of: CertificateDocumentKind.renewal.fileName), 1)
        XCTAssertEqual(watch.replacements(of: CertificateDocumentKind.renewal.fileName), 0, "nothing changed: nothing written")
        XCTAssertEqual(versionWatch.opens(of: "privkey.pem"), 0)
        // It returns when the certificate is next due, and says so, from that one decision.
        XCTAssertEqual(second.nextDue, decision.wakeAt)
        XCTAssertGreaterThan(second.nextDue, bed.clock.now())
        XCTAssertEqual(second.nextDue, bed.service.nextDue(of: "shop"))
        XCTAssertEqual(second.nextStep, bed.service.nextStepText(of: "shop"))
        XCTAssertEqual(bed.service.usableCount(of: ["shop", "unknown"]), 1)
    }

    func testARenewalLeavesTheSummaryOfTheNewCertificateInTheRecord() throws {
        // As `issue`, `renew` and the daemon get it: the record saved after the order already summarises the new
        // certificate, so `status` and the next start-up do not read its key.
        let bed = try ARITestbed()
        let leaf = try bed.issueFirstCertificate()
        let summary = try XCTUnwrap(bed.record().certificateSummary, bed.log)
        XCTAssertEqual(summary.serial, leaf.serialHex)
        XCTAssertTrue(summary.keyMatches)
        let files = try XCTUnwrap(try bed.session.store.linkedVersion(ARITestbed.name))
        XCTAssertTrue(summary.describes(version: String(files.directory.split(separator: "/").last ?? ""),
                                        fullChain: FileIdentity.of(files.fullChain), privateKey: FileIdentity.of(files.privateKey)))
    }

    // MARK: Nothing runs until something is due

    func testAfterPlanningTheOneTimerWaitsForTheEarliestDueEventAndNothingRuns() throws {
        let bed = try Bed(names: ["shop", "blog"])
        // A one-day certificate renews at half its life (in 12 hours); a 30-day one is looked at again in a day.
        try bed.commit("shop", serial: "01", days: 1)
        try bed.commit("blog", serial: "02", days: 30)
        let plan = bed.service.plan()
        XCTAssertEqual(Set(plan.keys), ["shop", "blog"])
        XCTAssertTrue(plan.values.allSatisfy { $0 > bed.clock.now() }, "\(plan)")
        XCTAssertLessThan(try XCTUnwrap(plan["shop"]), try XCTUnwrap(plan["blog"]), "the short-lived certificate is due first")
        XCTAssertEqual(bed.service.usableCount(of: ["shop", "blog"]), 2, "known from planning, for the status line")

        let timer = ManualWakeTimer()
        let executor = ManualRenewalExecutor()
        let runs = Mutex(0)
        let scheduler = RenewalScheduler(clock: bed.clock, maximumSleep: 400 * 86_400, timer: { _ in timer }, executor: executor) { _ in
            runs.withLock { $0 += 1 }
            return .distantFuture
        }
        scheduler.update(certificates: plan)
        XCTAssertEqual(timer.armedAt, plan["shop"], "one timer, armed for the earliest due event")
        XCTAssertEqual(executor.pendingCount, 0, "nothing started")
        // The timer going off early (a spurious wake-up) starts nothing either.
        bed.clock.set(try XCTUnwrap(plan["shop"]).addingTimeInterval(-1))
        timer.fire(evenIfUnarmed: true)
        XCTAssertEqual(executor.pendingCount, 0)
        XCTAssertEqual(timer.armedAt, plan["shop"])
        // At the due time exactly that certificate runs.
        bed.clock.set(try XCTUnwrap(plan["shop"]))
        timer.fire()
        XCTAssertEqual(executor.runAll(), 1)
        XCTAssertEqual(runs.withLock { $0 }, 1)
        scheduler.stop(timeout: 0)
    }

    // MARK: The clock

    func testWaitingForTheIssuanceLockUsesTheInjectedClock() throws {
        // A command waits for another process's lock by the injected clock's sleep: with a manual clock no real time passes.
        let bed = try Bed()
        try bed.commit(serial: "01")
        let service = RenewalService(session: bed.session, clock: bed.clock, random: ScriptedRandomSource([0.5]),
                                     busyCertificates: .wait(maximumWait: 5, announce: { _ in }), logger: Logger(label: "test"))
        let held = try bed.store.lockForIssuance("shop")
        let started = bed.clock.now()
        let outcome = withExtendedLifetime(held) { service.process("shop", forced: true) }
        guard case .busy = outcome else { return XCTFail("\(outcome)") }
        XCTAssertGreaterThanOrEqual(bed.clock.now().timeIntervalSince(started), 5, "the wait was counted on the manual clock")
        XCTAssertTrue(bed.clock.sleeps.allSatisfy { $0 == RenewalService.lockPollInterval }, "\(bed.clock.sleeps)")

        // Once the clock is stopped (SIGTERM), a pass does nothing and says it was interrupted.
        bed.clock.stop()
        let stopped = withExtendedLifetime(held) { service.process("shop", forced: true) }
        guard case .interrupted = stopped else { return XCTFail("\(stopped)") }
    }
}

/// Counts what is done to the files of one directory (inotify): opens, and files renamed into place (an atomic save).
/// Events are queued by the kernel as the calls happen, so reading them afterwards involves no waiting.
private final class FileAccessWatch {
    private let descriptor: Int32
    private var events: [(name: String, mask: UInt32)] = []

    init(directory: String) throws {
        descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard descriptor >= 0, inotify_add_watch(descriptor, directory, UInt32(IN_OPEN | IN_MOVED_TO)) >= 0 else {
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
    }

    deinit { close(descriptor) }

    /// How many times `name` was opened so far.
    func opens(of name: String) -> Int { drain().filter { $0.name == name && $0.mask & UInt32(IN_OPEN) != 0 }.count }

    /// How many times a file was renamed onto `name` so far.
    func replacements(of name: String) -> Int { drain().filter { $0.name == name && $0.mask & UInt32(IN_MOVED_TO) != 0 }.count }

    private func drain() -> [(name: String, mask: UInt32)] {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            var offset = 0
            while offset + 16 <= count {
                let mask = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self) }
                let length = Int(buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self) })
                let nameBytes = buffer[(offset + 16)..<(offset + 16 + length)].prefix { $0 != 0 }
                events.append((String(decoding: nameBytes, as: UTF8.self), mask))
                offset += 16 + length
            }
        }
        return events
    }
}
