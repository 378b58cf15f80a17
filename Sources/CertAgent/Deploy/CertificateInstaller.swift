#if canImport(Glibc)
import Glibc
#endif

/// Copies a certificate's files from the store to where servers read them, then runs the reload command.
public enum CertificateInstaller {
    /// Installs every file `config` names (skipping those whose content is already identical), then runs the reload
    /// command if some file changed, or if `config` installs no file (a pure deploy hook, run after each issuance).
    ///
    /// `files` are the store's current files; `name` and `domains` are passed to the reload command as
    /// `CERTAGENT_NAME` and `CERTAGENT_DOMAINS`. A reload failure (`InstallError.isReloadFailure`) leaves every file
    /// installed: retry with `reload(files:config:name:domains:)`.
    @discardableResult
    public static func install(files: CertificateFiles, config: InstallConfig, name: String, domains: [String]) throws(InstallError) -> InstallReport {
        var report = try copyFiles(files: files, config: config)
        if config.reload != nil, report.changed || !config.installsFiles {
            try reload(files: files, config: config, name: name, domains: domains)
            report.reloaded = true
        }
        return report
    }

    /// Copies the configured files only (no reload), in the order key, certificate, chain, full chain.
    public static func copyFiles(files: CertificateFiles, config: InstallConfig) throws(InstallError) -> InstallReport {
        var report = InstallReport()
        let pairs: [(source: String, target: InstallTarget?)] = [
            (files.privateKey, config.privateKey), (files.certificate, config.certificate),
            (files.chain, config.chain), (files.fullChain, config.fullChain),
        ]
        for (source, target) in pairs {
            guard let target else { continue }
            let bytes = try InstalledFileWriter.read(source)
            switch try InstalledFileWriter.install(bytes, to: target, owner: config.owner, group: config.group) {
            case .written: report.written.append(target.path)
            case .unchanged: report.unchanged.append(target.path)
            case .permissionsCorrected:
                report.unchanged.append(target.path)
                report.permissionsCorrected.append(target.path)
            }
        }
        return report
    }

    /// Runs the reload command (if any) once, with the documented environment and the configured timeout.
    public static func reload(files: CertificateFiles, config: InstallConfig, name: String, domains: [String]) throws(InstallError) {
        try reload(files: files, config: config, name: name, domains: domains, killGraceSeconds: 5)
    }

    static func reload(files: CertificateFiles, config: InstallConfig, name: String, domains: [String], killGraceSeconds: Double) throws(InstallError) {
        guard let command = config.reload else { return }
        let environment = HookEnvironment.make(files: files, config: config, name: name, domains: domains)
        let result: ChildProcess.Result
        do {
            result = try ChildProcess.run(executable: command.executable, arguments: command.arguments, environment: environment,
                                          timeoutSeconds: command.timeoutSeconds, killGraceSeconds: killGraceSeconds)
        } catch {
            throw .reloadNotStarted(command: command.displayText, reason: error.reason)
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
