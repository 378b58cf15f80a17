import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The package `scripts/build-deb` makes, built once per test process (the release build is the slow part; its
/// build directory `.build-deb` is kept between runs, so a later run only re-links what changed).
///
/// `.build-deb`, not `.build`: `swift test` holds `.build`'s lock while the tests run, so a `swift build` there would wait
/// for this very process.
enum DebianPackage {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The `.deb`'s path, or why it could not be built.
    static let built: Result<String, Failure> = build()

    /// The path of the built package; throws what went wrong when it could not be built.
    static func path() throws -> String { try built.get() }

    /// The release binary the package was made from (its `--version`, its `--experimental-dump-help`).
    static var releaseBinary: String { ProjectPaths.root + "/.build-deb/release/certagent" }

    private static func build() -> Result<String, Failure> {
        do {
            let result = try Subprocess.run([ProjectPaths.root + "/scripts/build-deb", "--scratch-path", ProjectPaths.root + "/.build-deb"])
            let path = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
            guard result.status == 0, path.hasSuffix(".deb"), FileManager.default.fileExists(atPath: path) else {
                return .failure(Failure(description: "scripts/build-deb exited \(result.status): \(result.stderr.suffix(4000))"))
            }
            return .success(path)
        } catch {
            return .failure(Failure(description: "scripts/build-deb did not run: \(error)"))
        }
    }
}

/// A throwaway Debian root to install the package into: an overlayfs over the root `scripts/debian-root` caches (the
/// cache stays clean), or a copy of it where overlayfs cannot be mounted. Commands run in it through `chroot`.
final class DebianRootCopy {
    let path: String
    private let scratch: TemporaryDirectory
    private var mounted = false

    /// The cached root (built by `scripts/debian-root` on first use: a few minutes from Debian's mirror).
    static func cachedRoot() throws -> String {
        let result = try Subprocess.run([ProjectPaths.root + "/scripts/debian-root"])
        let path = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        guard result.status == 0, FileManager.default.fileExists(atPath: path + "/usr/bin/dpkg") else {
            throw DebianPackage.Failure(description: "scripts/debian-root exited \(result.status): \(result.stderr.suffix(4000))")
        }
        return path
    }

    init() throws {
        let lower = try Self.cachedRoot()
        scratch = try TemporaryDirectory()
        path = try scratch.make("root")
        let upper = try scratch.make("upper"), work = try scratch.make("work")
        let mount = try Subprocess.run(["mount", "-t", "overlay", "overlay", "-o", "lowerdir=\(lower),upperdir=\(upper),workdir=\(work)", path])
        if mount.status == 0 {
            mounted = true
        } else {
            let copy = try Subprocess.run(["cp", "-a", lower + "/.", path])
            guard copy.status == 0 else { throw DebianPackage.Failure(description: "copying \(lower): \(copy.output)") }
        }
    }

    deinit {
        if mounted { _ = try? Subprocess.run(["umount", path]) }
    }

    /// Runs a shell command line inside the root, as root, with Debian's usual PATH and a /proc of its own (the Swift
    /// runtime reads its arguments from /proc/self/cmdline): mounted in a private mount namespace, so it goes away
    /// with the command and never shows outside.
    @discardableResult
    func run(_ script: String) throws -> Subprocess.Result {
        let enter = #"mount -t proc proc "$1/proc" && exec chroot "$1" /bin/sh -c "$2""#
        return try Subprocess.run(["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", enter, "sh", path, script],
                                  environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C", "DEBIAN_FRONTEND": "noninteractive"])
    }

    /// Copies the package into the root's /tmp and installs it with `dpkg -i`.
    func install(_ deb: String) throws -> Subprocess.Result {
        let inside = "/tmp/" + URL(fileURLWithPath: deb).lastPathComponent
        let copy = try Subprocess.run(["cp", deb, path + inside])
        guard copy.status == 0 else { throw DebianPackage.Failure(description: "copying the package: \(copy.output)") }
        return try run("dpkg -i '\(inside)' && rm '\(inside)'")
    }

    /// Every path under the root with its type and mode, except the package manager's and the system's own
    /// bookkeeping (dpkg's database and logs, man-db's index, the kernel file systems).
    func inventory() throws -> Set<String> {
        let result = try Subprocess.run(["find", path, "-xdev", "-printf", "%P %y %m\n"])
        guard result.status == 0 else { throw DebianPackage.Failure(description: "find: \(result.output)") }
        let bookkeeping = ["var/lib/dpkg", "var/log", "var/cache/man", "var/cache/debconf", "tmp", "proc", "sys", "dev", "run"]
        return Set(result.stdout.split(separator: "\n").map(String.init).filter { line in
            !bookkeeping.contains { line == $0 || line.hasPrefix($0 + "/") || line.hasPrefix($0 + " ") }
        })
    }

    /// Whether `path` (inside the root) exists; symbolic links count, dangling or not.
    func exists(_ inside: String) -> Bool {
        var status = stat()
        return lstat(path + inside, &status) == 0
    }
}
