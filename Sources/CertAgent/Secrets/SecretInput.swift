import CertCrypto
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Why a secret value could not be read. Never carries the value.
public enum SecretInputError: Error, Sendable, Equatable, CustomStringConvertible {
    case empty
    case tooLong(limit: Int)
    case mismatch
    case endOfInput
    case terminal(reason: String)
    case read(reason: String)

    public var description: String {
        switch self {
        case .empty: return "refusing an empty value: nothing was stored"
        case .tooLong(let limit): return "the value is longer than \(limit) bytes: nothing was stored"
        case .mismatch: return "the two values you typed differ: nothing was stored"
        case .endOfInput: return "no value was entered (end of input): nothing was stored"
        case .terminal(let reason): return "cannot prompt on the terminal: \(reason)"
        case .read(let reason): return "cannot read the value from standard input: \(reason)"
        }
    }
}

/// Reads a secret value without it ever touching the command line: all of standard input when it is not a terminal,
/// else a prompt on the terminal with echo off, asked twice. Every buffer that held the value is wiped; the caller
/// wipes the returned array (`SecureMemory.cleanse`).
public enum SecretInput {
    /// The largest value accepted.
    public static let limit = 64 << 10

    /// The value for secret `name`: from the terminal (`/dev/tty`) when standard input is one, else all of
    /// standard input. Empty values are refused.
    public static func read(name: String) throws -> [UInt8] {
        let value = isatty(STDIN_FILENO) == 1 ? try promptOnTerminal(name: name) : try readAll(descriptor: STDIN_FILENO)
        return value
    }

    /// All of `descriptor` up to end of input, with one trailing newline (`\n` or `\r\n`) removed.
    public static func readAll(descriptor: Int32) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: limit + 2)
        defer { SecureMemory.cleanse(&buffer) }
        var count = 0
        while true {
            guard count < buffer.count else { throw SecretInputError.tooLong(limit: limit) }
            let got = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + count, $0.count - count) }
            if got < 0 {
                if errno == EINTR { continue }
                throw SecretInputError.read(reason: String(cString: strerror(errno)))
            }
            if got == 0 { break }
            count += got
        }
        if count > 0, buffer[count - 1] == UInt8(ascii: "\n") {
            count -= 1
            if count > 0, buffer[count - 1] == UInt8(ascii: "\r") { count -= 1 }
        }
        guard count <= limit else { throw SecretInputError.tooLong(limit: limit) }
        guard count > 0 else { throw SecretInputError.empty }
        return Array(buffer[0 ..< count])
    }

    /// Opens `/dev/tty` and prompts there (see `prompt(name:terminal:)`).
    public static func promptOnTerminal(name: String) throws -> [UInt8] {
        let terminal = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard terminal >= 0 else { throw SecretInputError.terminal(reason: "/dev/tty: \(String(cString: strerror(errno)))") }
        defer { close(terminal) }
        return try prompt(name: name, terminal: terminal)
    }

    /// Prompts twice on the terminal `terminal` with echo off and returns the value when both entries match.
    /// The terminal's settings are restored on every path: on return, on error, and on SIGINT, SIGTERM, SIGHUP or
    /// SIGQUIT (restored, then the signal's default action is taken).
    public static func prompt(name: String, terminal: Int32) throws -> [UInt8] {
        var saved = termios()
        guard tcgetattr(terminal, &saved) == 0 else {
            throw SecretInputError.terminal(reason: String(cString: strerror(errno)))
        }
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        quiet.c_lflag |= tcflag_t(ICANON)

        TerminalRestore.arm(descriptor: terminal, settings: saved)
        defer { TerminalRestore.disarm() }
        guard tcsetattr(terminal, TCSAFLUSH, &quiet) == 0 else {
            throw SecretInputError.terminal(reason: String(cString: strerror(errno)))
        }

        var first = try readLine(terminal, prompt: "Value for secret \(name) (not shown): ")
        defer { SecureMemory.cleanse(&first) }
        guard !first.isEmpty else { throw SecretInputError.empty }
        var second = try readLine(terminal, prompt: "Again, to confirm: ")
        defer { SecureMemory.cleanse(&second) }
        guard constantTimeEqual(first, second) else { throw SecretInputError.mismatch }
        return Array(first)
    }

    /// Writes `prompt`, reads one line (without its newline), then writes the newline the disabled echo swallowed.
    private static func readLine(_ terminal: Int32, prompt: String) throws -> [UInt8] {
        write(terminal, prompt)
        var buffer = [UInt8](repeating: 0, count: limit + 1)
        defer { SecureMemory.cleanse(&buffer) }
        var count = 0
        var ended = false
        while !ended {
            guard count < buffer.count else { throw SecretInputError.tooLong(limit: limit) }
            var byte: UInt8 = 0
            let got = Glibc.read(terminal, &byte, 1)
            if got < 0 {
                if errno == EINTR { continue }
                throw SecretInputError.terminal(reason: String(cString: strerror(errno)))
            }
            if got == 0 {
                write(terminal, "\n")
                throw SecretInputError.endOfInput
            }
            if byte == UInt8(ascii: "\n") {
                ended = true
            } else {
                buffer[count] = byte
                count += 1
            }
            byte = 0
        }
        write(terminal, "\n")
        if count > 0, buffer[count - 1] == UInt8(ascii: "\r") { count -= 1 }
        guard count <= limit else { throw SecretInputError.tooLong(limit: limit) }
        return Array(buffer[0 ..< count])
    }

    private static func write(_ terminal: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(terminal, $0.baseAddress, $0.count) }
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}

/// The terminal settings to put back if a signal ends the process while echo is off. Written only while no signal
/// handler is installed (before `arm` installs them, after `disarm` removes them), read by the handler.
private enum TerminalRestore {
    nonisolated(unsafe) static var descriptor: Int32 = -1
    nonisolated(unsafe) static var settings = termios()
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]
    nonisolated(unsafe) static var previous: [Int32: __sighandler_t?] = [:]

    static func arm(descriptor: Int32, settings: termios) {
        self.descriptor = descriptor
        self.settings = settings
        for signalNumber in signals {
            previous[signalNumber] = signal(signalNumber) { received in
                if TerminalRestore.descriptor >= 0 {
                    _ = tcsetattr(TerminalRestore.descriptor, TCSANOW, &TerminalRestore.settings)
                    var newline: UInt8 = 10
                    _ = Glibc.write(TerminalRestore.descriptor, &newline, 1)
                }
                signal(received, SIG_DFL)
                raise(received)
            }
        }
    }

    static func disarm() {
        if descriptor >= 0 { _ = tcsetattr(descriptor, TCSANOW, &settings) }
        for signalNumber in signals {
            signal(signalNumber, previous[signalNumber] ?? SIG_DFL)
        }
        previous = [:]
        descriptor = -1
    }
}
