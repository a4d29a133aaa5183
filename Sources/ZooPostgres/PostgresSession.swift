import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

#if canImport(Glibc)
import Glibc
#endif

/// A value bound to a statement's `$n`: SQL is bound, never spliced.
enum PGValue {
    case int(Int64)
    case double(Double)
    case text(String)
    case bytes(Data)
    case null
    case ints([Int64])

    static func int(_ v: Int) -> PGValue { .int(Int64(v)) }
    static func optionalText(_ v: String?) -> PGValue { v.map(PGValue.text) ?? .null }
    static func optionalInt(_ v: Int64?) -> PGValue { v.map(PGValue.int) ?? .null }
}

/// The connection went away (server restart, network, kill of the backend): the transaction
/// it was in is gone, rolled back by the server. The registry retries whole transactions.
struct ConnectionLoss: Error { let detail: String }

/// One connection to the server, used synchronously: the registry protocol is synchronous and
/// postgres-nio is not, so each statement is sent on the connection's event loop (NIO's shared
/// group) and the calling thread waits for its result. Callers are never event-loop threads:
/// the CLI's main thread, the trainer's, or `zoo serve`'s Dispatch workers (ZooServer's
/// Blocking). Statements on one session are serialised by a lock.
final class PostgresSession {
    let url: PostgresURL
    private var connection: PostgresConnection?
    /// Statements every new connection runs first (a read-only registry's session setting).
    var setup: [String] = []
    private let lock = NSRecursiveLock()
    private static let logger = Logger(label: "zoo.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
    private static let counter = NSLock()
    nonisolated(unsafe) private static var nextID = 0

    /// What `pg_stat_activity` shows for this process, and the holder a second trainer of a
    /// leased model is told about.
    static let applicationName: String = {
        let host = ProcessInfo.processInfo.hostName
        return String("zoo process \(getpid()) on \(host)".prefix(63))
    }()

    init(url: PostgresURL) throws {
        self.url = url
        do { try connect() } catch let loss as ConnectionLoss {
            throw PostgresRegistryError.cannotConnect(location: url.location, detail: loss.detail)
        }
    }

    deinit { close() }

    /// (Re)connects; throws `ConnectionLoss` when the server cannot be reached.
    func connect() throws {
        lock.lock()
        defer { lock.unlock() }
        close()
        var configuration = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password, database: url.database,
            tls: .disable)
        configuration.options.connectTimeout = .seconds(10)
        configuration.options.additionalStartupParameters = [("application_name", Self.applicationName)]
        let id = Self.counter.withLock {
            Self.nextID += 1
            return Self.nextID
        }
        do {
            connection = try PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration, id: id,
                logger: Self.logger
            ).wait()
            for statement in setup { try query(statement) }
        } catch let loss as ConnectionLoss {
            throw loss
        } catch {
            // A refused login is not a lost connection: retrying will not help.
            if let psql = error as? PSQLError, psql.code == .server, let message = psql.serverInfo?[.message] {
                throw PostgresRegistryError.cannotConnect(location: url.location, detail: message)
            }
            throw ConnectionLoss(detail: Self.describe(error))
        }
    }

    func close() {
        lock.lock()
        defer { lock.unlock() }
        if let connection { try? connection.close().wait() }
        connection = nil
    }

    var isOpen: Bool { lock.withLock { connection.map { !$0.isClosed } ?? false } }

    /// Runs one statement and returns its rows.
    @discardableResult
    func query(_ sql: String, _ values: [PGValue] = []) throws -> [PostgresRandomAccessRow] {
        lock.lock()
        defer { lock.unlock() }
        guard let connection, !connection.isClosed else { throw ConnectionLoss(detail: "the connection is closed") }
        var binds = PostgresBindings(capacity: values.count)
        for value in values {
            // Data's encoding only throws for types it is not: a bytea bind cannot fail here.
            switch value {
            case let .int(v): binds.append(v)
            case let .double(v): binds.append(v)
            case let .text(v): binds.append(v)
            case let .bytes(v): try binds.append(v)
            case .null: binds.appendNull()
            case let .ints(v): binds.append(v)
            }
        }
        do {
            let result = try connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: Self.logger).wait()
            return result.rows.map { $0.makeRandomAccess() }
        } catch {
            throw translate(error, sql: sql)
        }
    }

    /// Runs statements without results, one by one (a schema migration's text).
    func execute(script: String) throws {
        for statement in Self.statements(script) { try query(statement) }
    }

    /// A script's statements: a statement ends with a line ending in ";"; lines of "--"
    /// comments are dropped. (The extended protocol postgres-nio speaks takes one statement
    /// at a time; the schema file keeps to this form.)
    static func statements(_ script: String) -> [String] {
        var result: [String] = []
        var current = ""
        for line in script.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("--") || (trimmed.isEmpty && current.isEmpty) { continue }
            current += line + "\n"
            if trimmed.hasSuffix(";") {
                result.append(String(current.trimmingCharacters(in: .whitespacesAndNewlines).dropLast()))
                current = ""
            }
        }
        return result
    }

    private func translate(_ error: Error, sql: String) -> Error {
        guard let psql = error as? PSQLError else { return ConnectionLoss(detail: Self.describe(error)) }
        switch psql.code {
        case .server:
            let state = psql.serverInfo?[.sqlState] ?? "?????"
            // Class 08 (connection exception) and 57P (the server shutting down or restarting).
            if state.hasPrefix("08") || state.hasPrefix("57P") { return ConnectionLoss(detail: Self.describe(error)) }
            return ServerError(
                state: state, message: psql.serverInfo?[.message] ?? "unknown error",
                constraint: psql.serverInfo?[.constraintName], sql: sql)
        case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown:
            return ConnectionLoss(detail: Self.describe(error))
        default:
            return ServerError(state: "client", message: Self.describe(error), constraint: nil, sql: sql)
        }
    }

    /// What went wrong, in words (PSQLError's own description hides everything on purpose).
    static func describe(_ error: Error) -> String {
        guard let psql = error as? PSQLError else { return "\(error)" }
        if let message = psql.serverInfo?[.message] { return message }
        if let underlying = psql.underlying { return "\(psql.code): \(underlying)" }
        return "\(psql.code)"
    }
}

/// A statement the server refused; the registry maps the states it expects (a unique or check
/// violation) to `RegistryError`s and reports the rest as `PostgresRegistryError.server`.
struct ServerError: Error {
    let state: String
    let message: String
    let constraint: String?
    let sql: String

    static let uniqueViolation = "23505"
    static let checkViolation = "23514"
    static let invalidText = "22P02"
    static let serializationFailure = "40001"
    static let deadlock = "40P01"
}

/// Typed reads of a row's columns. The server's types are the schema's (BIGINT, TEXT,
/// DOUBLE PRECISION, BYTEA); a mismatch is a database zoo did not write.
extension PostgresRandomAccessRow {
    func int64(_ i: Int) throws -> Int64 { try self[i].decode(Int64.self) }
    func int(_ i: Int) throws -> Int { try self[i].decode(Int.self) }
    func optionalInt64(_ i: Int) throws -> Int64? { try self[i].decode(Int64?.self) }
    func double(_ i: Int) throws -> Double { try self[i].decode(Double.self) }
    func text(_ i: Int) throws -> String { try self[i].decode(String.self) }
    func optionalText(_ i: Int) throws -> String? { try self[i].decode(String?.self) }
    func bool(_ i: Int) throws -> Bool { try int(i) != 0 }
    func bytes(_ i: Int) throws -> Data {
        try self[i].decode(Data?.self) ?? Data()
    }
    func date(_ i: Int) throws -> Date { Date(timeIntervalSince1970: try double(i)) }
}
