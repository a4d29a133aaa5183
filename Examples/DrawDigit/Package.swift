// swift-tools-version:6.0
import PackageDescription

// An outside package that uses the zoo as a library: ZooKit and the built-in catalog, by path.
let package = Package(
    name: "DrawDigit",
    dependencies: [.package(name: "Zoo", path: "../..")],
    targets: [
        .executableTarget(
            name: "draw-digit",
            dependencies: [
                .product(name: "ZooKit", package: "Zoo"),
                .product(name: "ZooCatalog", package: "Zoo"),
            ])
    ],
    swiftLanguageModes: [.v5]
)
