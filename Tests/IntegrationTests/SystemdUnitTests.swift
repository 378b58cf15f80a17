import Foundation
import TestSupport
import XCTest

/// The shipped unit file is valid for systemd and asks for what the daemon relies on.
final class SystemdUnitTests: XCTestCase {
    private var unit: String { ProjectPaths.root + "/systemd/certagent.service" }

    func testUnitFileVerifiesWithSystemdAnalyze() throws {
        // verify checks ExecStart= exists: point it at the freshly built binary in a copy of the unit.
        let temporary = try TemporaryDirectory()
        let text = try String(contentsOfFile: unit, encoding: .utf8)
            .replacing("/usr/local/bin/certagent", with: ProjectPaths.certagentBinary)
        let copy = try temporary.write("certagent.service", text)
        let result = try Subprocess.run(["systemd-analyze", "verify", "--man=no", copy])
        XCTAssertEqual(result.status, 0, result.output)
        // systemd-analyze only warns about unknown keys and exits 0: any output is a problem.
        XCTAssertEqual(result.output.trimmingCharacters(in: .whitespacesAndNewlines), "")
    }

    func testUnitAsksForNotifyHardeningAndTheMasterKeyCredential() throws {
        let text = try String(contentsOfFile: unit, encoding: .utf8)
        for line in ["Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "WatchdogSec=", "Restart=on-failure",
                     "StateDirectory=certagent", "ProtectSystem=strict", "ReadWritePaths=", "NoNewPrivileges=yes",
                     "PrivateTmp=yes", "UMask=0077", "LoadCredential=certagent-master-key:"] {
            XCTAssertTrue(text.contains("\n" + line), "missing \(line)")
        }
    }
}

/// The user unit (a shared host without root) is valid for a user manager and asks for nothing only root may have.
final class SystemdUserUnitTests: XCTestCase {
    private var unit: String { ProjectPaths.root + "/systemd/certagent-user.service" }

    func testUserUnitVerifiesWithSystemdAnalyzeInUserMode() throws {
        let temporary = try TemporaryDirectory()
        let runtime = try temporary.make("runtime")
        XCTAssertEqual(chmod(runtime, 0o700), 0)
        let text = try String(contentsOfFile: unit, encoding: .utf8)
            .replacing("%h/.local/bin/certagent", with: ProjectPaths.certagentBinary)
        let copy = try temporary.write("certagent.service", text)
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_RUNTIME_DIR"] = runtime   // a user manager's runtime directory (there is no login session here)
        let result = try Subprocess.run(["systemd-analyze", "verify", "--user", "--man=no", copy], environment: environment)
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertEqual(result.output.trimmingCharacters(in: .whitespacesAndNewlines), "")
    }

    func testUserUnitRunsTheUsersConfigWithoutRootOnlyDirectives() throws {
        let text = try String(contentsOfFile: unit, encoding: .utf8)
        for line in ["Type=notify", "ExecStart=%h/.local/bin/certagent run --config %h/.config/certagent/config.json",
                     "ExecReload=/bin/kill -HUP $MAINPID", "WatchdogSec=", "Restart=on-failure", "UMask=0077", "NoNewPrivileges=yes",
                     "WantedBy=default.target"] {
            XCTAssertTrue(text.contains("\n" + line), "missing \(line)")
        }
        let directives = text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { String($0.split(separator: "=").first ?? "") }
        for rootOnly in ["User", "Group", "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices", "ReadWritePaths", "CapabilityBoundingSet",
                         "LoadCredential", "ProtectKernelTunables", "ProtectKernelModules", "ProtectControlGroups", "ProtectClock", "StateDirectory"] {
            XCTAssertFalse(directives.contains(rootOnly), "\(rootOnly)= needs root (or user namespaces) and fails in many user managers")
        }
        XCTAssertTrue(text.contains("loginctl enable-linger"), "the unit's header explains lingering")
    }
}
