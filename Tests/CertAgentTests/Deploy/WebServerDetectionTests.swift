@testable import CertAgent
import Foundation
import TestSupport
import XCTest

/// `certagent init` finds the web server on an injected host (a directory standing for `/`, a PATH, a process list,
/// systemd's answers) and proposes the reload that fits.
final class WebServerDetectionTests: XCTestCase {
    private var root: TemporaryDirectory!

    override func setUpWithError() throws {
        root = try TemporaryDirectory()
    }

    /// An executable at `path` below the fake root.
    private func program(_ path: String) throws {
        try makeParent(path)
        let file = try root.write(String(path.dropFirst()), "#!/bin/sh\n")
        XCTAssertEqual(chmod(file, 0o755), 0)
    }

    private func makeParent(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: root.path + (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    }

    private func pidFile(_ path: String, _ pid: Int32) throws {
        try makeParent(path)
        _ = try root.write(String(path.dropFirst()), "\(pid)\n")
    }

    private func host(processes: [Int32: String] = [:], systemd: Bool = false, active: Set<String> = [], root asRoot: Bool = true) -> WebServerHost {
        WebServerHost(root: root.path, searchPath: ["/usr/bin"], processes: processes, systemdBooted: systemd,
                      isServiceActive: { active.contains($0) }, runningAsRoot: asRoot)
    }

    func testNginxUnderSystemdIsReloadedThroughSystemctl() throws {
        try program("/usr/sbin/nginx")
        try program("/usr/bin/systemctl")
        let proposal = WebServerDetection.propose(on: host(processes: [812: "nginx", 813: "nginx"], systemd: true, active: ["nginx"]))
        XCTAssertEqual(proposal.reload, ["/usr/bin/systemctl", "reload", "nginx"])
        XCTAssertEqual(proposal.kind, .nginx)
        XCTAssertEqual(proposal.explanation, "nginx runs here (/usr/sbin/nginx, unit nginx active): after each renewal CertAgent runs `/usr/bin/systemctl reload nginx` so it serves the new certificate (--reload CMD for another command, --no-reload for none)")
    }

    func testNginxWithoutSystemdUsesItsOwnReloadWhenItsPidFileNamesALiveProcess() throws {
        try program("/usr/sbin/nginx")
        try pidFile("/run/nginx.pid", 812)
        let proposal = WebServerDetection.propose(on: host(processes: [812: "nginx", 900: "bash"]))
        XCTAssertEqual(proposal.reload, ["/usr/sbin/nginx", "-s", "reload"])
        XCTAssertTrue(proposal.explanation.contains("process 812 (/run/nginx.pid)"), proposal.explanation)
    }

    func testApacheWithoutSystemdIsReloadedGracefully() throws {
        try program("/usr/sbin/apache2")
        try program("/usr/sbin/apachectl")
        try pidFile("/run/apache2/apache2.pid", 4242)
        let proposal = WebServerDetection.propose(on: host(processes: [4242: "apache2", 4243: "apache2"]))
        XCTAssertEqual(proposal.reload, ["/usr/sbin/apachectl", "graceful"])
        XCTAssertEqual(proposal.kind, .apache)
    }

    func testApacheUnderSystemdAsHttpdOnRedHat() throws {
        try program("/usr/sbin/httpd")
        try program("/usr/bin/systemctl")
        let proposal = WebServerDetection.propose(on: host(processes: [77: "httpd"], systemd: true, active: ["httpd"]))
        XCTAssertEqual(proposal.reload, ["/usr/bin/systemctl", "reload", "httpd"])
    }

    func testBothRunningProposesNothingAndNamesBothChoices() throws {
        try program("/usr/sbin/nginx")
        try program("/usr/sbin/apache2")
        try program("/usr/sbin/apachectl")
        try pidFile("/run/nginx.pid", 10)
        try pidFile("/run/apache2/apache2.pid", 20)
        let proposal = WebServerDetection.propose(on: host(processes: [10: "nginx", 20: "apache2"]))
        XCTAssertNil(proposal.reload)
        XCTAssertNil(proposal.kind)
        XCTAssertEqual(proposal.explanation, "both nginx and Apache run here: pass the one serving these sites, --reload '/usr/sbin/nginx -s reload' or --reload '/usr/sbin/apachectl graceful' (or --no-reload)")
    }

    func testInstalledButNotRunningOrRunningElsewhereProposesNothingAndSaysWhy() throws {
        try program("/usr/sbin/nginx")
        let idle = WebServerDetection.propose(on: host())
        XCTAssertNil(idle.reload)
        XCTAssertEqual(idle.kind, .nginx)
        XCTAssertEqual(idle.explanation, "nginx: installed but not running: pass --reload CMD with the command that reloads it, or --no-reload")

        // A stale pid file, and an nginx someone started by hand with its own config: how to reload it is unknown.
        try pidFile("/run/nginx.pid", 5)
        let private_ = WebServerDetection.propose(on: host(processes: [6: "nginx"]))
        XCTAssertNil(private_.reload)
        XCTAssertTrue(private_.explanation.contains("a process runs but not as the system's service (no /run/nginx.pid, no active unit)"), private_.explanation)
    }

    func testAnOrdinaryUserIsNotOfferedTheSystemsReload() throws {
        try program("/usr/sbin/nginx")
        try program("/usr/bin/systemctl")
        let proposal = WebServerDetection.propose(on: host(processes: [812: "nginx"], systemd: true, active: ["nginx"], root: false))
        XCTAssertNil(proposal.reload)
        XCTAssertEqual(proposal.kind, .nginx)
        XCTAssertTrue(proposal.explanation.contains("only root can reload"), proposal.explanation)
    }

    func testNothingFoundAsksForAReloadCommand() {
        let proposal = WebServerDetection.propose(on: host())
        XCTAssertEqual(proposal.servers, [])
        XCTAssertEqual(proposal.explanation, "no nginx or Apache found here: pass --reload CMD with the command that makes your web server load a new certificate, or --no-reload if it needs none")
    }

    func testDirectivesForTheStablePaths() {
        let files = CertificateFiles(directory: "/var/lib/certagent/certificates/shop/current")
        XCTAssertEqual(InitGuidance.servingLines(kind: .nginx, files: files), """
              nginx:
                ssl_certificate     /var/lib/certagent/certificates/shop/current/fullchain.pem;
                ssl_certificate_key /var/lib/certagent/certificates/shop/current/privkey.pem;
            """)
        XCTAssertEqual(InitGuidance.servingLines(kind: .apache, files: files), """
              Apache:
                SSLCertificateFile    /var/lib/certagent/certificates/shop/current/fullchain.pem
                SSLCertificateKeyFile /var/lib/certagent/certificates/shop/current/privkey.pem
            """)
        XCTAssertTrue(InitGuidance.servingLines(kind: nil, files: files).contains("ssl_certificate_key"))
        XCTAssertTrue(InitGuidance.servingLines(kind: nil, files: files).contains("SSLCertificateKeyFile"))
    }

    func testReloadArgumentIsSplitIntoWordsWithoutAShell() throws {
        XCTAssertEqual(try CommandWords.split("systemctl reload nginx"), ["systemctl", "reload", "nginx"])
        XCTAssertEqual(try CommandWords.split("  /usr/sbin/nginx  -s\treload "), ["/usr/sbin/nginx", "-s", "reload"])
        XCTAssertEqual(try CommandWords.split(#"/bin/sh -c 'kill -HUP "$(cat /run/x.pid)"'"#), ["/bin/sh", "-c", #"kill -HUP "$(cat /run/x.pid)""#])
        XCTAssertEqual(try CommandWords.split(#"/opt/my\ server/reload "a b" ''"#), ["/opt/my server/reload", "a b", ""])
        XCTAssertEqual(try CommandWords.split("echo $HOME;"), ["echo", "$HOME;"], "no expansion, no operators")
        XCTAssertThrowsError(try CommandWords.split("reload 'unclosed"))
        XCTAssertThrowsError(try CommandWords.split("   "))
    }
}
