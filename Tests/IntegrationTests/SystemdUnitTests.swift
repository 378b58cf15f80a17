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
