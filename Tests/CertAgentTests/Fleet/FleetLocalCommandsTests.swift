import CertAgent
import XCTest

/// What the local-only commands say on a fleet node (the commands themselves: `FleetLocalCommandTests`).
final class FleetLocalCommandsTests: XCTestCase {
    let cluster = ClusterConfig(node: "web2", endpoints: ["https://127.0.0.1:2379"])

    func testRevokeAndDeleteWarnThatTheOtherNodesKeepServing() {
        let revoke = FleetLocalCommands.revokeWarning("shop", cluster: cluster)
        XCTAssertTrue(revoke.hasPrefix("warning: this server is node web2 of a fleet"), revoke)
        XCTAssertTrue(revoke.contains("the other nodes keep serving the revoked certificate of shop until the fleet has a new one"), revoke)
        XCTAssertTrue(revoke.contains("certagent renew shop"), revoke)
        let delete = FleetLocalCommands.deleteWarning("shop", cluster: cluster, revoking: true)
        XCTAssertTrue(delete.contains("the other nodes keep serving the revoked certificate of shop"), delete)
        XCTAssertTrue(delete.contains("until it is deleted on every node"), delete)
        XCTAssertFalse(FleetLocalCommands.deleteWarning("shop", cluster: cluster, revoking: false).contains("revoked"))
    }

    func testRefusalsSayWhatToDoInstead() {
        let rotate = FleetLocalCommands.rotateMasterKeyRefusal(cluster: cluster, configPath: "/etc/certagent/config.json")
        XCTAssertTrue(rotate.contains("cluster in /etc/certagent/config.json"), rotate)
        XCTAssertTrue(rotate.contains("`certagent cluster push`"), rotate)
        let rollback = FleetLocalCommands.rollbackRefusal("shop", cluster: cluster, configPath: "/etc/certagent/config.json")
        XCTAssertTrue(rollback.contains("would install it again at its next pass"), rollback)
        XCTAssertTrue(rollback.contains("`certagent renew --force shop`"), rollback)
    }
}
