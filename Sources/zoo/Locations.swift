import Foundation
import ZooCatalog
import ZooKit
import ZooPostgres
import ZooRegistry

/// Where things live when the user does not say: registry, data, shipped models.
enum Locations {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    static func registryPath(_ option: String?) -> String {
        if let option { return option }
        if let env = environment["ZOO_REGISTRY"], !env.isEmpty { return env }
        let base =
            environment["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (NSHomeDirectory() as NSString).appendingPathComponent(".local/share")
        return (base as NSString).appendingPathComponent("zoo/registry.sqlite")
    }

    static func dataDirectory(_ option: String?) -> String {
        if let option { return option }
        if let env = environment["ZOO_DATA"], !env.isEmpty { return env }
        return "data/mnist"
    }

    /// The shipped zoo: $ZOO_PRETRAINED, else Zoo/pretrained.sqlite found by walking up
    /// from the executable (it sits in .build/<triple>/release inside the checkout).
    static func pretrainedRegistry() -> String? {
        if let env = environment["ZOO_PRETRAINED"] { return env.isEmpty ? nil : env }
        var directory = URL(
            fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                ?? CommandLine.arguments[0]
        ).deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = directory.appendingPathComponent("Zoo/pretrained.sqlite").path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        return nil
    }

    /// Opens (creating if needed) the registry, behind its one door. A registry created here
    /// starts with the shipped models, so `zoo generate cdcgan-mnist` works right after setup.
    static func store(_ option: String?) throws -> ModelStore {
        let path = registryPath(option)
        if PostgresURL.isPostgres(path) {
            // The team backend: a new database is migrated and seeded in one transaction.
            let shipped = pretrainedRegistry()
            let registry = try PostgresRegistry(path) { registry in
                if let shipped { try ModelStore(registry: registry, catalog: builtinCatalog).importAll(from: shipped) }
            }
            return ModelStore(registry: registry, catalog: builtinCatalog)
        }
        let isNew = !FileManager.default.fileExists(atPath: path)
        if isNew {
            let parent = (path as NSString).deletingLastPathComponent
            if !parent.isEmpty {
                do { try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true) } catch
                {
                    throw UsageError(
                        "cannot create the registry folder \(parent): \(error.localizedDescription); pass --registry PATH"
                    )
                }
            }
        }
        if isNew {
            // Created with the shipped models in it, or not at all (see Registry.createComplete).
            let shipped = pretrainedRegistry()
            try Registry.createComplete(at: path) { registry in
                if let shipped { try ModelStore(registry: registry, catalog: builtinCatalog).importAll(from: shipped) }
            }
        }
        return ModelStore(registry: try Registry(path: path), catalog: builtinCatalog)
    }
}
