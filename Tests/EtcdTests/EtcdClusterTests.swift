import Etcd
import Foundation
import TestSupport
import XCTest

/// A real 3-member etcd cluster with TLS everywhere and client certificates required: TLS set-up, failover while
/// members stop, and a watch that survives its member going away.
final class EtcdClusterTests: XCTestCase {
    private func configuration(_ cluster: EtcdCluster, endpoints: [String]? = nil, certificate: Bool = true,
                               foreign: Bool = false, requestTimeout: Double = 5) -> EtcdConfiguration {
        EtcdConfiguration(endpoints: endpoints ?? cluster.clientURLs, caFile: cluster.caFile,
                          clientCertificateFile: certificate ? (foreign ? cluster.foreignClientCertificate : cluster.clientCertificate) : nil,
                          clientKeyFile: certificate ? (foreign ? cluster.foreignClientKey : cluster.clientKey) : nil,
                          requestTimeout: requestTimeout)
    }

    func testTLSWithAClientCertificateAndRefusedWithout() throws {
        let cluster = try EtcdCluster(members: 3, tls: true)
        defer { cluster.shutdown() }
        let client = try EtcdClient(configuration: configuration(cluster))
        try client.put(key: bytes("/tls/k"), value: bytes("v"))
        // Every member serves the same data over TLS.
        for url in cluster.clientURLs {
            let direct = try EtcdClient(configuration: configuration(cluster, endpoints: [url]))
            XCTAssertEqual(try direct.range(.key("/tls/k")).kvs.first?.valueText, "v", url)
        }
        // etcdctl agrees (an independent client).
        XCTAssertEqual(try cluster.etcdctl(["get", "/tls/k", "--print-value-only"]).stdout, "v\n")

        // Without a client certificate, or with one from another CA, every member refuses: the error names each one.
        for foreign in [false, true] {
            let refused = try EtcdClient(configuration: configuration(cluster, certificate: foreign, foreign: foreign))
            XCTAssertThrowsError(try refused.range(.key("/tls/k"))) { error in
                guard case .unreachable(let failures)? = error as? EtcdError else { return XCTFail("\(error)") }
                XCTAssertEqual(failures.map(\.endpoint), cluster.clientURLs)
                for failure in failures {
                    XCTAssertTrue([.tlsHandshakeFailed, .connectionLost].contains(failure.reason), "\(failure)")
                }
                XCTAssertFalse("\(error)".contains("curl"), "no libcurl words: \(error)")
            }
        }
        // Without the CA the members' certificates are not trusted.
        let untrusting = try EtcdClient(configuration: EtcdConfiguration(
            endpoints: [cluster.clientURLs[0]], clientCertificateFile: cluster.clientCertificate, clientKeyFile: cluster.clientKey))
        XCTAssertThrowsError(try untrusting.range(.key("/tls/k"))) { error in
            XCTAssertEqual(error as? EtcdError, .unreachable([EtcdEndpointFailure(endpoint: cluster.clientURLs[0], reason: .certificateRejected)]))
        }
    }

    func testFailoverAndWatchResumeWhileMembersStop() throws {
        let cluster = try EtcdCluster(members: 3, tls: true)
        defer { cluster.shutdown() }
        // The writer prefers member 3, the watcher member 1 (the one to be stopped).
        let writer = try EtcdClient(configuration: configuration(cluster, endpoints: cluster.clientURLs.reversed(), requestTimeout: 2))
        let watcher = try EtcdClient(configuration: configuration(cluster, requestTimeout: 2))
        let start = try writer.put(key: bytes("/fleet/start"), value: bytes("0")).header.revision
        let recorder = WatchRecorder()
        let watch = watcher.watch(.prefix("/fleet/"), fromRevision: start + 1, handler: recorder.handler)
        defer { watch.cancel() }
        XCTAssertTrue(recorder.wait(timeout: 10) { $0.contains(.connected(endpoint: cluster.clientURLs[0], nextRevision: start + 1)) },
                      "\(recorder.all)")

        var expected: [String] = []
        for i in 0..<5 {
            try writer.put(key: bytes("/fleet/k\(i)"), value: bytes("\(i)"))
            expected.append("PUT /fleet/k\(i)=\(i)")
        }
        XCTAssertTrue(recorder.waitForEvents(5), "\(recorder.all)")

        // Member 1 stops: writes go on (quorum of 2), the watch reconnects to another member and resumes.
        cluster.stop(0)
        for i in 5..<10 {
            try writer.put(key: bytes("/fleet/k\(i)"), value: bytes("\(i)"))
            expected.append("PUT /fleet/k\(i)=\(i)")
        }
        try writer.deleteRange(.key("/fleet/k0"))
        expected.append("DELETE /fleet/k0=")
        XCTAssertTrue(recorder.waitForEvents(11, timeout: 20), "\(recorder.all)")
        usleep(300_000)
        XCTAssertEqual(summary(recorder.events), expected, "every change once, in order, across the reconnect")
        XCTAssertTrue(recorder.all.contains { if case .disconnected = $0 { return true } else { return false } }, "\(recorder.all)")
        XCTAssertGreaterThanOrEqual(recorder.connectedCount, 2)
        guard case .connected(let resumedOn, _)? = recorder.all.last(where: { if case .connected = $0 { return true } else { return false } }) else {
            return XCTFail("\(recorder.all)")
        }
        XCTAssertNotEqual(resumedOn, cluster.clientURLs[0])
        // The watcher's own requests skip the stopped member and remember the one that answers.
        XCTAssertEqual(try watcher.range(.prefix("/fleet/")).count, 10)
        XCTAssertNotEqual(watcher.currentEndpoint, cluster.clientURLs[0])

        // Member 2 stops too: no quorum. Requests fail in bounded time, naming every member.
        cluster.stop(1)
        let started = Date()
        XCTAssertThrowsError(try writer.put(key: bytes("/fleet/lost"), value: bytes("x"))) { error in
            guard case .unreachable(let failures)? = error as? EtcdError else { return XCTFail("\(error)") }
            XCTAssertEqual(Set(failures.map(\.endpoint)), Set(cluster.clientURLs))
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 20, "bounded by the request timeouts")
        // The watch says so too: the member left alone has no leader and refuses to keep (or start) a watch.
        func lastIsDisconnected(_ notices: [EtcdWatchNotice]) -> Bool {
            if case .disconnected? = notices.last { return true }
            return false
        }
        XCTAssertTrue(recorder.wait(timeout: 15, lastIsDisconnected), "\(recorder.all.suffix(3))")
        usleep(2_000_000)
        XCTAssertTrue(lastIsDisconnected(recorder.all), "no watch without quorum: \(recorder.all.suffix(3))")

        // Both come back: requests and the watch go on, nothing lost or repeated.
        try cluster.start(0)
        try cluster.start(1)
        try cluster.waitUntilHealthy(0..<3)
        XCTAssertTrue(eventually(timeout: 20) { (try? writer.put(key: bytes("/fleet/back"), value: bytes("1"))) != nil })
        expected.append("PUT /fleet/back=1")
        XCTAssertTrue(recorder.waitForEvents(12, timeout: 20), "\(recorder.all)")
        usleep(300_000)
        // A put that failed for lack of quorum may or may not have been applied later: leave it out of the comparison.
        XCTAssertEqual(summary(recorder.events).filter { !$0.hasPrefix("PUT /fleet/lost") }, expected)
        let revisions = recorder.events.map(\.kv.modRevision)
        XCTAssertEqual(revisions, Array(Set(revisions)).sorted(), "strictly increasing: no duplicates")
    }
}
