import CSQLite
import Foundation

/// A value bound to or read from SQL. Values always travel as bound
/// parameters; SQL text never contains data.
enum SQLValue {
    case null
    case int(Int64)
    case double(Double)
    case text(String)
    case blob(Data)
}

extension SQLValue {
    static func int(_ v: Int) -> SQLValue { .int(Int64(v)) }
    static func optionalText(_ v: String?) -> SQLValue { v.map(SQLValue.text) ?? .null }
}

/// SQLite copies bound text/blobs immediately, so Swift buffers may go away.
let SQLITE_TRANSIENT = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// One SQLite connection. Not shared between threads: each thread opens its own.
final class Database {
    let handle: OpaquePointer
    let path: String
    let readOnly: Bool

    /// Long enough to ride out another process committing a checkpoint,
    /// short enough that a wedged writer is reported rather than waited on forever.
    static let busyTimeoutMilliseconds: Int32 = 5_000

    init(path: String, readOnly: Bool) throws {
        var db: OpaquePointer?
        let flags =
            (readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE))
            | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_close_v2(db)
            throw RegistryError.sqlite(code: rc, message: message, sql: nil)
        }
        handle = db
        self.path = path
        self.readOnly = readOnly
        sqlite3_extended_result_codes(db, 1)
        try check(sqlite3_busy_timeout(db, Database.busyTimeoutMilliseconds), sql: "busy_timeout")
    }

    deinit { sqlite3_close_v2(handle) }

    /// Turns a SQLite return code into a typed error carrying the SQL text.
    func check(_ rc: Int32, sql: String?) throws {
        guard rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE else { return }
        throw error(rc, sql: sql)
    }

    func error(_ rc: Int32, sql: String?) -> RegistryError {
        let message = String(cString: sqlite3_errmsg(handle))
        switch rc & 0xff {
        case SQLITE_NOTADB: return .notSQLite(path: path)
        case SQLITE_CORRUPT: return .corruptFile(path: path, detail: message)
        case SQLITE_READONLY where readOnly: return .readOnly(path: path)
        default: return .sqlite(code: rc, message: message, sql: sql)
        }
    }

    /// Runs one or more statements that take no parameters (schema, pragmas).
    func exec(_ sql: String) throws {
        var errmsg: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errmsg)
        if rc != SQLITE_OK {
            let message = errmsg.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_free(errmsg)
            if rc & 0xff == SQLITE_NOTADB || rc & 0xff == SQLITE_CORRUPT { throw error(rc, sql: sql) }
            throw RegistryError.sqlite(code: rc, message: message, sql: sql)
        }
    }

    func prepare(_ sql: String) throws -> Statement {
        try Statement(database: self, sql: sql)
    }

    /// Executes a statement that returns no rows.
    func run(_ sql: String, _ parameters: [SQLValue] = []) throws {
        let statement = try prepare(sql)
        try statement.bind(parameters)
        while try statement.step() {}
    }

    /// Runs a query and maps every row.
    func query<T>(_ sql: String, _ parameters: [SQLValue] = [], _ row: (Statement) throws -> T) throws -> [T] {
        let statement = try prepare(sql)
        try statement.bind(parameters)
        var result: [T] = []
        while try statement.step() { result.append(try row(statement)) }
        return result
    }

    /// The first row of a query, or nil when it returns none.
    func first<T>(_ sql: String, _ parameters: [SQLValue] = [], _ row: (Statement) throws -> T) throws -> T? {
        let statement = try prepare(sql)
        try statement.bind(parameters)
        return try statement.step() ? try row(statement) : nil
    }

    func scalarInt(_ sql: String, _ parameters: [SQLValue] = []) throws -> Int64 {
        try first(sql, parameters) { $0.int64(0) } ?? 0
    }

    /// An open BLOB cell for reading it in pieces (incremental blob I/O), so a multi-MB weight
    /// is never copied whole (a SELECT's column first assembles the overflow pages in a buffer
    /// of SQLite's, and Data then copies that). Closed on deinit. Uses the connection: callers
    /// on other threads serialize their calls themselves.
    final class BlobReader {
        private var handle: OpaquePointer?
        private let database: Database
        private let what: String
        let size: Int

        fileprivate init(database: Database, table: String, column: String, rowid: Int64) throws {
            var blob: OpaquePointer?
            what = "blob read \(table).\(column) rowid \(rowid)"
            try database.check(sqlite3_blob_open(database.handle, "main", table, column, rowid, 0, &blob), sql: what)
            guard let blob else { throw database.error(SQLITE_ERROR, sql: what) }
            handle = blob
            self.database = database
            size = Int(sqlite3_blob_bytes(blob))
        }

        deinit { close() }

        /// Closes the handle now (a caller serializing the connection does so under its lock).
        func close() {
            if let handle { sqlite3_blob_close(handle) }
            handle = nil
        }

        /// Fills `buffer` with the bytes from `offset`.
        func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws {
            guard !buffer.isEmpty else { return }
            guard let handle else { throw database.error(SQLITE_MISUSE, sql: what + " after close") }
            try database.check(
                sqlite3_blob_read(handle, buffer.baseAddress, Int32(buffer.count), Int32(offset)), sql: what)
        }
    }

    func openBlob(table: String, column: String, rowid: Int64) throws -> BlobReader {
        try BlobReader(database: self, table: table, column: column, rowid: rowid)
    }

    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
    var changes: Int { Int(sqlite3_changes(handle)) }
    var inTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Runs `body` atomically. The outermost call takes the write lock up
    /// front (BEGIN IMMEDIATE) so a read never has to be upgraded mid-way,
    /// which is the one case where WAL readers/writers get SQLITE_BUSY without
    /// waiting. Nested calls become savepoints so helpers compose.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        if inTransaction {
            try exec("SAVEPOINT zoo_nested")
            do {
                let result = try body()
                try exec("RELEASE zoo_nested")
                return result
            } catch {
                try? exec("ROLLBACK TO zoo_nested")
                try? exec("RELEASE zoo_nested")
                throw error
            }
        }
        try exec(readOnly ? "BEGIN DEFERRED" : "BEGIN IMMEDIATE")
        do {
            let result = try body()
            try exec("COMMIT")
            return result
        } catch {
            // A failed COMMIT can leave the transaction open; rollback is
            // harmless if SQLite already rolled back on its own.
            if inTransaction { try? exec("ROLLBACK") }
            throw error
        }
    }

    /// A consistent snapshot for multi-statement reads; never takes the write lock.
    func read<T>(_ body: () throws -> T) throws -> T {
        if inTransaction { return try body() }
        try exec("BEGIN DEFERRED")
        do {
            let result = try body()
            try exec("COMMIT")
            return result
        } catch {
            if inTransaction { try? exec("ROLLBACK") }
            throw error
        }
    }
}
