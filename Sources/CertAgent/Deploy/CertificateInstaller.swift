#if canImport(Glibc)
import Glibc
#endif

/// Copies a certificate's files from the store to where servers read them, then runs the reload command.
public enum CertificateInstaller {
    /// Installs every file `config` names (skipping those whose content is already identical), then runs the reload
    /// command if some file changed, or — when `config` installs no file (a pure deploy hook) — if `versionChanged`
    /// (the current certificate is not the one last deployed), so a reload-only install runs after each new
    /// certificate and not at every daemon start or config reload.
    ///
    /// `files` are the store's current files; `name` and `domains` are passed to the reload command as
    /// `CERTAGENT_NAME` and `CERTAGENT_DOMAINS`. A reload failure (`InstallError.isReloadFailure`) leaves every file
    /// installed: retry with `reload(files:config:name:domains:)`.
    /// `shouldStop` ends a reload command early (the agent is stopping: SIGTERM, then SIGKILL after 2 s).
    @discardableResult
    public static func install(files: CertificateFiles, config: InstallConfig, name: String, domains: [String],
                               versionChanged: Bool = true, shouldStop: () -> Bool = { false }) throws(InstallError) -> InstallReport {
        var report = try copyFiles(files: files, config: config)
        if config.reload != nil, report.changed || (!config.installsFiles && versionChanged) {
            try reload(files: files, config: config, name: name, domains: domains, killGraceSeconds: 5, shouldStop: shouldStop)
            report.reloaded = true
        }
        return report
    }

    /// Copies the configured files only (no reload), as one set: every source is read from one resolved version
    /// (a commit in the store meanwhile cannot mix two), every changed file is staged beside its target first, and
    /// only when all are staged are they renamed into place — so a failure (disk full, bad owner) leaves the installed
    /// key and certificate as they were, still matching each other.
    public static func copyFiles(files: CertificateFiles, config: InstallConfig) throws(InstallError) -> InstallReport {
        var report = InstallReport()
        let version = CertificateFiles(directory: PathSafety.canonical(files.directory))
        let pairs: [(source: String, target: InstallTarget?)] = [
            (version.privateKey, config.privateKey), (version.certificate, config.certificate),
            (version.chain, config.chain), (version.fullChain, config.fullChain),
        ]
        var contents: [(target: InstallTarget, bytes: [UInt8])] = []
        for (source, target) in pairs {
            guard let target else { continue }
            contents.append((target, try InstalledFileWriter.read(source)))
        }
        var staged: [(temporary: String, target: InstallTarget)] = []
        do {
            for (target, bytes) in contents {
                switch try InstalledFileWriter.keepIfIdentical(bytes, target: target, owner: config.owner, group: config.group) {
                case .unchanged?: report.unchanged.append(target.path)
                case .permissionsCorrected?:
                    report.unchanged.append(target.path)
                    report.permissionsCorrected.append(target.path)
                case .written?, nil:
                    staged.append((try InstalledFileWriter.stage(target, with: bytes, owner: config.owner, group: config.group), target))
                }
            }
        } catch {
            for file in staged { unlink(file.temporary) }
            throw error
        }
        for (index, file) in staged.enumerated() {
            do {
                try InstalledFileWriter.commit(file.temporary, to: file.target)
            } catch {
                for rest in staged[(index + 1)...] { unlink(rest.temporary) }
                throw error
            }
            report.written.append(file.target.path)
        }
        return report
    }

    /// Runs the reload command (if any) once, with the documented environment and the configured timeout.
    public static func reload(files: CertificateFiles, config: InstallConfig, name: String, domains: [String]) throws(InstallError) {
        try reload(files: files, config: config, name: name, domains: domains, killGraceSeconds: 5)
    }

    static func reload(files: CertificateFiles, config: InstallConfig, name: String, domains: [String], killGraceSeconds: Double,
                       shouldStop: () -> Bool = { false }) throws(InstallError) {
        guard let command = config.reload else { return }
        let environment = HookEnvironment.make(files: files, config: config, name: name, domains: domains)
        let result: ChildProcess.Result
        do {
            result = try ChildProcess.run(executable: command.executable, arguments: command.arguments, environment: environment,
                                          timeoutSeconds: command.timeoutSeconds, killGraceSeconds: killGraceSeconds, shouldStop: shouldStop)
        } catch {
            throw .reloadNotStarted(command: command.displayText, reason: error.reason)
        }
        if result.stopped {
            throw .reloadInterrupted(command: command.displayText, termination: result.termination)
        }
        if result.timedOut {
            throw .reloadTimedOut(command: command.displayText, timeoutSeconds: command.timeoutSeconds,
                                  termination: result.termination, outputTail: result.outputTail)
        }
        guard result.termination == .exited(0) else {
            throw .reloadFailed(command: command.displayText, termination: result.termination, outputTail: result.outputTail)
        }
    }
}
