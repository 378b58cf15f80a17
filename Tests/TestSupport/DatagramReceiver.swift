import CertAgent
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public struct SocketTestError: Error, CustomStringConvertible {
    public let description: String
}

/// A bound AF_UNIX datagram socket standing in for systemd's notification socket.
public final class DatagramReceiver {
    public let address: NotifySocketAddress
    private let descriptor: Int32

    public init(_ address: NotifySocketAddress) throws {
        self.address = address
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw SocketTestError(description: "socket: \(String(cString: strerror(errno)))") }
        let bound = address.withSocketAddress { bind(descriptor, $0, $1) }
        guard bound == 0 else { throw SocketTestError(description: "bind \(address): \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        close(descriptor)
        if case .path(let path) = address { unlink(path) }
    }

    /// The next datagram as text, or nil when none arrives within two seconds.
    public func receive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        guard count >= 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }

    /// True when no datagram is waiting (peeks: nothing is consumed).
    public func isEmpty() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT) | Int32(MSG_PEEK)) }
        return count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
    }
}
