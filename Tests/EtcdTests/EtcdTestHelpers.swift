import Etcd
import Foundation
import Synchronization
import TestSupport
import XCTest

/// Collects a watch's notices for a test to wait on.
final class WatchRecorder: Sendable {
    private let notices = Mutex<[EtcdWatchNotice]>([])

    var handler: @Sendable (EtcdWatchNotice) -> Void {
        { notice in self.notices.withLock { $0.append(notice) } }
    }

    var all: [EtcdWatchNotice] { notices.withLock { $0 } }

    /// Every event so far, in delivery order.
    var events: [EtcdEvent] {
        all.flatMap { notice -> [EtcdEvent] in
            if case .events(let events) = notice { return events }
            return []
        }
    }

    var connectedCount: Int {
        all.filter { if case .connected = $0 { return true } else { return false } }.count
    }

    /// Waits up to `timeout` seconds for `condition` over the notices so far.
    func wait(timeout: TimeInterval, _ condition: ([EtcdWatchNotice]) -> Bool) -> Bool {
        eventually(timeout: timeout) { condition(self.all) }
    }

    func waitForEvents(_ count: Int, timeout: TimeInterval = 10) -> Bool {
        eventually(timeout: timeout) { self.events.count >= count }
    }
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// `(kind, key, value)` of each event, for comparisons.
func summary(_ events: [EtcdEvent]) -> [String] {
    events.map { "\($0.kind == .put ? "PUT" : "DELETE") \($0.kv.keyText)=\($0.kv.valueText)" }
}
