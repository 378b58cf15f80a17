import ByteEncoding
import CurlHTTP
import Dispatch
import FoundationEssentials
import Synchronization

/// A running watch (`EtcdClient.watch`): changes to a key range streamed from etcd's `/v3/watch`, reported in order
/// to its handler, resumed after a lost connection from the revision after the last one reported.
public final class EtcdWatch: Sendable {
    /// The keys watched.
    public let keys: EtcdKeyRange
    private let cancelled = Atomic<Bool>(false)
    /// The cancellation of the connection in flight: `cancel()` and the establishment deadline use it.
    private let attempt = Mutex<CurlHTTPCancellation?>(nil)
    private let revision: Atomic<Int64>
    private let ended = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)

    init(keys: EtcdKeyRange, fromRevision: Int64) {
        self.keys = keys
        self.revision = Atomic(max(fromRevision, 0))
    }

    /// The revision the watch resumes from after a reconnect: the one after the last change reported (0 before the
    /// watch was first established when it started from "now").
    public var nextRevision: Int64 { revision.load(ordering: .acquiring) }

    func advance(to next: Int64) { revision.store(next, ordering: .releasing) }

    /// Stops the watch: the stream is dropped within about a second and no notice is reported after the one being
    /// delivered now (if any). Idempotent.
    public func cancel() {
        cancelled.store(true, ordering: .releasing)
        attempt.withLock { $0?.cancel() }
    }

    /// Whether `cancel()` was called.
    public var isCancelled: Bool { cancelled.load(ordering: .acquiring) }

    /// A cancellation for the next connection, already cancelled when the watch is.
    func newAttempt() -> CurlHTTPCancellation {
        let fresh = CurlHTTPCancellation()
        attempt.withLock { $0 = fresh }
        if isCancelled { fresh.cancel() }
        return fresh
    }

    /// Waits up to `timeout` seconds for the watch to end (cancelled, compacted or failed); returns whether it did.
    @discardableResult
    public func wait(timeout: Double) -> Bool {
        if ended.load(ordering: .acquiring) { return true }
        guard done.wait(timeout: .now() + .milliseconds(Int(max(timeout, 0) * 1000))) == .success else { return false }
        done.signal()   // later waiters return at once too
        return true
    }

    /// Whether the watch has ended.
    public var hasEnded: Bool { ended.load(ordering: .acquiring) }

    func finish() {
        ended.store(true, ordering: .releasing)
        done.signal()
    }
}

extension EtcdClient {
    /// Watches `keys` from `fromRevision` (0 = from now) through `/v3/watch`, one long-lived streamed response, on a
    /// thread of its own. `handler` receives, one at a time and in order: `.connected` when the stream is established,
    /// `.events` with every change in revision order, `.disconnected` when the connection is lost (the watch then
    /// reconnects — the next member when this one stays away — and resumes from the revision after the last change
    /// reported, so nothing is lost or repeated), and finally `.compacted` (the revision to resume from is gone:
    /// reload with `range` and watch again) or `.failed` (an error no retry can fix). `cancel()` ends it.
    /// - Parameters:
    ///   - prevKV: report each changed key as it was before the change.
    public func watch(_ keys: EtcdKeyRange, fromRevision: Int64 = 0, prevKV: Bool = false,
                      handler: @escaping @Sendable (EtcdWatchNotice) -> Void) -> EtcdWatch {
        let watch = EtcdWatch(keys: keys, fromRevision: fromRevision)
        DispatchQueue(label: "certagent.etcd.watch").async {
            self.runWatch(watch, prevKV: prevKV, handler: handler)
            watch.finish()
        }
        return watch
    }

    /// How one connection of a watch ended.
    private enum WatchOutcome {
        case cancelled
        case lost(EtcdError)
        case compacted(Int64)
        case failed(EtcdError)
    }

    private func runWatch(_ watch: EtcdWatch, prevKV: Bool, handler: @Sendable (EtcdWatchNotice) -> Void) {
        func deliver(_ notice: EtcdWatchNotice) {
            if !watch.isCancelled { handler(notice) }
        }
        var index = endpoints.firstIndex(of: currentEndpoint) ?? 0
        var reportedDown = false
        var failedAttempts = 0
        while !watch.isCancelled {
            let endpoint = endpoints[index]
            var connected = false
            let outcome = watchOnce(endpoint, watch, prevKV: prevKV) { notice in
                if case .connected = notice {
                    connected = true
                    reportedDown = false
                    failedAttempts = 0
                    prefer(endpoint)
                }
                deliver(notice)
            }
            switch outcome {
            case .cancelled:
                return
            case .compacted(let revision):
                deliver(.compacted(compactRevision: revision))
                return
            case .failed(let error):
                deliver(.failed(error))
                return
            case .lost(let error):
                if !reportedDown {
                    deliver(.disconnected(error))
                    reportedDown = true
                }
                if !connected { failedAttempts += 1 }
            }
            index = (index + 1) % endpoints.count
            // Once every member failed in a row, wait longer (up to 2 s) before the next round.
            let rounds = failedAttempts / endpoints.count
            let delay = min(configuration.watchRetryDelay * Double(1 << min(rounds, 4)), max(configuration.watchRetryDelay, 2))
            pause(delay, unless: watch)
        }
    }

    /// Sleeps `seconds`, waking early when the watch is cancelled.
    private func pause(_ seconds: Double, unless watch: EtcdWatch) {
        var left = seconds
        while left > 0, !watch.isCancelled {
            let step = min(left, 0.05)
            usleepSeconds(step)
            left -= step
        }
    }

    /// One connection to `endpoint`'s watch stream, until it ends.
    private func watchOnce(_ endpoint: String, _ watch: EtcdWatch, prevKV: Bool,
                           report: (EtcdWatchNotice) -> Void) -> WatchOutcome {
        let reader = WireReader(endpoint: endpoint)
        var headers: [(name: String, value: String)]
        do {
            headers = try requestHeaders(endpoint)
        } catch let skip as Skip {
            return .lost(.unreachable([skip.failure]))
        } catch let error as EtcdError {
            return error == .cancelled ? .cancelled : .failed(error)
        } catch {
            return .failed(.invalidResponse(endpoint: endpoint, detail: "authentication failed"))
        }
        // A member cut off from the leader cancels the watch ("no leader") instead of keeping it silently.
        headers.append(("Grpc-Metadata-hasleader", "true"))
        let start = watch.nextRevision
        let body = encodeBody(WatchCreateRequestBody(create_request: .init(
            key: Base64.encode(watch.keys.key),
            range_end: watch.keys.rangeEnd.isEmpty ? nil : Base64.encode(watch.keys.rangeEnd),
            start_revision: start > 0 ? WireInt64(start) : nil,
            prev_kv: prevKV ? true : nil, progress_notify: nil)))

        let limit = configuration.maxResponseBytes
        var buffer: [UInt8] = []
        var outcome: WatchOutcome?

        // A member that accepts the connection and never establishes the watch (frozen, or cut off with its TCP
        // stack still up) is given up after the request timeout.
        let attempt = watch.newAttempt()
        let established = OnceFlag()
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(configuration.requestTimeout * 1000))) {
            if !established.isSet { attempt.cancel() }
        }

        func handle(_ line: [UInt8]) -> WatchOutcome? {
            guard let decoded = try? reader.decode(WatchStreamLine.self, from: line, what: "a watch line") else {
                return .lost(reader.fault("a watch line is not the JSON etcd sends"))
            }
            if let error = decoded.error {
                return streamError(error, endpoint: endpoint, headers: headers)
            }
            guard let result = decoded.result else { return .lost(reader.fault("a watch line has neither result nor error")) }
            if result.canceled == true {
                let compacted = result.compact_revision?.value ?? 0
                if compacted > 0 { return .compacted(compacted) }
                let reason = cleanedMessage(result.cancel_reason ?? "watch cancelled by the member")
                return .lost(.unreachable([EtcdEndpointFailure(endpoint: endpoint, reason: .unavailable(message: reason))]))
            }
            if result.created == true {
                if watch.nextRevision == 0 {
                    guard let header = try? reader.header(result.header), header.revision > 0 else {
                        return .lost(reader.fault("the watch's created answer has no revision"))
                    }
                    watch.advance(to: header.revision + 1)
                }
                established.set()
                report(.connected(endpoint: endpoint, nextRevision: watch.nextRevision))
                return nil
            }
            let events: [EtcdEvent]
            do {
                events = try (result.events ?? []).enumerated().map { try reader.event($0.element, index: $0.offset) }
            } catch let error as EtcdError {
                return .lost(error)
            } catch {
                return .lost(reader.fault("a watch event is malformed"))
            }
            if events.isEmpty {
                // A progress notification: every change up to the header's revision was sent.
                if let header = try? reader.header(result.header), header.revision + 1 > watch.nextRevision {
                    watch.advance(to: header.revision + 1)
                }
                return nil
            }
            // In order, and none twice: after a reconnect etcd starts at nextRevision, so this only guards.
            var last = watch.nextRevision - 1
            var fresh: [EtcdEvent] = []
            for event in events where event.kv.modRevision >= watch.nextRevision {
                guard event.kv.modRevision >= last else {
                    return .lost(reader.fault("watch events out of revision order"))
                }
                last = event.kv.modRevision
                fresh.append(event)
            }
            if !fresh.isEmpty {
                watch.advance(to: last + 1)
                report(.events(fresh))
            }
            return nil
        }

        var errorBody: [UInt8] = []
        let end: CurlStreamEnd
        do {
            end = try http.stream(method: "POST", url: endpoint + "/v3/watch", headers: headers, body: body,
                                  silenceTimeout: 0, cancellation: attempt) { status, chunk in
                if status != 200 {
                    errorBody += chunk
                    return errorBody.count <= limit
                }
                buffer += chunk
                while let newline = buffer.firstIndex(of: 0x0A) {
                    let line = Array(buffer[..<newline])
                    buffer.removeSubrange(...newline)
                    if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
                    if let finished = handle(line) {
                        outcome = finished
                        return false
                    }
                }
                if buffer.count > limit {
                    outcome = .lost(reader.fault("a watch line exceeds \(limit) bytes"))
                    return false
                }
                return true
            }
        } catch let error as CurlHTTPError {
            if watch.isCancelled { return .cancelled }
            if case .cancelled = error {
                return .lost(.unreachable([EtcdEndpointFailure(endpoint: endpoint, reason: .timedOut)]))
            }
            switch Self.translate(error, endpoint: endpoint) {
            case let skip as Skip: return .lost(.unreachable([skip.failure]))
            case let etcd as EtcdError: return etcd == .cancelled ? .cancelled : .lost(etcd)
            default: return .lost(reader.fault("the watch stream failed"))
            }
        } catch {
            return .lost(reader.fault("the watch stream failed"))
        }
        if watch.isCancelled { return .cancelled }
        if let outcome { return outcome }
        if end.status != 200 {
            if let error = try? JSONDecoder().decode(GatewayErrorBody.self, from: Data(errorBody)) {
                return streamError(error, endpoint: endpoint, headers: headers)
            }
            return .lost(reader.fault("HTTP status \(end.status) without etcd's error JSON"))
        }
        // Only a transfer error or a closed connection ends a watch stream.
        if !buffer.isEmpty, let finished = handle(buffer) { return finished }
        return .lost(.unreachable([EtcdEndpointFailure(endpoint: endpoint, reason: .connectionLost)]))
    }

    /// An error line of the watch stream: an expired token is dropped (the retry authenticates again), a request etcd
    /// calls invalid or forbidden ends the watch, anything else (a member stopping, no leader) is retried.
    private func streamError(_ error: GatewayErrorBody, endpoint: String, headers: [(name: String, value: String)]) -> WatchOutcome {
        switch error.code {
        case 16:
            forgetToken(headers)
            return .lost(error.asEtcdError(endpoint: endpoint))
        case 3, 7:
            return .failed(error.asEtcdError(endpoint: endpoint))
        case 14:
            return .lost(.unreachable([EtcdEndpointFailure(endpoint: endpoint, reason: .unavailable(message: cleanedMessage(error.message)))]))
        default:
            return .lost(error.asEtcdError(endpoint: endpoint))
        }
    }
}

/// Sleeps `seconds` (no Foundation `Thread` here).
func usleepSeconds(_ seconds: Double) {
    guard seconds > 0 else { return }
    let semaphore = DispatchSemaphore(value: 0)
    _ = semaphore.wait(timeout: .now() + .milliseconds(Int(seconds * 1000)))
}

/// A flag set once, read from any thread.
final class OnceFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}
