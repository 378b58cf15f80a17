@testable import CertAgent
import Foundation
import TestSupport
import XCTest

/// The rules for believing the daemon's PID file before a command signals it (`DaemonPIDFile.judge`), and the file's
/// life: written by the daemon, removed only by it.
final class DaemonPIDFileTests: XCTestCase {
    private let record = DaemonPIDRecord(pid: 4242, startTime: 987_654)
    private let daemon = ProcessFacts(uid: 1000, startTime: 987_654, executableName: "certagent",
                                      arguments: ["/usr/bin/certagent", "run", "--config", "/etc/certagent/config.json"])

    private func judge(_ record: DaemonPIDRecord?, _ process: ProcessFacts?, owner: uid_t = 1000, own: Int32 = 77) -> DaemonLiveness {
        DaemonPIDFile.judge(record: record, fileOwner: owner, process: process, ownPID: own)
    }

    func testTheRecordParsesStrictly() {
        XCTAssertEqual(DaemonPIDRecord.parse("4242 987654\n"), record)
        XCTAssertEqual(DaemonPIDRecord.parse(record.text), record)
        for bad in ["", "4242", "4242 987654 1", " 4242 987654", "4242  987654", "-4242 987654", "0 5", "4242 98x", "4242 987654\n\n",
                    "99999999999999999999999 1"] {
            XCTAssertNil(DaemonPIDRecord.parse(bad), bad)
        }
    }

    func testARunningCertagentDaemonOfTheFilesOwnerIsBelieved() {
        XCTAssertEqual(judge(record, daemon), .running(pid: 4242))
        // After a package upgrade the executable shows as deleted; without access to /proc/<pid>/exe, argv[0] names it.
        var upgraded = daemon
        upgraded.executableName = nil
        XCTAssertEqual(judge(record, upgraded), .running(pid: 4242))
        var renamed = daemon
        renamed.executableName = "certagent-test"
        XCTAssertEqual(DaemonPIDFile.judge(record: record, fileOwner: 1000, process: renamed, ownPID: 77, ownExecutableName: "certagent-test"),
                       .running(pid: 4242))
    }

    func testEverythingElseIsNotSignalled() {
        XCTAssertEqual(judge(nil, daemon), .notRunning(stale: "its PID file is not one certagent wrote"))
        XCTAssertEqual(judge(record, nil), .notRunning(stale: "pid 4242 in its PID file has ended"))
        XCTAssertEqual(judge(record, daemon, own: 4242), .notRunning(stale: "its PID file names pid 4242, not a daemon"))
        XCTAssertEqual(judge(DaemonPIDRecord(pid: 1, startTime: 5), daemon), .notRunning(stale: "its PID file names pid 1, not a daemon"))
        XCTAssertEqual(judge(record, daemon, owner: 0),
                       .notRunning(stale: "pid 4242 in its PID file belongs to another user (uid 1000, not 0)"))
        var reused = daemon
        reused.startTime = 987_999
        XCTAssertEqual(judge(record, reused), .notRunning(stale: "pid 4242 in its PID file is another process now (it started later)"))
        let sleeper = ProcessFacts(uid: 1000, startTime: 987_654, executableName: "sleep", arguments: ["sleep", "600"])
        XCTAssertEqual(judge(record, sleeper), .notRunning(stale: "pid 4242 in its PID file is not certagent (sleep)"))
        let disguised = ProcessFacts(uid: 1000, startTime: 987_654, executableName: "python3", arguments: ["certagent", "run"])
        XCTAssertEqual(judge(record, disguised), .notRunning(stale: "pid 4242 in its PID file is not certagent (python3)"))
        var command = daemon
        command.arguments = ["/usr/bin/certagent", "renew", "--force"]
        XCTAssertEqual(judge(record, command), .notRunning(stale: "pid 4242 in its PID file is a certagent command, not the daemon"))
    }

    func testTheFileIsWrittenForThisProcessAndRemovedOnlyByIt() throws {
        let temp = try TemporaryDirectory()
        let root = try temp.make("store")
        try DaemonPIDFile.write(storeRoot: root)
        let file = DaemonPIDFile.path(storeRoot: root)
        let (written, owner, exists) = DaemonPIDFile.read(file)
        XCTAssertTrue(exists)
        XCTAssertEqual(owner, geteuid())
        XCTAssertEqual(written?.pid, getpid())
        XCTAssertEqual(written?.startTime, DaemonPIDFile.processFacts(getpid())?.startTime)
        var info = stat()
        XCTAssertEqual(lstat(file, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)
        // A command never signals itself: this process wrote the file, and it is not believed.
        XCTAssertEqual(DaemonPIDFile.liveness(storeRoot: root), .notRunning(stale: "its PID file names pid \(getpid()), not a daemon"))
        DaemonPIDFile.remove(storeRoot: root)
        XCTAssertEqual(DaemonPIDFile.liveness(storeRoot: root), .notRunning(stale: nil))

        // Another daemon's file is left alone.
        try "1234 5\n".write(toFile: file, atomically: true, encoding: .utf8)
        DaemonPIDFile.remove(storeRoot: root)
        XCTAssertTrue(FileManager.default.fileExists(atPath: file))
        // A link in its place is not read.
        XCTAssertEqual(unlink(file), 0)
        XCTAssertEqual(symlink(temp.path("elsewhere"), file), 0)
        XCTAssertEqual(DaemonPIDFile.liveness(storeRoot: root), .notRunning(stale: "its PID file is not one certagent wrote"))
        XCTAssertEqual(StoreLayout.entry(DaemonPIDFile.fileName, in: .root), .file, "part of the store's layout")
    }
}
