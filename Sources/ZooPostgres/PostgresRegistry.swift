import Foundation
import PostgresNIO
@_spi(Backend) import ZooRegistry

/// The model zoo in a PostgreSQL database: the team backend. The same tables as the SQLite
/// file (registry-postgres.sql, migrations numbered alike), the same codec and checksums, the
/// same contract (`RegistryBackend`). One instance is one connection (plus one per training
/// lease it holds); its calls are serialised, so it may be shared between threads.
///
/// Every call is one transaction. A transaction that loses its connection (the server
/// restarted, the network dropped) was rolled back by the server; it is run again on a new
/// connection after a pause, a bounded number of times (`retryDelays`, each said on stderr),
/// then fails with `PostgresRegistryError.connectionLost`.
public final class PostgresRegistry {
    let session: PostgresSession
    public let url: PostgresURL
    public private(set) var schemaVersion = 0
    /// Pauses between reconnection attempts (seconds): about half a minute in all.
    public var retryDelays: [Double] = [0.5, 1, 2, 4, 8, 15]
    /// Where retries are reported (stderr; tests collect them).
    public var report: (String) -> Void = { line in FileHandle.standardError.write(Data(("zoo: " + line + "\n").utf8)) }
    private var depth = 0
    let lock = NSRecursiveLock()
    /// Leases this instance holds, by model id: checked before each checkpoint.
    var leases: [Int64: LeaseHolder] = [:]

    /// Connects and brings the database to the latest schema. On a database without a Zoo
    /// schema, `seed` runs in the same transaction as its creation (the shipped models): a
    /// registry is created complete or not at all, and a second process opening it meanwhile
    /// waits for the first (an advisory lock) and finds it complete. `readOnly` makes every
    /// transaction read-only (`zoo serve`).
    public init(url: PostgresURL, readOnly: Bool = false, seed: ((PostgresRegistry) throws -> Void)? = nil) throws {
        self.url = url
        session = try PostgresSession(url: url)
        try migrate(seed: seed)
        if readOnly {
            session.setup = ["SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"]
            try session.query(session.setup[0])
        }
    }

    /// Opens the registry a `postgresql://` URL names.
    public convenience init(_ text: String, readOnly: Bool = false, seed: ((PostgresRegistry) throws -> Void)? = nil)
        throws
    {
        try self.init(url: try PostgresURL(text), readOnly: readOnly, seed: seed)
    }

    static var now: Double { Date().timeIntervalSince1970 }

    // MARK: Transactions

    /// Runs `body` as one transaction; a nested call is a savepoint of the outer one (as in the
    /// SQLite registry: a failed inner call is undone alone and the outer may go on). At the outermost level a
    /// lost connection reruns the whole body on a new connection (see the class comment). A
    /// COMMIT whose answer is lost may have committed: the rerun then meets its own rows (a
    /// checkpoint of that step exists) and fails with that error rather than writing twice.
    func atomically<T>(readCommitted: Bool = false, _ body: () throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        if depth > 0 {
            depth += 1
            defer { depth -= 1 }
            let savepoint = "zoo_nested_\(depth)"
            try session.query("SAVEPOINT \(savepoint)")
            do {
                let result = try body()
                try session.query("RELEASE SAVEPOINT \(savepoint)")
                return result
            } catch {
                if !(error is ConnectionLoss) { _ = try? session.query("ROLLBACK TO SAVEPOINT \(savepoint)") }
                throw error
            }
        }
        var attempt = 0
        var waited = 0.0
        var conflicts = 0
        while true {
            do {
                return try once(readCommitted: readCommitted, body)
            } catch let PostgresRegistryError.server(_, state, _, _)
                where (state == ServerError.serializationFailure || state == ServerError.deadlock) && conflicts < 10
            {
                // A concurrent transaction changed a row this one read (two trainings registering
                // one architecture): the server undid this one; run it again on a fresh snapshot.
                conflicts += 1
                Thread.sleep(forTimeInterval: Double.random(in: 0.001...0.02) * Double(conflicts))
            } catch let loss as ConnectionLoss {
                var detail = loss.detail
                // Reconnect, pausing before each try; the server may refuse for a while as it
                // restarts ("the database system is starting up"), so every failure is retried.
                while true {
                    guard attempt < retryDelays.count else {
                        throw PostgresRegistryError.connectionLost(
                            location: url.location, attempts: attempt, seconds: Int(waited.rounded()), detail: detail)
                    }
                    let delay = retryDelays[attempt]
                    attempt += 1
                    report(
                        "lost the connection to \(url.location) (\(detail)); reconnecting in \(delay) s "
                            + "(attempt \(attempt) of \(retryDelays.count))")
                    Thread.sleep(forTimeInterval: delay)
                    waited += delay
                    do {
                        try session.connect()
                        break
                    } catch let loss as ConnectionLoss {
                        detail = loss.detail
                    } catch let PostgresRegistryError.cannotConnect(_, refused) {
                        detail = refused
                    }
                }
            }
        }
    }

    private func once<T>(readCommitted: Bool, _ body: () throws -> T) throws -> T {
        // One snapshot per call, as SQLite's transactions read: a load never sees a checkpoint
        // half-pruned by another process. (The migration reads committed data after each of its
        // statements: it waits for a lock, then must see what the lock's last holder wrote.)
        try query("BEGIN ISOLATION LEVEL \(readCommitted ? "READ COMMITTED" : "REPEATABLE READ")")
        depth = 1
        defer { depth = 0 }
        do {
            let result = try body()
            try query("COMMIT")
            return result
        } catch {
            if !(error is ConnectionLoss) { _ = try? session.query("ROLLBACK") }
            throw error
        }
    }

    /// A query in the current transaction, with server errors the caller does not expect
    /// reported as `PostgresRegistryError.server`.
    @discardableResult
    func query(_ sql: String, _ values: [PGValue] = []) throws -> [PostgresRandomAccessRow] {
        do { return try session.query(sql, values) } catch let error as ServerError {
            throw PostgresRegistryError.server(
                location: url.location, state: error.state, message: error.message, sql: error.sql)
        }
    }

    /// The first row mapped, or nil.
    func first<T>(_ sql: String, _ values: [PGValue] = [], _ row: (PostgresRandomAccessRow) throws -> T) throws -> T? {
        try query(sql, values).first.map(row)
    }

    func rows<T>(_ sql: String, _ values: [PGValue] = [], _ row: (PostgresRandomAccessRow) throws -> T) throws -> [T] {
        try query(sql, values).map(row)
    }

    func scalar(_ sql: String, _ values: [PGValue] = []) throws -> Int64 {
        try first(sql, values) { try $0.int64(0) } ?? 0
    }

    /// Runs an insert or update whose CHECK or JSON cast may refuse a value; `message` says which.
    func checked(_ sql: String, _ values: [PGValue], invalid message: String) throws {
        do { try session.query(sql, values) } catch let error as ServerError
            where [ServerError.checkViolation, ServerError.invalidText].contains(error.state)
        {
            throw RegistryError.invalidArgument(message)
        } catch let error as ServerError {
            throw PostgresRegistryError.server(
                location: url.location, state: error.state, message: error.message, sql: error.sql)
        }
    }

    // MARK: Schema

    /// 'Zoo1', as SQLite's application_id: tells a Zoo schema from another program's tables.
    static let applicationID: Int64 = 1_517_252_401

    private func migrate(seed: ((PostgresRegistry) throws -> Void)?) throws {
        let latest = PostgresSchema.latest
        // The usual case, a current registry, in one statement (migrations only ever move forward, so
        // a current version needs no lock); anything else takes the locked path below.
        if let current = try? session.query("SELECT application_id, version FROM zoo_schema").first,
            (try? current.int64(0)) == Self.applicationID, (try? current.int(1)) == latest
        {
            schemaVersion = latest
            return
        }
        schemaVersion = try atomically(readCommitted: true) {
            // One opener at a time: two processes on a new database must not both create it.
            try query("SELECT pg_advisory_xact_lock(\(Self.applicationID), 0)")
            let hasSchema = try first("SELECT to_regclass('zoo_schema') IS NOT NULL") { try $0[0].decode(Bool.self) }
            var version = 0
            if hasSchema == true {
                guard
                    let row = try first(
                        "SELECT application_id, version FROM zoo_schema", [],
                        {
                            (try $0.int64(0), try $0.int(1))
                        })
                else { throw PostgresRegistryError.notARegistry(location: url.location, reason: "zoo_schema is empty") }
                guard row.0 == Self.applicationID else {
                    throw PostgresRegistryError.notARegistry(
                        location: url.location, reason: "application_id \(row.0) belongs to another program")
                }
                version = row.1
            } else {
                let tables = try rows(
                    """
                    SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()
                    ORDER BY table_name LIMIT 5
                    """
                ) { try $0.text(0) }
                if !tables.isEmpty {
                    // Someone else's database: touching it would graft our tables onto it.
                    throw PostgresRegistryError.notARegistry(
                        location: url.location,
                        reason: "it has tables \(tables.joined(separator: ", ")) but no Zoo schema")
                }
            }
            if version > latest { throw RegistryError.newerSchema(found: version, supported: latest) }
            for migration in PostgresSchema.migrations where migration.version > version {
                try session.execute(script: migration.sql)
            }
            schemaVersion = latest
            if version == 0, let seed { try seed(self) }
            return latest
        }
    }
}

/// registry-postgres.sql, compiled into the binary, split into its numbered migrations.
enum PostgresSchema {
    static let file = String(decoding: PackageResources.registry_postgres_sql, as: UTF8.self)
    static let migrations: [(version: Int, sql: String)] = split(file)
    static var latest: Int { migrations.last?.version ?? 0 }

    /// Migration N is the text up to and including its `UPDATE zoo_schema SET version = N;`.
    static func split(_ text: String) -> [(version: Int, sql: String)] {
        var result: [(Int, String)] = []
        var current = ""
        let marker = "UPDATE zoo_schema SET version = "
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            current += line + "\n"
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix(marker), trimmed.hasSuffix(";"),
                let version = Int(trimmed.dropFirst(marker.count).dropLast())
            {
                result.append((version, current))
                current = ""
            }
        }
        return result
    }
}

extension PostgresRegistry: RegistryBackend {
    public var location: String { url.location }
}
