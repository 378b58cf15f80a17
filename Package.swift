// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "CertAgent",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "certagent", targets: ["certagent"]),
        .library(name: "ACME", targets: ["ACME"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // System libraries: Debian's libssl-dev (OpenSSL 3) and libcurl4-openssl-dev.
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),

        // glibc's _GNU_SOURCE functions, the variadic prctl and C's stdout, behind plain C functions (no dlsym).
        .target(name: "CGlibcShim"),

        // base64url and hex, the one copy of each: pure Swift, imported by ACME (which has no C) and CertCrypto alike.
        .target(name: "ByteEncoding"),
        // The only importer of COpenSSL.
        .target(name: "CertCrypto", dependencies: ["COpenSSL", "ByteEncoding"]),
        // The only importer of CCurl.
        .target(name: "CurlHTTP", dependencies: ["CCurl"]),
        // etcd v3 client over the members' JSON gateway (through CurlHTTP): key-value, transactions, leases, watch.
        .target(name: "Etcd", dependencies: ["CurlHTTP", "ByteEncoding"]),
        // RFC 8555 client: no C, no storage.
        .target(name: "ACME", dependencies: ["ByteEncoding"]),
        // The agent: config, store, solver, policy, scheduler.
        .target(name: "CertAgent", dependencies: [
            "ACME", "ByteEncoding", "CertCrypto", "CurlHTTP", "CGlibcShim", "Etcd",
            .product(name: "Logging", package: "swift-log"),
            // The Prometheus text exposition of `certagent metrics` and the metrics file.
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .executableTarget(name: "certagent", dependencies: [
            "CertAgent",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ], linkerSettings: [
            // Release: the Swift runtime, Dispatch and FoundationEssentials linked in, so the binary needs only the
            // system's libssl, libcrypto, libcurl and glibc (as `swift build --static-swift-stdlib` does; the flag is
            // on the executable alone, so the ACME library product stays usable as a dependency).
            .unsafeFlags(["-static-stdlib", "-l_FoundationCShims", "-l_FoundationCollections"], .when(configuration: .release)),
        ]),

        // Helpers shared by the test targets: child processes without Foundation's Process, temporary directories.
        .target(name: "TestSupport", dependencies: ["CertAgent", "ByteEncoding"], path: "Tests/TestSupport"),
        .testTarget(name: "CertCryptoTests", dependencies: ["CertCrypto", "ByteEncoding", "TestSupport"]),
        .testTarget(name: "CurlHTTPTests", dependencies: ["CurlHTTP", "TestSupport"]),
        .testTarget(name: "EtcdTests", dependencies: ["Etcd", "ByteEncoding", "TestSupport"]),
        .testTarget(name: "ACMETests", dependencies: ["ACME", "ByteEncoding"]),
        .testTarget(name: "CertAgentTests", dependencies: ["CertAgent", "ACME", "ByteEncoding", "CertCrypto", "CurlHTTP", "TestSupport"]),
        .testTarget(name: "IntegrationTests", dependencies: ["CertAgent", "CertCrypto", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
