import Foundation
import XCTest

@testable import ZooPostgres
@testable import ZooRegistry

/// What only the PostgreSQL backend has: its URL, creating a database's schema once among
/// several processes, and a lost connection. The shared tests (ModelTests, ConcurrencyTests,
/// PruneTests) run against it too.
final class PostgresTests: BackendTestCase {
    func requireServer() throws -> TestServer {
        guard let server else { throw XCTSkip(TestServer.skipReason) }
        return server
    }

    /// Says, as a skip, when the PostgreSQL half of the registry tests did not run.
    func testPostgreSQLServerIsNamed() throws {
        let server = try requireServer()
        let registry = try PostgresRegistry(url: try server.newDatabase())
        XCTAssertEqual(registry.schemaVersion, PostgresSchema.latest)
        XCTAssertEqual(registry.schemaVersion, Migrations.latest, "migrations numbered alike")
    }

    func testURLParsingKeepsThePasswordOutOfMessages() throws {
        let url = try PostgresURL("postgresql://team:s3cr%40t@db.example:6543/zoo", environment: [:])
        XCTAssertEqual(url.user, "team")
        XCTAssertEqual(url.password, "s3cr@t")
        XCTAssertEqual(url.host, "db.example")
        XCTAssertEqual(url.port, 6543)
        XCTAssertEqual(url.database, "zoo")
        XCTAssertEqual(url.location, "postgresql://team@db.example:6543/zoo")
        let fromEnvironment = try PostgresURL("postgres://team@localhost/zoo", environment: ["PGPASSWORD": "pw"])
        XCTAssertEqual(fromEnvironment.password, "pw")
        XCTAssertEqual(fromEnvironment.port, 5432)
        for bad in [
            "postgresql://db.example/zoo", "postgresql://team:pw@db.example:6543/", "postgresql://team:pw@:5/zoo",
            "postgresql://team:pw@db.example/zoo?sslmode=require",
        ] {
            XCTAssertThrowsError(try PostgresURL(bad, environment: [:]), bad) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains("not a PostgreSQL registry URL"), text)
                XCTAssertFalse(text.contains(":pw@"), "the password was printed: \(text)")
            }
        }
        XCTAssertTrue(PostgresURL.isPostgres("postgresql://a@b/c"))
        XCTAssertFalse(PostgresURL.isPostgres("/home/me/postgresql/zoo.sqlite"))
        // Nothing listens on port 1: a clear error naming the URL without its password.
        XCTAssertThrowsError(try PostgresRegistry("postgresql://team:hidden@127.0.0.1:1/zoo")) { error in
            guard case .cannotConnect(let location, _) = error as? PostgresRegistryError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(location, "postgresql://team@127.0.0.1:1/zoo")
            XCTAssertFalse("\(error)".contains("hidden"))
        }
    }

    /// Several processes opening one new database at once: the schema is created and seeded
    /// once, inside one transaction (a failed seed leaves the database empty, and the next
    /// open starts afresh).
    func testNewDatabaseIsMigratedAndSeededOnceAndCompletely() throws {
        let server = try requireServer()
        let url = try server.newDatabase()
        struct Killed: Error {}
        XCTAssertThrowsError(
            try PostgresRegistry(url: url) { registry in
                try Fixture.registry(registry, model: "half")
                throw Killed()
            })
        let lock = NSLock()
        var seeds = 0
        var failures: [String] = []
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            do {
                let registry = try PostgresRegistry(url: url) { registry in
                    lock.withLock { seeds += 1 }
                    try Fixture.registry(registry, model: "seeded-\(i)")
                    try registry.saveCheckpoint(model: "seeded-\(i)", Fixture.checkpoint(epoch: 1, step: 1))
                }
                XCTAssertEqual(registry.schemaVersion, PostgresSchema.latest)
            } catch { lock.withLock { failures.append("\(error)") } }
        }
        XCTAssertEqual(failures, [])
        XCTAssertEqual(seeds, 1)
        let registry = try PostgresRegistry(url: url)
        XCTAssertEqual(try registry.listModels().count, 1)
        XCTAssertFalse(try registry.listModels().contains { $0.name == "half" })
        XCTAssertTrue(try registry.verify(model: nil).ok)
    }

    /// Another program's database is refused untouched, as is a schema from a newer zoo.
    func testForeignDatabaseAndNewerSchemaAreRefused() throws {
        let server = try requireServer()
        let foreign = try server.newDatabase()
        let session = try PostgresSession(url: foreign)
        try session.query("CREATE TABLE invoices (id integer)")
        XCTAssertThrowsError(try PostgresRegistry(url: foreign)) { error in
            XCTAssertTrue("\(error)".contains("not a Zoo registry (it has tables invoices"), "\(error)")
        }
        XCTAssertEqual(
            try session.query("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'").first?
                .int(0), 1)
        session.close()

        let newer = try server.newDatabase()
        do { _ = try PostgresRegistry(url: newer) }
        try PostgresSession(url: newer).query("UPDATE zoo_schema SET version = 99")
        XCTAssertThrowsRegistryError(try PostgresRegistry(url: newer)) {
            $0 == .newerSchema(found: 99, supported: PostgresSchema.latest)
        }
    }

    /// A connection cut in the middle of a training (the server restarted, a DBA killed it): the
    /// next call reconnects, saying so, and the training goes on; the lease is taken again.
    func testLostConnectionIsRetriedAndTheTrainingContinues() throws {
        let server = try requireServer()
        let registry = try PostgresRegistry(url: try server.newDatabase())
        var said: [String] = []
        registry.report = { said.append($0) }
        registry.retryDelays = [0.05, 0.1, 0.2]
        try Fixture.registry(registry)
        let lease = try registry.leaseTraining(model: "dcgan-mnist")
        try registry.saveCheckpoint(model: "dcgan-mnist", Fixture.checkpoint(epoch: 1, step: 1))
        // Every connection of this database ends: the registry's and the lease's.
        try server.admin(
            """
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = '\(registry.url.database)' AND pid <> pg_backend_pid()
            """)
        try registry.saveCheckpoint(model: "dcgan-mnist", Fixture.checkpoint(epoch: 2, step: 2))
        XCTAssertEqual(try registry.checkpoints(of: "dcgan-mnist").map(\.step), [1, 2])
        XCTAssertEqual(said.count, 1, "\(said)")
        XCTAssertTrue(said.first?.contains("lost the connection to \(registry.location)") == true, "\(said)")
        XCTAssertTrue(try registry.isBeingTrained(model: "dcgan-mnist"), "the lease was taken again")
        withExtendedLifetime(lease) {}
    }

    /// A server that stays away: a bounded number of reconnections, each said, then a typed
    /// error naming the URL (no password) and what to do; nothing half-written is kept.
    func testLostConnectionFailsClearlyWhenTheServerStaysAway() throws {
        let server = try requireServer()
        var url = try server.newDatabase()
        url.password = "never-shown"
        let registry = try PostgresRegistry(url: url)
        var said: [String] = []
        registry.report = { said.append($0) }
        registry.retryDelays = [0.05, 0.05, 0.05]
        try Fixture.registry(registry)
        try server.admin("ALTER DATABASE \(url.database) ALLOW_CONNECTIONS false")
        defer { try? server.admin("ALTER DATABASE \(url.database) ALLOW_CONNECTIONS true") }
        try server.admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(url.database)'")
        XCTAssertThrowsError(try registry.saveCheckpoint(model: "dcgan-mnist", Fixture.checkpoint(epoch: 1, step: 1))) {
            error in
            guard case let .connectionLost(location, attempts, _, _) = error as? PostgresRegistryError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(location, url.location)
            XCTAssertEqual(attempts, 3)
            XCTAssertTrue("\(error)".contains("zoo resume"), "\(error)")
            XCTAssertFalse("\(error)".contains("never-shown"))
        }
        XCTAssertEqual(said.count, 3, "\(said)")
        try server.admin("ALTER DATABASE \(url.database) ALLOW_CONNECTIONS true")
        XCTAssertEqual(try registry.checkpoints(of: "dcgan-mnist").count, 0, "the server is back: nothing half-stored")
    }
}
