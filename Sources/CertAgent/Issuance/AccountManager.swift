import ACME
import CertCrypto
import Foundation
import Logging

/// What CertAgent remembers about its ACME account at one CA.
public struct AccountRecord: Codable, Sendable, Equatable {
    public var url: String
    public var directoryURL: String
    public var contact: [String]
    public var createdAt: Date
}

/// Errors in setting up the ACME account.
public enum AccountError: Error, Sendable, CustomStringConvertible {
    case termsNotAccepted(termsURL: String, configFile: String)

    public var description: String {
        switch self {
        case .termsNotAccepted(let terms, let file):
            "the CA asks you to agree to its terms of service (\(UntrustedText.display(terms, limit: 300))): read them, then set \"acceptTermsOfService\": true in \(file)"
        }
    }
}

/// Loads or creates the account key and registers (or finds) the account at the CA (RFC 8555 §7.3).
public struct AccountManager: Sendable {
    /// The account key's file name in each CA's account directory.
    public static let keyFileName = "account-key.pem"

    public let store: CertificateStore
    public let config: AgentConfig
    public let secrets: AgentSecrets
    public let keyFile: String
    private let recordFile: String

    public init(store: CertificateStore, config: AgentConfig, secrets: AgentSecrets) {
        self.store = store
        self.config = config
        self.secrets = secrets
        let directory = store.accountDirectory(for: config.directoryURL)
        keyFile = directory + "/" + Self.keyFileName
        recordFile = directory + "/account.json"
    }

    /// The account key, created (EC P-256) on first use and stored as PKCS#8 encrypted under the master key.
    public func accountKey(logger: Logger) throws -> PrivateKey {
        if FileManager.default.fileExists(atPath: keyFile) {
            return try AccountKeyFile.read(keyFile, masterKey: secrets.masterKey)
        }
        logger.info("creating a new ACME account key", metadata: ["file": "\(keyFile)"])
        let key = try PrivateKey.generate(.ec256)
        try AtomicFile.makeDirectory((keyFile as NSString).deletingLastPathComponent)
        try AccountKeyFile.write(key, to: keyFile, masterKey: secrets.masterKey)
        return key
    }

    /// The external account binding signer, when the config asks for one (RFC 8555 §7.3.4).
    func externalAccountBinding() throws -> ExternalAccountBindingSigner? {
        guard let binding = config.externalAccountBinding else { return nil }
        var value = try secrets.secrets.value(named: binding.hmacKeySecret)
        defer { SecureMemory.cleanse(&value) }
        return try ExternalAccountBindingSigner(keyID: binding.keyID, encodedKey: String(decoding: value, as: UTF8.self))
    }

    /// An ACME client signed with the account key and bound to the account, registering it when the CA does not know it.
    /// `key` is the account key when the caller already loaded it (`accountKey(logger:)`).
    public func connect(transport: any HTTPTransport, clock: any ACMEClock = SystemACMEClock(), key: PrivateKey? = nil,
                        logger: Logger) throws -> ACMEClient {
        let key = try key ?? accountKey(logger: logger)
        let client = ACMEClient(directoryURL: config.directoryURL, transport: transport, signer: try AccountKeySigner(key: key), clock: clock)
        let contact = config.emails.map { "mailto:" + $0 }
        if let existing = try client.lookUpAccount() {
            logger.debug("using the existing ACME account", metadata: ["account": "\(existing.url)"])
            try saveRecord(url: existing.url, contact: contact)
            return client
        }
        if let terms = try client.directory().meta?.termsOfService, !config.acceptTermsOfService {
            throw AccountError.termsNotAccepted(termsURL: terms, configFile: config.sourcePath)
        }
        let account = try client.newAccount(contact: contact, termsOfServiceAgreed: config.acceptTermsOfService,
                                            externalAccountBinding: try externalAccountBinding())
        logger.info("registered a new ACME account", metadata: ["account": "\(account.url)"])
        try saveRecord(url: account.url, contact: contact)
        return client
    }

    private func saveRecord(url: String, contact: [String]) throws {
        // Never read through a link: a link in place of the record is refused here and replaced by the write below.
        let stored = try? StoreFileReader.read(recordFile, root: store.root)
        let previous = stored.flatMap { $0 }.flatMap { try? Self.decoder.decode(AccountRecord.self, from: Data($0)) }
        let record = AccountRecord(url: url, directoryURL: config.directoryURL, contact: contact, createdAt: previous?.createdAt ?? Date())
        guard record != previous else { return }
        try AtomicFile.write(Array(try Self.encoder.encode(record)), to: recordFile)
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}
