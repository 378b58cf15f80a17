import FoundationEssentials

/// A node's presence (`nodes/<node>`, bound to its lease).
public struct FleetNodeRecord: Codable, Sendable, Equatable {
    public var node: String
    public var started: Date
    /// The CertAgent version it runs.
    public var version: String
}

/// Who holds a certificate's ordering lock (`locks/<cert>`, bound to the holder's lease).
public struct FleetLockRecord: Codable, Sendable, Equatable {
    public var node: String
    public var since: Date
}

/// An HTTP-01 challenge the ordering node publishes for every node to serve (`challenges/<cert>/<token>`): the key
/// authorization is what the CA fetches from every server anyway, so it is not sealed.
public struct FleetChallenge: Codable, Sendable, Equatable {
    public var domain: String
    public var token: String
    public var keyAuthorization: String
    /// The ordering node (it serves the file itself).
    public var node: String
}

/// A node's answer to a challenge (`acks/<cert>/<token>/<node>`, bound to its lease): the file is in its webroot, or
/// `error` says why not.
public struct FleetAck: Codable, Sendable, Equatable {
    public var node: String
    public var at: Date
    public var error: String?
    /// The file the node wrote (absent in an error, or from an earlier version).
    public var file: String?

    public init(node: String, at: Date, error: String?, file: String? = nil) {
        self.node = node
        self.at = at
        self.error = error
        self.file = file
    }
}

/// A certificate version as the fleet shares it (`certificates/<cert>/<version>`, sealed).
public struct FleetCertificateVersion: Codable, Sendable, Equatable {
    public var version: String
    public var privateKeyPEM: String
    public var csrPEM: String
    public var certificatePEM: String
    public var chainPEM: String
    public var facts: IssuanceFacts?
    /// The node that ordered it, and when.
    public var node: String
    public var issued: Date

    var material: CertificateMaterial {
        CertificateMaterial(privateKeyPEM: privateKeyPEM, csrPEM: csrPEM, certificatePEM: certificatePEM, chainPEM: chainPEM, facts: facts)
    }
}

/// The version every node deploys (`current/<cert>`).
public struct FleetCurrentPointer: Codable, Sendable, Equatable {
    public var version: String
    public var node: String
    public var at: Date
    /// The leaf's serial number (hex): a node whose own leaf has it is up to date without reading the sealed version.
    public var serial: String?
}

/// What a node has deployed of a certificate (`deployed/<cert>/<node>`), for `status`.
public struct FleetDeployment: Codable, Sendable, Equatable {
    public var version: String
    public var at: Date
    /// The node could not verify, store or install the version: why.
    public var error: String?
}

enum FleetJSON {
    static func encode(_ value: some Encodable) throws -> [UInt8] { try StoreJSON.encode(value, compact: true) }
    static func decode<T: Decodable>(_ type: T.Type, _ entry: FleetEntry) -> T? { try? StoreJSON.decode(type, from: entry.value) }
}
