import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Tells systemd about the daemon's state with the `sd_notify` protocol, without libsystemd: one datagram of
/// newline-separated `KEY=VALUE` assignments to the AF_UNIX socket named by `$NOTIFY_SOCKET`.
///
/// Without a usable `$NOTIFY_SOCKET` (not started by systemd, or `Type=` other than notify) every call does nothing and
/// returns false. Sending never blocks for long and never throws: the daemon must not fail because systemd did not listen.
/// Use with `Type=notify` (and `NotifyAccess=main`): `ready()` once serving, `reloading()` on SIGHUP then `ready()` when
/// done, `stopping()` on SIGTERM, `watchdog()` every `watchdogInterval / 2` when that is set, `status(_:)` any time.
public struct SystemdNotifier: Sendable {
    /// Where datagrams go; nil disables the notifier.
    public let socket: NotifySocketAddress?
    /// The watchdog period from `$WATCHDOG_USEC`, when it applies to this process (`$WATCHDOG_PID` unset or equal to
    /// `processID`) and a socket is there to ping; ping at about half of it.
    public let watchdogInterval: TimeInterval?

    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` from `environment` (the process's by default).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment, processID: pid_t = getpid()) {
        socket = environment["NOTIFY_SOCKET"].flatMap(NotifySocketAddress.init)
        watchdogInterval = socket == nil ? nil : Self.watchdogInterval(environment, processID: processID)
    }

    /// True when a socket is configured.
    public var isEnabled: Bool { socket != nil }

    /// `READY=1`: start-up (or a reload) is complete.
    @discardableResult public func ready() -> Bool { send("READY=1") }

    /// `STATUS=…`: a one-line description shown by `systemctl status` (newlines become spaces).
    @discardableResult public func status(_ text: String) -> Bool {
        send("STATUS=" + text.replacing("\r\n", with: " ").replacing("\n", with: " ").replacing("\r", with: " "))
    }

    /// `WATCHDOG=1`: the keep-alive ping.
    @discardableResult public func watchdog() -> Bool { send("WATCHDOG=1") }

    /// `STOPPING=1`: shutdown has begun.
    @discardableResult public func stopping() -> Bool { send("STOPPING=1") }

    /// `RELOADING=1` with `MONOTONIC_USEC` (CLOCK_MONOTONIC in µs), as systemd 253+ requires for `Type=notify-reload`
    /// and accepts otherwise. Send `ready()` when the reload is complete.
    @discardableResult public func reloading() -> Bool {
        send("RELOADING=1\nMONOTONIC_USEC=\(Self.monotonicMicroseconds())")
    }

    /// `EXTEND_TIMEOUT_USEC=…`: asks for more time before the current start, stop or reload times out.
    @discardableResult public func extendTimeout(by seconds: TimeInterval) -> Bool {
        send("EXTEND_TIMEOUT_USEC=\(UInt64(max(0, seconds) * 1_000_000))")
    }

    /// Sends `message` (newline-separated assignments) as one datagram; false when disabled or the send failed.
    @discardableResult public func send(_ message: String) -> Bool {
        guard let socket else { return false }
        let descriptor = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        let bytes = Array(message.utf8)
        let sent = socket.withSocketAddress { address, length in
            bytes.withUnsafeBytes { buffer in
                sendto(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL), address, length)
            }
        }
        return sent == bytes.count
    }

    static func watchdogInterval(_ environment: [String: String], processID: pid_t) -> TimeInterval? {
        guard let text = environment["WATCHDOG_USEC"], let microseconds = UInt64(text), microseconds > 0 else { return nil }
        if let owner = environment["WATCHDOG_PID"] {
            guard let pid = pid_t(owner), pid == processID else { return nil }
        }
        return TimeInterval(microseconds) / 1_000_000
    }

    static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
    }
}
