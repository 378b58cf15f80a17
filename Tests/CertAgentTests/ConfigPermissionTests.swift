import CertAgent
import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The StrictModes rule: a config (and every directory on its path) that anyone but the running user or root can
/// write is refused, with the exact fix.
final class ConfigPermissionTests: XCTestCase {
    private var temp: TemporaryDirectory!
    private var directory = ""
    private var config = ""
    private var webroot = ""
    private let nobody: uid_t = 65534

    override func setUpWithError() throws {
        try XCTSkipUnless(geteuid() == 0, "needs root to chown files to another user")
        temp = try TemporaryDirectory()
        directory = try temp.make("etc/certagent")
        webroot = try temp.make("www")
        XCTAssertEqual(chmod(temp.path, 0o755), 0)
        XCTAssertEqual(chmod(temp.path("etc"), 0o755), 0)
        XCTAssertEqual(chmod(directory, 0o755), 0)
        config = try temp.write("etc/certagent/config.json", """
            {"storage": "\(temp.path)/store", "certificates": [{"name": "site", "domains": ["a.example"], "webroot": "\(webroot)",
             "install": {"reload": ["/bin/true"]}}]}
            """)
        XCTAssertEqual(chmod(config, 0o644), 0)
    }

    private func problems(euid: uid_t = 0, path: String? = nil) throws -> [String] {
        try ConfigPermissions(euid: euid).check(path ?? config).problems.map(\.message)
    }

    func testARootOwnedConfigInSafeDirectoriesPassesAndLoads() throws {
        XCTAssertEqual(try problems(), [])
        let loaded = try ConfigLoader.load(path: config, environment: [:], permissions: ConfigPermissions(euid: 0))
        XCTAssertEqual(loaded.certificates.first?.install?.reload?.arguments, ["/bin/true"])
    }

    func testAConfigOwnedByAnotherUserIsRefusedWithTheChownFix() throws {
        XCTAssertEqual(chown(config, nobody, nobody), 0)
        let found = try problems()
        XCTAssertEqual(found.count, 1, "\(found)")
        XCTAssertTrue(found[0].contains("the config file \(config) is not safe: it is owned by nobody (uid 65534)"), found[0])
        XCTAssertTrue(found[0].hasSuffix("Fix: chown root:root \(config)"), found[0])
    }

    func testGroupOrOtherWritableModesAreRefusedWithTheChmodFix() throws {
        for (mode, who) in [(mode_t(0o666), "its group and all other users"), (0o664, "its group"), (0o620, "its group"), (0o646, "all other users")] {
            XCTAssertEqual(chmod(config, mode), 0)
            let found = try problems()
            XCTAssertEqual(found.count, 1, "\(found)")
            XCTAssertTrue(found.first?.contains("its mode 0\(String(mode, radix: 8)) lets \(who) write to it") == true, "\(found)")
            XCTAssertTrue(found.first?.hasSuffix("Fix: chmod go-w \(config)") == true, "\(found)")
        }
        XCTAssertEqual(chmod(config, 0o600), 0)
        XCTAssertEqual(try problems(), [], "0600 and 0644 are fine")
    }

    func testBothOwnerAndModeGiveOneCombinedFix() throws {
        XCTAssertEqual(chown(config, nobody, nobody), 0)
        XCTAssertEqual(chmod(config, 0o666), 0)
        let found = try problems()
        XCTAssertEqual(found.count, 1, "\(found)")
        XCTAssertTrue(found[0].hasSuffix("Fix: chown root:root \(config) && chmod go-w \(config)"), found[0])
    }

    func testAGroupWritableOrForeignParentDirectoryIsRefused() throws {
        XCTAssertEqual(chmod(directory, 0o775), 0)
        var found = try problems()
        XCTAssertEqual(found.count, 1, "\(found)")
        XCTAssertTrue(found[0].hasPrefix("the directory \(directory) on the config's path is not safe: its mode 0775 lets its group write to it"), found[0])
        XCTAssertTrue(found[0].hasSuffix("Fix: chmod go-w \(directory)"), found[0])

        XCTAssertEqual(chmod(directory, 0o755), 0)
        XCTAssertEqual(chown(temp.path("etc"), nobody, nobody), 0)
        found = try problems()
        XCTAssertEqual(found.count, 1, "\(found)")
        XCTAssertTrue(found[0].contains("the directory \(temp.path("etc")) on the config's path is not safe: it is owned by nobody"), found[0])
        XCTAssertTrue(found[0].hasSuffix("Fix: chown root:root \(temp.path("etc"))"), found[0])
    }

    func testAStickyWorldWritableParentLikeTmpIsAccepted() throws {
        XCTAssertEqual(chmod(temp.path("etc"), 0o1777), 0)
        XCTAssertEqual(try problems(), [])
        XCTAssertEqual(chmod(temp.path("etc"), 0o0777), 0)
        XCTAssertEqual(try problems().count, 1, "without the sticky bit it is refused")
    }

    func testASymbolicLinkIsFollowedAndBothItsDirectoryAndTheTargetsAreChecked() throws {
        // The link sits in a safe directory, the real file in an unsafe one: the real file's directory counts.
        let unsafe = try temp.make("shared")
        XCTAssertEqual(chmod(unsafe, 0o777), 0)
        let real = unsafe + "/real.json"
        XCTAssertEqual(rename(config, real), 0)
        XCTAssertEqual(symlink(real, config), 0)
        var found = try problems()
        XCTAssertEqual(found.count, 1, "\(found)")
        XCTAssertTrue(found[0].contains("the directory \(unsafe) on the config's path"), found[0])

        // A link owned by another user in a sticky shared directory can be re-pointed by that user.
        XCTAssertEqual(chmod(unsafe, 0o1777), 0)
        let link = unsafe + "/link.json"
        XCTAssertEqual(symlink(real, link), 0)
        XCTAssertEqual(lchown(link, nobody, nobody), 0)
        found = try problems(path: link)
        XCTAssertEqual(found.count, 1, "\(found)")
        XCTAssertTrue(found[0].contains("passes through the symbolic link \(link), owned by nobody (uid 65534) in the shared directory \(unsafe)"), found[0])
        XCTAssertTrue(found[0].hasSuffix("Fix: chown -h root:root \(link)"), found[0])
    }

    func testADirectoryAboveALinksDirectoryIsCheckedToo() throws {
        // /srv/shared is writable by all (not sticky): another user could rename cfg and put a config of their own there.
        XCTAssertEqual(chmod(try temp.make("srv"), 0o755), 0)
        let shared = try temp.make("srv/shared")
        XCTAssertEqual(chmod(shared, 0o777), 0)
        let cfg = try temp.make("srv/shared/cfg")
        XCTAssertEqual(chmod(cfg, 0o755), 0)
        let link = cfg + "/certagent.json"
        XCTAssertEqual(symlink(config, link), 0)
        let found = try problems(path: link)
        XCTAssertTrue(found.contains { $0.hasPrefix("the directory \(shared) on the config's path is not safe") }, "\(found)")
        XCTAssertEqual(chmod(shared, 0o755), 0)
        XCTAssertEqual(try problems(path: link), [], "safe once nobody else can write there")
    }

    func testTheRunningUserIsInjectable() throws {
        XCTAssertEqual(chown(config, nobody, nobody), 0)
        XCTAssertEqual(try problems(euid: nobody), [], "nobody's own config is fine for nobody")
        let found = try problems(euid: 4242)
        XCTAssertEqual(found.count, 1, "\(found)")
        XCTAssertTrue(found[0].contains("someone other than uid 4242 could change it"), found[0])
        XCTAssertTrue(found[0].hasSuffix("Fix: chown 4242 \(config) (as root)"), found[0])
    }

    func testLoadRefusesAnUnsafeConfigBeforeReadingItsContents() throws {
        XCTAssertEqual(chmod(config, 0o666), 0)
        XCTAssertThrowsError(try ConfigLoader.load(path: config, environment: [:], permissions: ConfigPermissions(euid: 0))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("chmod go-w \(config)"), text)
            XCTAssertFalse(text.contains("JSON"), text)
        }
        // A non-root user is held to the same rule (the config names files CertAgent overwrites as that user).
        XCTAssertThrowsError(try ConfigLoader.load(path: config, environment: [:], permissions: ConfigPermissions(euid: 1000)))
    }

    func testAPathWithSpacesIsQuotedInTheFix() throws {
        let spaced = try temp.make("my configs")
        let path = try temp.write("my configs/config.json", "{}")
        XCTAssertEqual(chmod(spaced, 0o755), 0)
        XCTAssertEqual(chmod(path, 0o664), 0)
        let found = try problems(path: path)
        XCTAssertTrue(found.first?.hasSuffix("Fix: chmod go-w '\(path)'") == true, "\(found)")
    }
}
