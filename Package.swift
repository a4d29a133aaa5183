// swift-tools-version:6.0
import PackageDescription
import Foundation

// OpenBLAS comes from its static archive where the system has one (Debian's
// libopenblas-dev installs it): the shared library costs every process ~3 ms before `main`
// (mapping 37 MB and libgfortran, ~12,000 symbol relocations), measured on a cold
// `zoo generate` of ~60 ms. ZOO_SHARED_OPENBLAS=1, or no archive, links the shared library.
let openBLASArchive = ["/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.a",
                       "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.a"]
    .first { FileManager.default.fileExists(atPath: $0) }
let linkOpenBLAS: [LinkerSetting] = Context.environment["ZOO_SHARED_OPENBLAS"] == nil
    ? openBLASArchive.map { [.unsafeFlags(["-Xlinker", $0])] } ?? [.linkedLibrary("openblas")]
    : [.linkedLibrary("openblas")]

// The built-in architecture plugins: one folder under Zoo/ each. Adding an
// architecture = a folder, one name here, one line in Sources/ZooCatalog/Catalog.swift.
let plugins = ["DenseGAN", "DCGAN", "ConditionalGAN", "ConditionalDCGAN", "SimpleGAN", "DCGANVariant", "Classifier"]

let release: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

let package = Package(
    name: "Zoo",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "zoo", targets: ["zoo"]),
        .library(name: "ZooKit", targets: ["ZooKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CGIF", path: "Sources/CGIF", providers: [.apt(["libgif-dev"])]),

        .target(name: "CBLASCore", path: "Sources/CBLASCore", cSettings: [.unsafeFlags(["-O2"])]),
        .target(name: "CConvKernels", path: "Sources/CConvKernels", cSettings: [.unsafeFlags(["-O2"])]),
        .target(name: "CThreadPool", path: "Sources/CThreadPool", cSettings: [.unsafeFlags(["-O2"])]),
        .target(name: "ZooThreadPool", dependencies: ["CThreadPool"], swiftSettings: release),
        .target(name: "ZooEngine", dependencies: ["CBLAS", "CBLASCore", "CConvKernels", "ZooThreadPool", "CZlib"],
                swiftSettings: release, linkerSettings: linkOpenBLAS),
        .target(name: "CSHA256", path: "Sources/CSHA256", cSettings: [.unsafeFlags(["-O2"])]),
        .target(name: "CByteShuffle", path: "Sources/CByteShuffle", cSettings: [.unsafeFlags(["-O2"])]),
        // registry.sql (the repository root's, through a link) is compiled into the binary.
        .target(name: "ZooRegistry", dependencies: ["CSQLite", "CZlib", "CSHA256", "CByteShuffle", "ZooThreadPool"],
                resources: [.embedInCode("registry.sql")], swiftSettings: release),
        .target(name: "ZooKit", dependencies: ["ZooEngine", "ZooRegistry", "CPNG", "CGIF", "CBLAS"], swiftSettings: release),
    ] + plugins.map { name in
        .target(name: name, dependencies: ["ZooKit", "ZooEngine"], path: "Zoo/\(name)", swiftSettings: release)
    } + [
        .target(name: "ZooCatalog", dependencies: ["ZooKit"] + plugins.map { .target(name: $0) }),
        .executableTarget(name: "zoo", dependencies: [
            "ZooCatalog", "ZooKit", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ],
        // A position-dependent executable: with the Swift runtime linked in (tools/setup builds
        // with --static-swift-stdlib) a PIE has ~86,000 relative relocations, applied at every
        // start: ~240 page faults and ~1.1 ms of CPU time of `zoo --version`. The price is
        // no address randomisation of zoo's own code, acceptable for a local tool.
        linkerSettings: [.unsafeFlags(["-Xclang-linker", "-no-pie"])]),
        .executableTarget(name: "zoo-bench", dependencies: ["ZooCatalog", "ZooKit", "ZooEngine", "CBLAS"],
                          path: "tools/bench/Sources", swiftSettings: release),

        .testTarget(name: "ZooEngineTests", dependencies: ["ZooEngine"]),
        .testTarget(name: "ZooRegistryTests", dependencies: ["ZooRegistry"]),
        .testTarget(name: "ZooKitTests", dependencies: ["ZooKit", "ZooCatalog", "ZooEngine", "ZooRegistry", "CGIF"]),
        .testTarget(name: "ZooCLITests", dependencies: ["zoo"]),
    ],
    swiftLanguageModes: [.v5]
)
