import Foundation
import XCTest

@testable import ZooPostgres
@testable import ZooRegistry

/// The registry backends the shared tests run against: the SQLite file always, PostgreSQL when
/// `$ZOO_TEST_POSTGRES_URL` names a server the tests may create databases on (tools/test starts
/// a throw-away cluster and sets it). Each test written once runs its body per backend
/// (`eachBackend`); XCTest on Linux runs no inherited test methods, so a loop it is.
struct Backend {
    let name: String
    /// A new, empty registry.
    let make: () throws -> any RegistryBackend
    /// The location of a registry made by `make` (a path or a URL), for another connection or a
    /// child process to open.
    let location: (any RegistryBackend) -> String
    /// Rows in one table.
    let count: (any RegistryBackend, String) throws -> Int

    /// Opens a registry at a location `location` gave (another connection, as another process).
    static func open(_ location: String) throws -> any RegistryBackend {
        PostgresURL.isPostgres(location) ? try PostgresRegistry(location) : try Registry(path: location)
    }

    static func sqlite(in files: TempFiles) -> Backend {
        Backend(
            name: "SQLite",
            make: { try Registry(path: files.path("registry-\(UUID().uuidString).sqlite")) },
            location: { ($0 as? Registry)?.path ?? "" },
            count: { registry, table in
                guard let registry = registry as? Registry else { return -1 }
                return Int(try registry.db.scalarInt("SELECT count(*) FROM \(table)"))
            })
    }

    static func postgres(_ server: TestServer) -> Backend {
        Backend(
            name: "PostgreSQL",
            make: { try PostgresRegistry(url: try server.newDatabase()) },
            location: { registry in
                guard let url = (registry as? PostgresRegistry)?.url else { return "" }
                return "postgresql://\(url.user)@\(url.host):\(url.port)/\(url.database)"
            },
            count: { registry, table in
                guard let registry = registry as? PostgresRegistry else { return -1 }
                return Int(try registry.atomically { try registry.scalar("SELECT count(*) FROM \(table)") })
            })
    }
}

/// The test server named by `$ZOO_TEST_POSTGRES_URL`: every test gets fresh databases on it,
/// dropped when the test ends.
final class TestServer {
    static let variable = "ZOO_TEST_POSTGRES_URL"
    static var skipReason: String {
        "the PostgreSQL half of the registry tests needs a server: set $\(variable) to "
            + "postgresql://USER@HOST:PORT/DB of one the tests may create databases on (tools/test starts one)"
    }

    let url: PostgresURL
    private var created: [String] = []

    /// nil when no server is named.
    init?() throws {
        guard let text = ProcessInfo.processInfo.environment[Self.variable], !text.isEmpty else { return nil }
        url = try PostgresURL(text)
    }

    func newDatabase() throws -> PostgresURL {
        let name = "zoo_test_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16))"
        let admin = try PostgresSession(url: url)
        defer { admin.close() }
        try admin.query("CREATE DATABASE \(name)")
        created.append(name)
        var database = url
        database.database = name
        return database
    }

    /// Drops every database this test made (closing whatever connections are left on them).
    func dropAll() {
        guard !created.isEmpty, let admin = try? PostgresSession(url: url) else { return }
        for name in created { _ = try? admin.query("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
        admin.close()
        created = []
    }

    /// Runs administrative SQL (terminating a backend, refusing connections) as the test user.
    func admin(_ sql: String) throws {
        let admin = try PostgresSession(url: url)
        defer { admin.close() }
        try admin.query(sql)
    }
}

/// Shared registry tests derive from this: `eachBackend` runs a body against SQLite and, when
/// a server is named, PostgreSQL, saying which backend a failure came from.
class BackendTestCase: XCTestCase {
    var files: TempFiles!
    var server: TestServer?

    override func setUpWithError() throws {
        files = try TempFiles()
        server = try TestServer()
    }

    override func tearDown() {
        server?.dropAll()
        files.cleanUp()
    }

    var backends: [Backend] { [Backend.sqlite(in: files)] + (server.map { [Backend.postgres($0)] } ?? []) }

    func eachBackend(_ body: (Backend) throws -> Void, file: StaticString = #filePath, line: UInt = #line) throws {
        for backend in backends {
            do { try body(backend) } catch {
                XCTFail("\(backend.name): \(error)", file: file, line: line)
            }
        }
    }
}

/// The arguments most calls leave at their defaults, for tests written against the protocol.
extension RegistryBackend {
    func listModels() throws -> [ModelSummary] {
        try listModels(architecture: nil, dataset: nil, status: nil, sort: .name)
    }
    func listModels(status: ModelStatus) throws -> [ModelSummary] {
        try listModels(architecture: nil, dataset: nil, status: status, sort: .name)
    }
    func listModels(dataset: String) throws -> [ModelSummary] {
        try listModels(architecture: nil, dataset: dataset, status: nil, sort: .name)
    }
    func listModels(sort: ModelSort) throws -> [ModelSummary] {
        try listModels(architecture: nil, dataset: nil, status: nil, sort: sort)
    }
    @discardableResult
    func createModel(
        name: String, architecture: String, dataset: String, seed: UInt64, parent: String? = nil
    ) throws -> ModelInfo {
        try createModel(
            name: name, architecture: architecture, dataset: dataset, hyperparameters: "{}", seed: seed,
            description: nil, parent: parent)
    }
    @discardableResult
    func saveCheckpoint(model name: String, _ record: CheckpointRecord) throws -> Int64 {
        try saveCheckpoint(model: name, record, float16: false)
    }
    func loadCheckpoint(model name: String, checkpoint: CheckpointSelector = .latest) throws -> CheckpointRecord {
        try loadCheckpoint(model: name, checkpoint: checkpoint, networks: nil)
    }
    func loadCheckpoint(model name: String, plan: (CheckpointHeader) throws -> LoadPlan) throws -> CheckpointRecord {
        try loadCheckpoint(model: name, checkpoint: .latest, plan: plan)
    }
    @discardableResult
    func recordMetric(
        model name: String, checkpoint: CheckpointSelector? = .latest, name metric: String, value: Double,
        sampleCount: Int? = nil, details: String? = nil
    ) throws -> Int64 {
        try recordMetric(
            model: name, checkpoint: checkpoint, name: metric, value: value, sampleCount: sampleCount,
            evaluator: nil, details: details)
    }
    func setStatus(_ name: String, status: ModelStatus) throws { try setStatus(name, status: status, error: nil) }
    @discardableResult
    func `import`(from path: String, as newName: String? = nil) throws -> ModelInfo {
        try self.import(from: path, model: nil, as: newName)
    }
    @discardableResult
    func `import`(from path: String, model: String) throws -> ModelInfo {
        try self.import(from: path, model: model, as: nil)
    }
}
