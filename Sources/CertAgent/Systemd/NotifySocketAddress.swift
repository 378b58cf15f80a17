#if canImport(Glibc)
import Glibc
#endif

/// The address in `$NOTIFY_SOCKET`: an absolute file-system path, or `@name` for Linux's abstract namespace.
public enum NotifySocketAddress: Sendable, Equatable, CustomStringConvertible {
    case path(String)
    case abstract(String)

    /// Parses `$NOTIFY_SOCKET`; nil for anything else (empty, relative, too long for `sun_path`, or a `vsock:` address,
    /// which this notifier does not speak).
    public init?(_ value: String) {
        let capacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)
        if value.hasPrefix("@"), value.utf8.count > 1, value.utf8.count <= capacity {
            self = .abstract(String(value.dropFirst()))
        } else if value.hasPrefix("/"), value.utf8.count < capacity {
            self = .path(value)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .path(let path): path
        case .abstract(let name): "@" + name
        }
    }

    /// Calls `body` with the `sockaddr_un` and its exact length (an abstract name has no trailing NUL, and its length
    /// counts only the bytes used: systemd binds it that way).
    public func withSocketAddress<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes: [UInt8]
        switch self {
        case .path(let path): bytes = Array(path.utf8) + [0]
        case .abstract(let name): bytes = [0] + Array(name.utf8)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes.prefix(buffer.count))
        }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }
}
