@testable import CertAgent
import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

final class CertificateInstallerTests: XCTestCase {
    var temp: TemporaryDirectory!
    var store: StoreFixture!
    var destination: String!

    override func setUpWithError() throws {
        temp = try TemporaryDirectory()
        store = try StoreFixture(in: temp)
        destination = try temp.make("etc/nginx/certs/shop")
    }

    /// All four files under `destination` with standard names and the default modes.
    private func allFiles(keyMode: mode_t = 0o600, mode: mode_t = 0o644, owner: uid_t? = nil, group: gid_t? = nil,
                          reload: ReloadCommand? = nil) -> InstallConfig {
        InstallConfig(privateKey: InstallTarget(path: destination + "/privkey.pem", mode: keyMode),
                      certificate: InstallTarget(path: destination + "/cert.pem", mode: mode),
                      chain: InstallTarget(path: destination + "/chain.pem", mode: mode),
                      fullChain: InstallTarget(path: destination + "/fullchain.pem", mode: mode),
                      owner: owner, group: group, reload: reload)
    }

    private func shell(_ script: String, timeout: Double = 10) -> ReloadCommand {
        ReloadCommand(executable: "/bin/sh", arguments: ["/bin/sh", "-c", script], timeoutSeconds: timeout)
    }

    func testInstallsAllFilesWithDefaultModesAndNoLeftovers() throws {
        let report = try CertificateInstaller.install(files: store.files, config: allFiles(), name: "shop", domains: ["shop.example"])
        let names = ["privkey.pem", "cert.pem", "chain.pem", "fullchain.pem"]
        XCTAssertEqual(report.written, names.map { destination + "/" + $0 })
        XCTAssertEqual(report.unchanged, [])
        XCTAssertFalse(report.reloaded, "no reload command is configured")
        XCTAssertEqual(try contents(destination + "/privkey.pem"), try contents(store.files.privateKey))
        XCTAssertEqual(try contents(destination + "/fullchain.pem"), try contents(store.files.fullChain))
        XCTAssertEqual(fileMode(destination + "/privkey.pem"), 0o600)
        for name in names.dropFirst() { XCTAssertEqual(fileMode(destination + "/" + name), 0o644, name) }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: destination).sorted(), names.sorted(), "no temporary file is left behind")
    }

    func testConfiguredModesAreExactWhateverTheUmask() throws {
        let previous = umask(0o077)
        defer { umask(previous) }
        try CertificateInstaller.install(files: store.files, config: allFiles(keyMode: 0o640, mode: 0o444), name: "shop", domains: ["shop.example"])
        XCTAssertEqual(fileMode(destination + "/privkey.pem"), 0o640)
        XCTAssertEqual(fileMode(destination + "/cert.pem"), 0o444)
        XCTAssertEqual(fileMode(destination + "/fullchain.pem"), 0o444)
    }

    func testIdenticalContentIsLeftInPlaceAndDoesNotReload() throws {
        let marker = temp.path("reloads")
        let config = allFiles(reload: shell("echo reload >> '\(marker)'"))
        let first = try CertificateInstaller.install(files: store.files, config: config, name: "shop", domains: ["shop.example"])
        XCTAssertTrue(first.reloaded)
        let before = try fileStatus(destination + "/cert.pem")
        let keyBefore = try fileStatus(destination + "/privkey.pem")

        let second = try CertificateInstaller.install(files: store.files, config: config, name: "shop", domains: ["shop.example"])
        XCTAssertEqual(second.written, [])
        XCTAssertEqual(second.unchanged.count, 4)
        XCTAssertFalse(second.reloaded, "nothing changed, so the server is not reloaded")
        XCTAssertEqual(try contents(marker), "reload\n", "the reload command ran once")
        let after = try fileStatus(destination + "/cert.pem")
        XCTAssertEqual(after.st_ino, before.st_ino, "the same file, not a replacement")
        XCTAssertEqual(after.st_mtim.tv_sec, before.st_mtim.tv_sec)
        XCTAssertEqual(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec)
        XCTAssertEqual(try fileStatus(destination + "/privkey.pem").st_ino, keyBefore.st_ino)
    }

    func testChangedContentReplacesTheFileAndReloads() throws {
        let marker = temp.path("reloads")
        let config = allFiles(reload: shell("echo reload >> '\(marker)'"))
        try CertificateInstaller.install(files: store.files, config: config, name: "shop", domains: ["shop.example"])
        let before = try fileStatus(destination + "/cert.pem")
        try store.write(privateKey: "KEY-1", certificate: "CERT-2", chain: "CHAIN-1")

        let report = try CertificateInstaller.install(files: store.files, config: config, name: "shop", domains: ["shop.example"])
        XCTAssertEqual(report.written, [destination + "/cert.pem", destination + "/fullchain.pem"])
        XCTAssertEqual(report.unchanged, [destination + "/privkey.pem", destination + "/chain.pem"])
        XCTAssertTrue(report.reloaded)
        XCTAssertTrue(try contents(destination + "/cert.pem").contains("CERT-2"))
        XCTAssertNotEqual(try fileStatus(destination + "/cert.pem").st_ino, before.st_ino, "replaced by rename, not rewritten in place")
        XCTAssertEqual(try contents(marker), "reload\nreload\n")
    }

    func testLoosenedModeOfAnUnchangedFileIsCorrectedInPlace() throws {
        try CertificateInstaller.install(files: store.files, config: allFiles(), name: "shop", domains: ["shop.example"])
        let key = destination + "/privkey.pem"
        chmod(key, 0o644)
        let inode = try fileStatus(key).st_ino
        let report = try CertificateInstaller.install(files: store.files, config: allFiles(), name: "shop", domains: ["shop.example"])
        XCTAssertEqual(report.permissionsCorrected, [key])
        XCTAssertEqual(report.written, [])
        XCTAssertEqual(fileMode(key), 0o600)
        XCTAssertEqual(try fileStatus(key).st_ino, inode)
    }

    func testOwnerAndGroupByNumericIDOfTheCurrentUser() throws {
        try CertificateInstaller.install(files: store.files, config: allFiles(owner: getuid(), group: getgid()), name: "shop", domains: ["shop.example"])
        let info = try fileStatus(destination + "/privkey.pem")
        XCTAssertEqual(info.st_uid, getuid())
        XCTAssertEqual(info.st_gid, getgid())
        XCTAssertEqual(info.st_mode & 0o7777, 0o600)
    }

    func testOwnerAndGroupNobodyWhenRunningAsRoot() throws {
        try XCTSkipUnless(geteuid() == 0, "changing the owner to another user needs root")
        try CertificateInstaller.install(files: store.files, config: allFiles(keyMode: 0o640, owner: 65534, group: 65534), name: "shop", domains: ["shop.example"])
        for name in ["privkey.pem", "cert.pem", "chain.pem", "fullchain.pem"] {
            let info = try fileStatus(destination + "/" + name)
            XCTAssertEqual(info.st_uid, 65534, name)
            XCTAssertEqual(info.st_gid, 65534, name)
        }
        XCTAssertEqual(fileMode(destination + "/privkey.pem"), 0o640, "the mode survives the change of owner")

        // An identical file with the wrong owner is corrected in place.
        chown(destination + "/cert.pem", 0, 0)
        let report = try CertificateInstaller.install(files: store.files, config: allFiles(keyMode: 0o640, owner: 65534, group: 65534), name: "shop", domains: ["shop.example"])
        XCTAssertEqual(report.permissionsCorrected, [destination + "/cert.pem"])
        XCTAssertEqual(try fileStatus(destination + "/cert.pem").st_uid, 65534)
    }

    func testReloadGetsExactlyTheDocumentedEnvironment() throws {
        setenv("CERTAGENT_TEST_CANARY", "secret-canary-value", 1)
        defer { unsetenv("CERTAGENT_TEST_CANARY") }
        let output = temp.path("env.txt")
        // Only the key and the full chain are installed: the others come from the store.
        var config = InstallConfig(privateKey: InstallTarget(path: destination + "/key.pem", mode: 0o600),
                                   fullChain: InstallTarget(path: destination + "/full.pem", mode: 0o644))
        config.reload = shell("env > '\(output)'")
        try CertificateInstaller.install(files: store.files, config: config, name: "shop", domains: ["shop.example", "www.shop.example"])

        let text = try contents(output)
        XCTAssertFalse(text.contains("secret-canary-value"), "the daemon's environment must not reach hooks")
        var environment: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            environment[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        // The shell itself exports PWD (the hook runs in /); nothing else may appear.
        XCTAssertEqual(environment.removeValue(forKey: "PWD"), "/")
        XCTAssertEqual(environment, [
            "CERTAGENT_NAME": "shop",
            "CERTAGENT_DOMAINS": "shop.example www.shop.example",
            "CERTAGENT_PRIVATE_KEY": destination + "/key.pem",
            "CERTAGENT_CERTIFICATE": store.files.certificate,
            "CERTAGENT_CHAIN": store.files.chain,
            "CERTAGENT_FULLCHAIN": destination + "/full.pem",
            "PATH": HookEnvironment.daemonSearchPath(),
        ])
    }

    func testDeployHookWithoutFilesRunsWithTheStorePaths() throws {
        let output = temp.path("hook.txt")
        let config = InstallConfig(reload: shell("printf '%s\\n' \"$CERTAGENT_FULLCHAIN\" \"$CERTAGENT_PRIVATE_KEY\" >> '\(output)'"))
        let first = try CertificateInstaller.install(files: store.files, config: config, name: "shop", domains: ["shop.example"])
        let second = try CertificateInstaller.install(files: store.files, config: config, name: "shop", domains: ["shop.example"])
        XCTAssertTrue(first.reloaded)
        XCTAssertTrue(second.reloaded, "with no file to compare, every call is a new issuance")
        let line = "\(store.files.fullChain)\n\(store.files.privateKey)\n"
        XCTAssertEqual(try contents(output), line + line)
    }

    func testDeployHookWithoutFilesDoesNotRunAgainForTheSameVersion() throws {
        let output = temp.path("hook.txt")
        let config = InstallConfig(reload: shell("echo reloaded >> '\(output)'"))
        let unchanged = try CertificateInstaller.install(files: store.files, config: config, name: "shop", domains: ["shop.example"], versionChanged: false)
        XCTAssertFalse(unchanged.reloaded, "the version deployed last is still current: nothing to reload")
        XCTAssertFalse(FileManager.default.fileExists(atPath: output))
        let changed = try CertificateInstaller.install(files: store.files, config: config, name: "shop", domains: ["shop.example"], versionChanged: true)
        XCTAssertTrue(changed.reloaded)
        XCTAssertEqual(try contents(output), "reloaded\n")
    }

    func testReloadTimeoutStopsTheCommandAndItsChildren() throws {
        let config = allFiles(reload: shell("sleep 30; echo finished", timeout: 1))
        let start = ChildProcess.monotonicSeconds()
        XCTAssertThrowsError(try CertificateInstaller.install(files: store.files, config: config, name: "shop", domains: ["shop.example"])) { error in
            guard case InstallError.reloadTimedOut(let command, let seconds, let termination, let output)? = error as? InstallError else {
                return XCTFail("expected a timeout, got \(error)")
            }
            XCTAssertEqual(command, "/bin/sh -c sleep 30; echo finished")
            XCTAssertEqual(seconds, 1)
            XCTAssertEqual(termination, .signaled(SIGTERM))
            XCTAssertFalse(output.contains("finished"))
            XCTAssertTrue((error as! InstallError).isReloadFailure)
            XCTAssertTrue("\(error)".contains("timeout of 1 s"), "\(error)")
        }
        let elapsed = ChildProcess.monotonicSeconds() - start
        XCTAssertLessThan(elapsed, 15, "stopped at the timeout, not after the command's 30 s (bound generous for a loaded machine)")
        XCTAssertEqual(try contents(destination + "/cert.pem"), try contents(store.files.certificate), "files stay installed")
    }

    func testCommandIgnoringSIGTERMIsKilledAfterTheGracePeriod() throws {
        let config = InstallConfig(reload: shell("trap '' TERM; sleep 30", timeout: 0.5))
        let start = ChildProcess.monotonicSeconds()
        XCTAssertThrowsError(try CertificateInstaller.reload(files: store.files, config: config, name: "shop", domains: ["shop.example"], killGraceSeconds: 0.5)) { error in
            guard case InstallError.reloadTimedOut(_, _, let termination, _)? = error as? InstallError else { return XCTFail("\(error)") }
            XCTAssertEqual(termination, .signaled(SIGKILL))
        }
        XCTAssertLessThan(ChildProcess.monotonicSeconds() - start, 15, "killed after the grace period, not after the command's 30 s")
    }

    func testAStoppingAgentStopsTheReloadCommandAndItsChildrenAtOnce() throws {
        // The command ignores SIGTERM and would run for an hour: the stop still ends it, by SIGKILL after 2 s at most.
        let config = allFiles(reload: shell("trap '' TERM; sleep 3600; echo finished", timeout: 3600))
        let start = ChildProcess.monotonicSeconds()
        var asked = 0
        XCTAssertThrowsError(try CertificateInstaller.install(files: store.files, config: config, name: "shop", domains: ["shop.example"],
                                                              shouldStop: { asked += 1; return asked > 3 })) { error in
            guard case InstallError.reloadInterrupted(let command, let termination)? = error as? InstallError else {
                return XCTFail("expected an interrupted reload, got \(error)")
            }
            XCTAssertEqual(command, "/bin/sh -c trap '' TERM; sleep 3600; echo finished")
            XCTAssertEqual(termination, .signaled(SIGKILL), "SIGTERM was ignored, so SIGKILL after the short grace")
            XCTAssertTrue((error as! InstallError).isReloadFailure, "the files are in place: only the reload is to be retried")
            XCTAssertTrue("\(error)".contains("was stopped because CertAgent was stopping"), "\(error)")
        }
        XCTAssertLessThan(ChildProcess.monotonicSeconds() - start, 15, "ended by the stop, not by the command's hour (generous bound for a loaded machine)")
        XCTAssertEqual(try contents(destination + "/cert.pem"), try contents(store.files.certificate), "files stay installed")
    }

    func testSignalsIgnoredByTheDaemonAreNotInheritedByTheCommand() throws {
        // The daemon ignores SIGTERM (it handles it with a dispatch source); ignored dispositions survive exec.
        let previous = signal(SIGTERM, SIG_IGN)
        defer { signal(SIGTERM, previous) }
        let config = InstallConfig(reload: ReloadCommand(executable: "/bin/sleep", arguments: ["sleep", "30"], timeoutSeconds: 0.5))
        XCTAssertThrowsError(try CertificateInstaller.reload(files: store.files, config: config, name: "shop", domains: ["shop.example"], killGraceSeconds: 5)) { error in
            guard case InstallError.reloadTimedOut(_, _, let termination, _)? = error as? InstallError else { return XCTFail("\(error)") }
            XCTAssertEqual(termination, .signaled(SIGTERM), "SIGTERM reached the command: it was not left ignored")
        }
    }

    func testFailingReloadReportsStatusAndOutputTailAndKeepsTheFiles() throws {
        let config = allFiles(reload: shell("echo 'testing configuration'; echo 'nginx: [emerg] cannot load certificate' >&2; exit 3"))
        XCTAssertThrowsError(try CertificateInstaller.install(files: store.files, config: config, name: "shop", domains: ["shop.example"])) { error in
            guard let error = error as? InstallError, case .reloadFailed(_, let termination, let output) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(termination, .exited(3))
            XCTAssertEqual(output, #"testing configuration\nnginx: [emerg] cannot load certificate"#,
                           "one line, its line break shown as \\n (the output is the command's text, not ours to lay out)")
            XCTAssertTrue(error.isReloadFailure)
            XCTAssertEqual(error.description, """
                the reload command `/bin/sh -c echo 'testing configuration'; echo 'nginx: [emerg] cannot load certificate' >&2; exit 3` \
                exited with status 3; its output ended with:
                testing configuration\\nnginx: [emerg] cannot load certificate
                """)
        }
        XCTAssertEqual(try contents(destination + "/privkey.pem"), try contents(store.files.privateKey), "the good certificate stays installed")
        // A retry of the reload alone (nothing left to copy) runs the command again.
        XCTAssertThrowsError(try CertificateInstaller.reload(files: store.files, config: config, name: "shop", domains: ["shop.example"]))
    }

    func testOutputTailIsBounded() throws {
        let config = InstallConfig(reload: shell("head -c 100000 /dev/zero | tr '\\0' a; echo; echo END; exit 1"))
        XCTAssertThrowsError(try CertificateInstaller.reload(files: store.files, config: config, name: "shop", domains: ["shop.example"])) { error in
            guard case InstallError.reloadFailed(_, _, let output)? = error as? InstallError else { return XCTFail("\(error)") }
            XCTAssertTrue(output.hasPrefix("…a"), "marked as cut")
            XCTAssertTrue(output.hasSuffix(#"a\nEND"#), output.suffix(20).debugDescription)
            // The last 4096 bytes, less the final line break; the inner line break shown as two characters.
            XCTAssertEqual(output.utf8.count, "…".utf8.count + (4096 - 5) + #"\nEND"#.utf8.count)
        }
    }

    func testCommandThatLeavesABackgroundChildDoesNotBlock() throws {
        // The background sleep keeps the output pipe open; the wait ends when the command itself exits.
        let config = InstallConfig(reload: shell("sleep 20 & echo started"))
        let start = ChildProcess.monotonicSeconds()
        try CertificateInstaller.reload(files: store.files, config: config, name: "shop", domains: ["shop.example"])
        XCTAssertLessThan(ChildProcess.monotonicSeconds() - start, 15, "not held until the background child's 20 s are over")
    }

    func testReloadThatCannotStartNamesTheCommand() throws {
        let config = InstallConfig(reload: ReloadCommand(executable: temp.path("missing-program"), arguments: ["missing-program", "reload"]))
        XCTAssertThrowsError(try CertificateInstaller.reload(files: store.files, config: config, name: "shop", domains: ["shop.example"])) { error in
            XCTAssertEqual("\(error)", "cannot start the reload command `missing-program reload`: \(temp.path("missing-program")): No such file or directory")
        }
    }

    func testMissingStoreFileIsNamed() throws {
        unlink(store.files.chain)
        XCTAssertThrowsError(try CertificateInstaller.install(files: store.files, config: allFiles(), name: "shop", domains: ["shop.example"])) { error in
            XCTAssertEqual(error as? InstallError, .file(operation: "read", path: store.files.chain, reason: "No such file or directory"))
            XCTAssertFalse((error as! InstallError).isReloadFailure)
        }
        // All or nothing: a key is never installed without the certificate that matches it.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: destination), [], "nothing installed, no temporary left")
    }

    func testVanishedTargetDirectoryIsNamed() throws {
        try FileManager.default.removeItem(atPath: destination)
        XCTAssertThrowsError(try CertificateInstaller.install(files: store.files, config: allFiles(), name: "shop", domains: ["shop.example"])) { error in
            XCTAssertEqual("\(error)", "cannot create a temporary file in \(destination!): No such file or directory")
        }
    }
}
