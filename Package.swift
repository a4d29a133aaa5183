import Foundation
// swift-tools-version:6.0
import PackageDescription

// OpenBLAS comes from its static archive where the system has one (Debian's libopenblas-dev
// installs it in the linker's default path): the shared library costs every process ~3 ms
// before `main` (mapping 37 MB and libgfortran, ~12,000 symbol relocations), measured on a
// cold `zoo generate` of ~60 ms. `-l:libopenblas.a` names the archive without an unsafe flag.
// ZOO_SHARED_OPENBLAS=1, or no archive, links the shared library.
let openBLASArchive = ["/usr/lib/x86_64-linux-gnu/libopenblas.a", "/usr/lib/aarch64-linux-gnu/libopenblas.a"]
    .contains { FileManager.default.fileExists(atPath: $0) }
let linkOpenBLAS: [LinkerSetting] =
    Context.environment["ZOO_SHARED_OPENBLAS"] == nil && openBLASArchive
    ? [.linkedLibrary(":libopenblas.a"), .linkedLibrary("pthread"), .linkedLibrary("m")]
    : [.linkedLibrary("openblas")]

// The engine's numeric code (layers, kernels' Swift side, the thread pool; no file input)
// is built with -Ounchecked when the build command asks: ZOO_FAST_ENGINE=1 (tools/setup,
// tools/test, tools/bench/run). Measured on the 2-core EPYC (AVX-512), medians of 3
// alternating runs of `zoo-bench step` at batch 256 beside other load: cgan 15.6 vs 18.6 ms,
// dense GAN 72.6 vs 82.3 ms, DCGAN within noise. Everything that reads files or user input
// (ZooData, ZooRegistry, ZooKit, the CLI) keeps Swift's bounds and overflow checks, and a
// package that depends on this one (ZooKit as a library) sees no unsafe flag at all.
let fastEngine: [SwiftSetting] =
    Context.environment["ZOO_FAST_ENGINE"] == nil
    ? []
    : [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

// libFuzzer targets (tools/fuzz): only when tools/fuzz builds them (ZOO_FUZZ=1), with
// -sanitize=fuzzer,address and -enable-testing on its own command line.
let fuzzTargets: [Target] =
    Context.environment["ZOO_FUZZ"] == nil
    ? []
    : [
        ("fuzz-idx", ["ZooData"] as [Target.Dependency]), ("fuzz-codec", ["ZooRegistry"]),
        ("fuzz-import", ["ZooRegistry", "ZooKit", "ZooCatalog"]),
    ].map { name, dependencies in
        .executableTarget(name: name, dependencies: dependencies, path: "tools/fuzz/Sources/\(name)")
    }

// The built-in architecture plugins: one folder under Zoo/ each. Adding an
// architecture = a folder, one name here, one line in Sources/ZooCatalog/Catalog.swift.
let plugins = [
    "DenseGAN", "DCGAN", "ConditionalGAN", "ConditionalDCGAN", "SimpleGAN", "DCGANVariant", "Classifier",
    "WGANGP", "SNGAN", "LSGAN", "ACGAN", "ProjectionCGAN",
]

let package = Package(
    name: "Zoo",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "zoo", targets: ["zoo"]),
        // The zoo as a library (Examples/DrawDigit uses both): the plugin API, registry and engine,
        // and the built-in plugins' catalog.
        .library(name: "ZooKit", targets: ["ZooKit", "ZooRegistry", "ZooEngine", "ZooData"]),
        .library(name: "ZooCatalog", targets: ["ZooCatalog"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        // Hummingbird's logger type, named by ZooServer's access log.
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // The team backend: a registry in a PostgreSQL database (ZooPostgres).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // postgres-nio's event loops (ZooPostgres waits on them from the synchronous registry API).
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CGIF", path: "Sources/CGIF", providers: [.apt(["libgif-dev"])]),

        .target(name: "CBLASCore", path: "Sources/CBLASCore"),
        .target(name: "CConvKernels", path: "Sources/CConvKernels"),
        .target(name: "CThreadPool", path: "Sources/CThreadPool"),
        .target(name: "ZooThreadPool", dependencies: ["CThreadPool"], swiftSettings: fastEngine),
        .target(
            name: "ZooEngine", dependencies: ["CBLAS", "CBLASCore", "CConvKernels", "ZooThreadPool"],
            swiftSettings: fastEngine, linkerSettings: linkOpenBLAS),
        // Reads dataset files (IDX, gzip): untrusted input, so always built with Swift's checks.
        .target(name: "ZooData", dependencies: ["ZooEngine", "CZlib"]),
        .target(name: "CSHA256", path: "Sources/CSHA256"),
        .target(name: "CByteShuffle", path: "Sources/CByteShuffle"),
        // registry.sql (the repository root's, through a link) is compiled into the binary.
        .target(
            name: "ZooRegistry", dependencies: ["CSQLite", "CZlib", "CSHA256", "CByteShuffle", "ZooThreadPool"],
            resources: [.embedInCode("registry.sql")]),
        .target(name: "ZooKit", dependencies: ["ZooEngine", "ZooData", "ZooRegistry", "CPNG", "CGIF", "CBLAS"]),
        // The team backend: the same registry in a PostgreSQL database (registry-postgres.sql).
        .target(
            name: "ZooPostgres",
            dependencies: [
                "ZooRegistry", .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.embedInCode("registry-postgres.sql")]),
    ]
        + plugins.map { name in
            .target(name: name, dependencies: ["ZooKit", "ZooEngine"], path: "Zoo/\(name)")
        } + [
            .target(name: "ZooCatalog", dependencies: ["ZooKit"] + plugins.map { .target(name: $0) }),
            .executableTarget(
                name: "zoo",
                dependencies: [
                    "ZooCatalog", "ZooKit", "ZooData", "ZooONNX", "ZooServer", "ZooPostgres",
                    .product(name: "ArgumentParser", package: "swift-argument-parser"),
                ]),
            // `zoo serve`: the zoo as a read-only web gallery and JSON API (Hummingbird 2).
            .target(
                name: "ZooServer",
                dependencies: [
                    "ZooKit", "ZooData", "ZooEngine", "ZooRegistry", "ZooPostgres",
                    .product(name: "Hummingbird", package: "hummingbird"),
                    .product(name: "Logging", package: "swift-log"),
                ]),
            // The ONNX exporter: the generator as an ONNX graph, from onnx.proto's generated
            // messages (Generated/, tools/onnx/regenerate); its README there is not a source.
            .target(
                name: "ZooONNX",
                dependencies: [
                    "ZooEngine", "ZooKit", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                ],
                exclude: ["Generated/README.md"]),
            .executableTarget(
                name: "zoo-bench", dependencies: ["ZooCatalog", "ZooKit", "ZooEngine", "ZooPostgres", "CBLAS"],
                path: "tools/bench/Sources"),

        ] + fuzzTargets + [
            .testTarget(name: "ZooEngineTests", dependencies: ["ZooEngine", "ZooData"]),
            .testTarget(name: "ZooRegistryTests", dependencies: ["ZooRegistry", "ZooPostgres"]),
            .testTarget(
                name: "ZooKitTests",
                dependencies: ["ZooKit", "ZooCatalog", "ZooEngine", "ZooData", "ZooRegistry", "CGIF"]),
            .testTarget(name: "ZooCLITests", dependencies: ["zoo", "ZooPostgres"]),
            .testTarget(
                name: "ZooServerTests",
                dependencies: [
                    "ZooServer", "zoo", "ZooKit", "ZooCatalog", "ZooEngine", "ZooRegistry",
                    .product(name: "HummingbirdTesting", package: "hummingbird"),
                ]),
            .testTarget(
                name: "ZooONNXTests",
                dependencies: [
                    "ZooONNX", "ZooCatalog", "ZooKit", "ZooEngine",
                    .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                ]),
        ],
    swiftLanguageModes: [.v5]
)
