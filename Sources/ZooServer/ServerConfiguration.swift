import Foundation
import ZooKit
import ZooPostgres
import ZooRegistry

/// Where `zoo serve` listens, which registry it reads, and its limits.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var registryPath: String
    /// The catalog the CLI opens stores with (the built-in plugins).
    public var catalog: Catalog
    /// Bytes of loaded generators kept between requests.
    public var cacheBudget = 256 << 20
    /// Draws at once: one per core (see `Gate`).
    public var concurrentDraws = ProcessInfo.processInfo.activeProcessorCount
    /// Where access-log lines go (stderr in `zoo serve`).
    public var log: @Sendable (String) -> Void = { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }

    public init(registryPath: String, catalog: Catalog) {
        self.registryPath = registryPath
        self.catalog = catalog
    }

    /// Whether `host` is this machine only; any other address lets the network read the zoo.
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// A store on the registry, opened read-only for one request: SQLite refuses any write
    /// through it, so nothing the server does can change the zoo. A connection per request
    /// keeps requests on different threads from sharing one.
    /// A `postgresql://` registry is opened the same way: one connection per request, every
    /// transaction read-only.
    func openStore() throws -> ModelStore {
        if PostgresURL.isPostgres(registryPath) {
            return ModelStore(registry: try PostgresRegistry(registryPath, readOnly: true), catalog: catalog)
        }
        return ModelStore(registry: try Registry(path: registryPath, readOnly: true), catalog: catalog)
    }
}
