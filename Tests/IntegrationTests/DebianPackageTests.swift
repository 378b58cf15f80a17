import Foundation
import TestSupport
import XCTest

/// The Debian package from `scripts/build-deb`: what it holds, what lintian says of it, and what `dpkg -i`, `dpkg -r`
/// and `dpkg -P` do with it in a Debian bookworm root (`scripts/debian-root`, through chroot: needs root, as CI runs).
final class DebianPackageTests: XCTestCase {
    private static let config = "/etc/certagent/config.json"
    private static let store = "/var/lib/certagent"

    // MARK: What the package holds

    func testControlNamesTheBinarysVersionAndOnlyDebianLibrariesPlusProcps() throws {
        let deb = try DebianPackage.path()
        let version = try runCommand(DebianPackage.releaseBinary, ["--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertFalse(version.isEmpty)
        let fields = try controlFields(deb)
        XCTAssertEqual(fields["Package"], "certagent")
        XCTAssertEqual(fields["Version"], version + "-1", "the version comes from the binary (CertAgentVersion.current)")
        XCTAssertTrue(deb.hasSuffix("/certagent_\(version)-1_\(fields["Architecture"] ?? "?").deb"), deb)
        let depends = (fields["Depends"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let names = Set(depends.map { String($0.split(separator: " ").first ?? "") })
        XCTAssertTrue(names.isSuperset(of: ["libssl3", "libcurl4", "libc6", "procps"]), "Depends: \(depends)")
        // The Swift runtime is inside the binary: every other dependency is a Debian C/C++ runtime library.
        XCTAssertEqual(names.subtracting(["libssl3", "libcurl4", "libc6", "libgcc-s1", "libstdc++6", "procps"]), [], "Depends: \(depends)")
    }

    func testPackageHoldsTheBinaryUnitManPagesCompletionsAndDocumentationOwnedByRoot() throws {
        let entries = try packageEntries(try DebianPackage.path())
        let expected: [String: String] = [
            "/usr/bin/certagent": "-rwxr-xr-x",
            "/usr/lib/systemd/system/certagent.service": "-rw-r--r--",
            "/usr/share/bash-completion/completions/certagent": "-rw-r--r--",
            "/usr/share/zsh/vendor-completions/_certagent": "-rw-r--r--",
            "/usr/share/fish/vendor_completions.d/certagent.fish": "-rw-r--r--",
            "/usr/share/doc/certagent/copyright": "-rw-r--r--",
            "/usr/share/doc/certagent/changelog.Debian.gz": "-rw-r--r--",
            "/usr/share/doc/certagent/changelog.gz": "-rw-r--r--",
            "/usr/share/doc/certagent/examples/config.example.json": "-rw-r--r--",
            "/usr/share/man/man1/certagent.1.gz": "-rw-r--r--",
            "/usr/share/man/man1/certagent-renew.1.gz": "-rw-r--r--",
        ]
        for (path, mode) in expected {
            XCTAssertEqual(entries[path]?.mode, mode, "\(path) in the package")
        }
        XCTAssertEqual(entries.values.filter { $0.owner != "root/root" }.map(\.owner), [], "every file is root's")
        // Nothing under /etc (no conffile: `certagent init` writes the config) and nothing outside /usr.
        XCTAssertEqual(entries.keys.filter { !$0.hasPrefix("/usr/") && $0 != "/usr" && $0 != "/" }, [])
        // The config's JSON Schema (`certagent config schema`, which config.example.json names with `$schema`) ships.
        let schema = try runCommand(DebianPackage.releaseBinary, ["config", "schema"])
        XCTAssertEqual(schema.status, 0, schema.output.prefix(300).description)
        XCTAssertEqual(entries["/usr/share/certagent/config.schema.json"]?.mode, "-rw-r--r--")
    }

    func testManPagesAreOnePerCommandOfTheBinary() throws {
        let entries = try packageEntries(try DebianPackage.path())
        let pages = Set(entries.keys.filter { $0.hasPrefix("/usr/share/man/man1/") && $0.hasSuffix(".1.gz") }
            .map { String($0.dropFirst("/usr/share/man/man1/".count).dropLast(".1.gz".count)) })
        let commands = try commandPaths(DebianPackage.releaseBinary).map { $0.joined(separator: "-") }
        XCTAssertGreaterThan(commands.count, 10, "the binary has its subcommands: \(commands)")
        XCTAssertEqual(pages, Set(commands), "a page for every command and no other")
    }

    func testRenewManPageIsTheRenewCommandsHelp() throws {
        let scratch = try TemporaryDirectory()
        let unpacked = try scratch.make("unpacked")
        XCTAssertEqual(try runCommand("/usr/bin/dpkg-deb", ["-x", try DebianPackage.path(), unpacked]).status, 0)
        let page = try runCommand("/bin/sh", ["-c", "gzip -dc '\(unpacked)/usr/share/man/man1/certagent-renew.1.gz'"]).stdout
        let help = try runCommand(DebianPackage.releaseBinary, ["renew", "--help"]).stdout
        XCTAssertTrue(page.contains(".Dt CERTAGENT-RENEW 1"), String(page.prefix(400)))
        // Every long option `certagent renew --help` lists is in the page (mdoc writes `--force` as `Fl -force`).
        let options = Set(help.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "," }).filter { $0.hasPrefix("--") }
            .map { String($0.prefix { $0 != "=" && $0 != "<" && $0 != ")" }) })
        XCTAssertTrue(options.contains("--force"), "renew --help: \(help)")
        for option in options {
            XCTAssertTrue(page.contains("Fl -\(option.dropFirst(2))") || page.contains(option), "\(option) missing from certagent-renew.1")
        }
        // The references between pages use the installed names.
        XCTAssertFalse(page.contains(".Xr certagent.renew"), "a reference still names certagent.renew")
    }

    func testPackagedUnitIsTheRepositorysUnitRunFromUsrBin() throws {
        let scratch = try TemporaryDirectory()
        let unpacked = try scratch.make("unpacked")
        XCTAssertEqual(try runCommand("/usr/bin/dpkg-deb", ["-x", try DebianPackage.path(), unpacked]).status, 0)
        let packaged = try String(contentsOfFile: unpacked + "/usr/lib/systemd/system/certagent.service", encoding: .utf8)
        let repository = try String(contentsOfFile: ProjectPaths.root + "/systemd/certagent.service", encoding: .utf8)
        func body(_ unit: String) -> String { String(unit[unit.range(of: "[Unit]\n")!.lowerBound...]) }
        XCTAssertEqual(body(packaged), body(repository).replacing("ExecStart=/usr/local/bin/certagent ", with: "ExecStart=/usr/bin/certagent "))
        XCTAssertTrue(packaged.contains("\nExecStart=/usr/bin/certagent run --config \(Self.config)\n"))
        XCTAssertTrue(packaged.contains("\nConditionPathExists=\(Self.config)\n"), "no start before a config exists")
    }

    func testLintianFindsNoErrorOrWarning() throws {
        let result = try runCommand("/usr/bin/lintian", ["--fail-on", "error,warning", try DebianPackage.path()])
        XCTAssertEqual(result.status, 0, result.output)
        let tags = result.stdout.split(separator: "\n").filter { $0.hasPrefix("E:") || $0.hasPrefix("W:") }
        XCTAssertEqual(tags, [], result.output)
    }

    // MARK: Installed into a Debian root

    func testInstalledPackageRunsAndHasItsManPagesCompletionsStateDirectoryAndEnabledUnit() throws {
        let deb = try DebianPackage.path()
        let root = try DebianRootCopy()
        let install = try root.install(deb)
        XCTAssertEqual(install.status, 0, install.output)
        XCTAssertTrue(install.stdout.contains("starts once \(Self.config) exists"), install.output)

        let version = try root.run("certagent --version")
        XCTAssertEqual(version.status, 0, version.output)
        XCTAssertEqual(version.stdout, try runCommand(DebianPackage.releaseBinary, ["--version"]).stdout)
        for (page, file) in [("certagent", "certagent.1.gz"), ("certagent-renew", "certagent-renew.1.gz")] {
            let where_ = try root.run("man -w \(page)")
            XCTAssertEqual(where_.status, 0, where_.output)
            XCTAssertEqual(where_.stdout, "/usr/share/man/man1/\(file)\n")
        }
        let rendered = try root.run("man -P cat certagent-renew")
        XCTAssertEqual(rendered.status, 0, rendered.output)
        XCTAssertTrue(rendered.stdout.contains("--force"), rendered.stdout)
        for completion in ["/usr/share/bash-completion/completions/certagent", "/usr/share/zsh/vendor-completions/_certagent",
                           "/usr/share/fish/vendor_completions.d/certagent.fish"] {
            let text = try String(contentsOfFile: root.path + completion, encoding: .utf8)
            XCTAssertTrue(text.contains("renew"), "\(completion) completes the subcommands")
        }
        // The bash completion loads and registers itself for `certagent`.
        let completes = try root.run("bash -c '. /usr/share/bash-completion/completions/certagent; complete -p certagent'")
        XCTAssertEqual(completes.status, 0, completes.output)

        XCTAssertEqual(fileMode(root.path + Self.store), 0o700, "the state directory is root's alone")
        XCTAssertTrue(root.exists("/etc/systemd/system/multi-user.target.wants/certagent.service"), "enabled")
        // Not started (no systemd runs in a chroot, and there is no config): nothing of it exists yet.
        XCTAssertFalse(root.exists("/etc/certagent"))
    }

    func testRemoveKeepsTheStoreAndTheConfig() throws {
        let root = try DebianRootCopy()
        XCTAssertEqual(try root.install(try DebianPackage.path()).status, 0)
        try writeStoreAndConfig(in: root)

        let remove = try root.run("dpkg -r certagent")
        XCTAssertEqual(remove.status, 0, remove.output)
        XCTAssertFalse(root.exists("/usr/bin/certagent"))
        XCTAssertFalse(root.exists("/usr/lib/systemd/system/certagent.service"))
        XCTAssertEqual(try String(contentsOfFile: root.path + Self.store + "/account/account.json", encoding: .utf8), "{\"kept\":true}\n")
        XCTAssertEqual(fileMode(root.path + Self.store), 0o700)
        XCTAssertTrue(root.exists(Self.config))
        XCTAssertTrue(root.exists("/etc/certagent/master.key"))
        XCTAssertTrue(remove.stdout.contains("are kept"), remove.output)
    }

    func testPurgeSaysItDeletesTheStoreThenLeavesNothing() throws {
        let root = try DebianRootCopy()
        let before = try root.inventory()
        XCTAssertTrue(before.contains { $0.hasPrefix("usr/bin/dpkg ") }, "the inventory lists the root's files")
        XCTAssertEqual(try root.install(try DebianPackage.path()).status, 0)
        try writeStoreAndConfig(in: root)
        XCTAssertEqual(try root.run("dpkg -r certagent").status, 0)
        XCTAssertTrue(root.exists(Self.store + "/account/account.json"))

        let purge = try root.run("dpkg -P certagent")
        XCTAssertEqual(purge.status, 0, purge.output)
        let said = purge.stdout.range(of: "deleting \(Self.store) (the ACME account, private keys and certificates)")
        XCTAssertNotNil(said, purge.output)
        XCTAssertFalse(root.exists(Self.store))
        XCTAssertFalse(root.exists("/etc/certagent"))
        let after = try root.inventory()
        XCTAssertEqual(after.subtracting(before).sorted(), [], "left behind by the package")
        XCTAssertEqual(before.subtracting(after).sorted(), [], "removed though not the package's")
        let status = try root.run("dpkg-query -W -f '${Status}' certagent")
        // dpkg forgot the package: no record at all, or "not-installed" (a removal would leave "config-files").
        XCTAssertTrue(status.status != 0 || status.stdout.hasSuffix("not-installed"), status.output)
    }

    // MARK: Helpers

    /// What an admin's first `certagent init` leaves: a config, a master key, an account in the store.
    private func writeStoreAndConfig(in root: DebianRootCopy) throws {
        let result = try root.run("""
            set -e
            mkdir -p -m 0700 \(Self.store)/account /etc/certagent
            printf '{"kept":true}\\n' > \(Self.store)/account/account.json
            printf '{}\\n' > \(Self.config)
            head -c 32 /dev/urandom > /etc/certagent/master.key
            """)
        XCTAssertEqual(result.status, 0, result.output)
    }

    /// `dpkg-deb -f`: the control fields.
    private func controlFields(_ deb: String) throws -> [String: String] {
        let result = try runCommand("/usr/bin/dpkg-deb", ["-f", deb])
        XCTAssertEqual(result.status, 0, result.output)
        var fields: [String: String] = [:]
        for line in result.stdout.split(separator: "\n") where !line.hasPrefix(" ") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return fields
    }

    /// `dpkg-deb -c`: every path in the package with its mode string and owner (`/usr/bin/certagent` → `-rwxr-xr-x`, `root/root`).
    private func packageEntries(_ deb: String) throws -> [String: (mode: String, owner: String)] {
        let result = try runCommand("/usr/bin/dpkg-deb", ["-c", deb])
        XCTAssertEqual(result.status, 0, result.output)
        var entries: [String: (mode: String, owner: String)] = [:]
        for line in result.stdout.split(separator: "\n") {
            // drwxr-xr-x root/root         0 2026-12-01 21:00 ./usr/bin/
            let columns = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard columns.count == 6 else { continue }
            var path = String(columns[5].split(separator: " -> ").first ?? "")
            path = String(path.dropFirst())   // "./usr/bin/" → "/usr/bin/"
            if path.count > 1, path.hasSuffix("/") { path.removeLast() }
            entries[path] = (String(columns[0]), String(columns[1]))
        }
        XCTAssertFalse(entries.isEmpty, result.output)
        return entries
    }

    /// Every command of the binary as its path of names (["certagent"], ["certagent", "renew"], …), from
    /// `--experimental-dump-help`, the description generate-manual reads.
    private func commandPaths(_ binary: String) throws -> [[String]] {
        let result = try runCommand(binary, ["--experimental-dump-help"])
        XCTAssertEqual(result.status, 0, result.output)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        guard let command = object?["command"] as? [String: Any] else {
            XCTFail("no command in the dump: \(result.stdout.prefix(300))")
            return []
        }
        func walk(_ command: [String: Any], _ parents: [String]) -> [[String]] {
            let path = parents + [command["commandName"] as? String ?? "?"]
            let subcommands = command["subcommands"] as? [[String: Any]] ?? []
            return [path] + subcommands.flatMap { walk($0, path) }
        }
        return walk(command, [])
    }
}

/// `scripts/debian-root`: the cached root has what the package and systemd tests need, and a directory the script did
/// not build is never touched.
final class DebianRootScriptTests: XCTestCase {
    func testCachedRootIsCompleteAndHoldsThePackagesTheTestsNeed() throws {
        let root = try DebianRootCopy.cachedRoot()
        let marker = try String(contentsOfFile: root + "/.certagent-debian-root", encoding: .utf8)
        XCTAssertTrue(marker.hasPrefix("suite=bookworm variant=minbase include="), marker)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + ".partial"), "no half-built root lies beside it")
        // A second call answers at once with the same path (the marker says it is complete).
        let again = try runCommand(ProjectPaths.root + "/scripts/debian-root", [root])
        XCTAssertEqual(again.status, 0, again.output)
        XCTAssertEqual(again.stdout, root + "\n")
        let copy = try DebianRootCopy()
        let installed = try copy.run("dpkg-query -W -f '${Package} ${Status}\\n' systemd systemd-sysv dbus procps nginx-light man-db libssl3 libcurl4 ca-certificates")
        XCTAssertEqual(installed.status, 0, installed.output)
        let lines = installed.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 9, installed.stdout)
        XCTAssertTrue(lines.allSatisfy { $0.hasSuffix(" install ok installed") }, installed.stdout)
    }

    func testDirectoryItDidNotBuildIsRefusedAndLeftAsItWas() throws {
        let scratch = try TemporaryDirectory()
        let foreign = try scratch.make("foreign")
        let file = try scratch.write("foreign/keep", "mine\n")
        let result = try runCommand(ProjectPaths.root + "/scripts/debian-root", [foreign])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("\(foreign) exists and is not a root this script built"), result.stderr)
        XCTAssertEqual(result.stdout, "", "no path printed for a root that was not made")
        XCTAssertEqual(try String(contentsOfFile: file, encoding: .utf8), "mine\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: foreign), ["keep"])
    }
}
