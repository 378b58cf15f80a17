import Etcd
import Foundation
import TestSupport
import XCTest

/// User and password authentication against a real etcd with auth enabled (tokens living 1 s without use).
final class EtcdAuthenticationTests: XCTestCase {
    func testUserAndPasswordAndTokenRenewal() throws {
        let cluster = try EtcdCluster(members: 1, tls: false, extraArguments: ["--auth-token-ttl", "1", "--bcrypt-cost", "4"])
        defer { cluster.shutdown() }
        for command in [["user", "add", "root:rootpw"], ["role", "add", "fleet"],
                        ["role", "grant-permission", "fleet", "--prefix=true", "readwrite", "/fleet/"],
                        ["user", "add", "node:nodepw"], ["user", "grant-role", "node", "fleet"], ["auth", "enable"]] {
            let result = try cluster.etcdctl(command)
            XCTAssertEqual(result.status, 0, "\(command): \(result.output)")
        }
        let url = cluster.clientURLs[0]
        let client = try EtcdClient(configuration: EtcdConfiguration(endpoints: [url], username: "node", password: "nodepw"))
        try client.put(key: bytes("/fleet/a"), value: bytes("1"))
        XCTAssertEqual(try client.range(.key("/fleet/a")).kvs.first?.valueText, "1")

        // The role allows /fleet/ only.
        XCTAssertThrowsError(try client.put(key: bytes("/other"), value: bytes("x"))) { error in
            guard case .rejected(let endpoint, let code, let message)? = error as? EtcdError else { return XCTFail("\(error)") }
            XCTAssertEqual(endpoint, url)
            XCTAssertEqual(code, 7)
            XCTAssertTrue(message.contains("permission denied"), message)
        }

        // The token expires after 1 s unused; the client authenticates again by itself.
        usleep(3_000_000)
        XCTAssertEqual(try client.range(.key("/fleet/a")).kvs.first?.valueText, "1")

        // A watch with the token.
        let recorder = WatchRecorder()
        let watch = client.watch(.prefix("/fleet/"), handler: recorder.handler)
        defer { watch.cancel() }
        XCTAssertTrue(recorder.wait(timeout: 10) { !$0.isEmpty })
        try client.put(key: bytes("/fleet/b"), value: bytes("2"))
        XCTAssertTrue(recorder.waitForEvents(1), "\(recorder.all)")
        XCTAssertEqual(summary(recorder.events), ["PUT /fleet/b=2"])

        // A wrong password, and no user at all, are refused with etcd's words.
        let wrong = try EtcdClient(configuration: EtcdConfiguration(endpoints: [url], username: "node", password: "wrong"))
        XCTAssertThrowsError(try wrong.range(.key("/fleet/a"))) { error in
            guard case .authenticationFailed(let endpoint, let message)? = error as? EtcdError else { return XCTFail("\(error)") }
            XCTAssertEqual(endpoint, url)
            XCTAssertTrue(message.contains("authentication failed"), message)
        }
        let anonymous = try EtcdClient(configuration: EtcdConfiguration(endpoints: [url]))
        XCTAssertThrowsError(try anonymous.range(.key("/fleet/a"))) { error in
            guard case .rejected(_, _, let message)? = error as? EtcdError else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("user name is empty"), message)
        }
    }
}
