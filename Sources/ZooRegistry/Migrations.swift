import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Forward-only, numbered schema migrations. Migration N moves a database
/// from user_version N-1 to N; shipped migrations are never edited.
enum Migrations {
    static var all: [(version: Int, sql: String)] { Schema.migrations }

    static var latest: Int { all.last?.version ?? 0 }

    /// Brings `db` up to the latest schema, or explains why it cannot.
    static func migrate(_ db: Database) throws {
        // One snapshot for the checks: another process creating the same new file may commit
        // its schema between two separate reads.
        let (version, applicationID, tables) = try db.read {
            (
                Int(try db.scalarInt("PRAGMA user_version")), try db.scalarInt("PRAGMA application_id"),
                try db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'") {
                    $0.text(0)
                }
            )
        }
        if applicationID != 0 && applicationID != Schema.applicationID {
            throw RegistryError.notARegistry(
                path: db.path, reason: "application_id \(applicationID) belongs to another program")
        }
        if version > latest { throw RegistryError.newerSchema(found: version, supported: latest) }
        if version == 0 && !tables.isEmpty {
            // Someone else's database: touching it would graft our tables onto it.
            throw RegistryError.notARegistry(
                path: db.path,
                reason: "it has tables \(tables.prefix(5).joined(separator: ", ")) but no Zoo schema version")
        }
        if version > 0 && !tables.contains("models") {
            throw RegistryError.notARegistry(path: db.path, reason: "user_version \(version) but no models table")
        }
        guard version < latest else { return }
        // A file opened read-only (an import's source, the shipped zoo) is read as the version
        // it is; readers of later tables check `Registry.schemaVersion` first.
        if db.readOnly { return }
        for migration in all where migration.version > version {
            // The schema text sets user_version itself, so the bump commits atomically with the
            // tables it describes. Inside the write lock the version is read again: two processes
            // opening one new file (a training and a `zoo show` beside it) both get here, and the
            // second must find the first's schema, not create it twice.
            try db.transaction {
                guard Int(try db.scalarInt("PRAGMA user_version")) < migration.version else { return }
                try db.exec(migration.sql)
            }
        }
    }
}

/// Cheap checks on the raw file before SQLite sees it, so a truncated or
/// foreign file is reported as such instead of surfacing later as an obscure
/// error in the middle of a query.
enum FileCheck {
    /// A registry is a regular file (or a link to one). Opening a FIFO for reading waits for a
    /// writer forever, and SQLite reports a directory as an unexplained "unable to open".
    static func requireRegularFile(path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else { return }  // gone meanwhile: SQLite creates or reports it
        let kind: String
        switch info.st_mode & S_IFMT {
        case S_IFREG: return
        case S_IFDIR: kind = "a directory"
        case S_IFIFO: kind = "a named pipe (FIFO)"
        case S_IFSOCK: kind = "a socket"
        case S_IFCHR, S_IFBLK: kind = "a device"
        default: kind = "not a regular file"
        }
        throw RegistryError.notAFile(path: path, kind: kind)
    }

    static func inspect(path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { return }
        defer { try? handle.close() }
        let header = (try? handle.read(upToCount: 100)) ?? Data()
        if header.isEmpty { return }  // an empty file is a brand-new database
        let magic = Data("SQLite format 3\u{0}".utf8)
        guard header.count >= magic.count, header.prefix(magic.count) == magic else {
            throw RegistryError.notSQLite(path: path)
        }
        guard header.count == 100 else {
            throw RegistryError.corruptFile(
                path: path, detail: "file ends inside the SQLite header (\(header.count) bytes)")
        }
        let bytes = [UInt8](header)
        func be32(_ at: Int) -> Int { bytes[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
        let rawPageSize = Int(bytes[16]) << 8 | Int(bytes[17])
        let pageSize = rawPageSize == 1 ? 65_536 : rawPageSize
        guard pageSize >= 512, pageSize & (pageSize - 1) == 0 else {
            throw RegistryError.corruptFile(path: path, detail: "invalid page size \(rawPageSize)")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        guard size % pageSize == 0 else {
            throw RegistryError.corruptFile(
                path: path,
                detail: "size \(size) is not a whole number of \(pageSize)-byte pages; the file looks truncated")
        }
        // The in-header page count is trustworthy only when its "valid for"
        // counter matches the change counter. Pages may legitimately live in
        // the WAL instead, so only judge when there is no WAL file.
        let pages = be32(28)
        let walExists = FileManager.default.fileExists(atPath: path + "-wal")
        if be32(92) == be32(24), pages > 0, !walExists, pages * pageSize > size {
            throw RegistryError.corruptFile(
                path: path,
                detail: "header promises \(pages) pages but the file holds \(size / pageSize); the file looks truncated"
            )
        }
    }
}
