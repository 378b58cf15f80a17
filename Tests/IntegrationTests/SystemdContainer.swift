import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A real systemd booted as PID 1 of a container (`systemd-nspawn -b`) on the cached Debian root of
/// `scripts/debian-root` (`DebianRootCopy.cachedRoot()`), seen through an overlayfs: the cached root is the read-only
/// lower layer, everything the boot and the test change lands in a throwaway upper layer, so every test starts from
/// the same clean root.
///
/// The container shares this machine's network namespace (no `--private-network`): Pebble on the host's loopback
/// validates HTTP-01 against nginx inside the container, and the daemon inside reaches Pebble on `localhost`.
/// The container is driven through its leader's PID (`nsenter`; `machinectl` needs a host systemd, which this
/// project's build machine does not run) and stopped by the PID of the `systemd-nspawn` process this harness started.
final class SystemdContainer {
    /// The merged root the container boots from (writes here land in the upper layer).
    let rootPath: String
    private let scratch: String
    private var mounted = false
    private var nspawn: BackgroundProcess?
    /// PID (in this machine's PID namespace) of the container's systemd.
    private(set) var leader: pid_t = 0
    let machineName: String

    /// Mounts an overlay of `root` (a root from `scripts/debian-root`); nothing runs until `boot()`.
    init(root: String) throws {
        machineName = "certagent-test-\(UUID().uuidString.prefix(8).lowercased())"
        // The upper and work layers must share one file system; /var/tmp is on disk, never a small tmpfs.
        scratch = "/var/tmp/\(machineName)"
        rootPath = scratch + "/merged"
        for directory in ["upper", "work", "merged"] {
            try FileManager.default.createDirectory(atPath: scratch + "/" + directory, withIntermediateDirectories: true)
        }
        let result = try Subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                                         "lowerdir=\(root),upperdir=\(scratch)/upper,workdir=\(scratch)/work", rootPath])
        guard result.status == 0 else { throw Failure("cannot mount an overlay of \(root): \(result.output)") }
        mounted = true
    }

    deinit { shutDown() }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    // MARK: Files, before or after boot

    /// Writes `bytes` to `path` inside the container with `mode`, creating the parent directories. Written through
    /// `chroot` (before boot) or inside the container (after), so a symbolic link in the root (Debian's
    /// `/etc/nginx/sites-enabled/default` → `/etc/nginx/sites-available/default`) resolves inside the root, never to
    /// this machine's file of the same name.
    func write(_ path: String, _ bytes: [UInt8], mode: String = "0644") throws {
        let script = "mkdir -p \"$(dirname \"$1\")\" && cat > \"$1\" && chmod \"$2\" \"$1\""
        let result = try run(["/bin/sh", "-c", script, "sh", path, mode], stdin: bytes)
        guard result.status == 0 else { throw Failure("cannot write \(path) in the container: \(result.output)") }
    }

    func write(_ path: String, _ text: String, mode: String = "0644") throws {
        try write(path, Array(text.utf8), mode: mode)
    }

    /// A file's contents inside the container.
    func read(_ path: String) throws -> String {
        let result = try run(["/bin/cat", path])
        guard result.status == 0 else { throw Failure("cannot read \(path) in the container: \(result.output)") }
        return result.stdout
    }

    // MARK: Running

    /// Runs `command` inside the container — in its namespaces (after boot) or chroot'ed into its root (before) —
    /// with a clean environment.
    @discardableResult
    func run(_ command: [String], stdin: [UInt8]? = nil) throws -> Subprocess.Result {
        let clean = ["env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0"]
        let prefix = leader > 0 ? ["nsenter", "--target", String(leader), "--all"] : ["chroot", rootPath]
        return try Subprocess.run(prefix + clean + command, stdin: stdin)
    }

    /// `systemctl ARGUMENTS` inside, its output trimmed; throws on a non-zero exit (with what it said and the unit's
    /// log when one is named) unless `allowFailure`: the steps after a failed one would only fail in its wake.
    @discardableResult
    func systemctl(_ arguments: String..., allowFailure: Bool = false) throws -> String {
        let result = try run(["systemctl", "--no-pager"] + arguments)
        guard result.status == 0 || allowFailure else {
            let unit = arguments.last.map { log($0) } ?? ""
            throw Failure("systemctl \(arguments.joined(separator: " ")) exited with \(result.status): \(result.output)\n\(unit)")
        }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// One property of a unit (`systemctl show -p NAME --value`).
    func property(_ name: String, of unit: String) throws -> String {
        try systemctl("show", "-p", name, "--value", unit)
    }

    /// `journalctl ARGUMENTS` inside (the journal of the container's own journald).
    func journal(_ arguments: String...) throws -> String {
        try run(["journalctl", "--no-pager"] + arguments).stdout
    }

    /// A unit's messages (`journalctl -u UNIT -o cat`), or "" when the journal cannot be read: for failure messages.
    func log(_ unit: String) -> String {
        (try? journal("-u", unit, "-o", "cat")) ?? ""
    }

    // MARK: Boot and shutdown

    /// Boots the root with systemd as PID 1 and waits until it has finished booting (`is-system-running --wait`).
    /// Returns the seconds that took.
    @discardableResult
    func boot(timeout: TimeInterval = 60) throws -> TimeInterval {
        let started = Date()
        let process = try BackgroundProcess(["systemd-nspawn", "--boot", "--directory=\(rootPath)", "--machine=\(machineName)",
                                             "--link-journal=no", "--console=read-only"] + Self.registration,
                                            outputPath: scratch + "/console.log")
        nspawn = process
        // The container's PID 1 is the child of systemd-nspawn that is PID 1 of its own PID namespace.
        guard eventually(timeout: timeout, {
            if let child = Self.child(of: process.pid), Self.isNamespaceInit(child) { leader = child }
            return leader > 0
        }) else {
            throw Failure("systemd-nspawn started no container: \(process.output)")
        }
        guard eventually(timeout: timeout, { (try? run(["test", "-S", "/run/systemd/private"]).status) == 0 }) else {
            throw Failure("the container's systemd never came up: \(console)")
        }
        let state = try run(["timeout", String(Int(timeout)), "systemctl", "is-system-running", "--wait"])
        guard ["running", "degraded"].contains(state.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw Failure("the container did not finish booting (\(state.output)): \(console)")
        }
        return Date().timeIntervalSince(started)
    }

    /// On a machine booted with systemd (sd_booted: `/run/systemd/system` exists, as on CI runners) nspawn registers the
    /// container with systemd-machined and runs it in a scope unit of its own, its default. Where PID 1 is not systemd
    /// and there is no system D-Bus (this project's build machine), it can do neither: `--register=no --keep-unit`.
    static var registration: [String] {
        FileManager.default.fileExists(atPath: "/run/systemd/system") ? [] : ["--register=no", "--keep-unit"]
    }

    /// What the container printed on its console (systemd's boot and shutdown messages).
    var console: String { nspawn?.output ?? "" }

    /// Powers the container off (SIGTERM to systemd-nspawn: it asks the container's systemd for an orderly shutdown),
    /// then unmounts the overlay and removes the throwaway layer. Safe to call twice.
    func shutDown() {
        if let nspawn {
            nspawn.send(SIGTERM)
            if nspawn.waitForExit(timeout: 30) == nil {
                nspawn.send(SIGKILL)
                _ = nspawn.waitForExit(timeout: 10)
            }
            self.nspawn = nil
            leader = 0
        }
        if mounted {
            if (try? Subprocess.run(["umount", rootPath]).status) == 0 || (try? Subprocess.run(["umount", "--lazy", rootPath]).status) == 0 {
                mounted = false
                // Only once unmounted: removing through the mount would remove nothing of the lower layer, but be wrong.
                try? FileManager.default.removeItem(atPath: scratch)
            }
        }
    }

    /// Whether `pid`'s last `NSpid` (its PID in its innermost PID namespace) is 1.
    private static func isNamespaceInit(_ pid: pid_t) -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("NSpid:") }) else { return false }
        return line.split(whereSeparator: { $0 == "\t" || $0 == " " }).last == "1"
    }

    private static func child(of pid: pid_t) -> pid_t? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8) else { return nil }
        return text.split(separator: " ").first.flatMap { pid_t($0) }
    }
}
