import Foundation

/// The model zoo's store: one SQLite file holding every model by name.
/// One instance is one connection; use it from one thread at a time (open
/// another instance per thread or process; WAL lets readers run alongside
/// the writer).
public final class Registry {
    let db: Database
    public let path: String
    /// The schema version of the file (the latest, unless it was opened read-only).
    public private(set) var schemaVersion = 0

    public init(path: String, readOnly: Bool = false) throws {
        let exists = FileManager.default.fileExists(atPath: path)
        if readOnly && !exists { throw RegistryError.registryNotFound(path: path) }
        if exists {
            try FileCheck.requireRegularFile(path: path)
            try FileCheck.inspect(path: path)
        }
        self.path = path
        db = try Database(path: path, readOnly: readOnly)
        try configure(readOnly: readOnly)
    }

    private init(memory: Void) throws {
        path = ":memory:"
        db = try Database(path: ":memory:", readOnly: false)
        try configure(readOnly: false)
    }

    /// A throwaway registry for tests and dry runs.
    public static func inMemory() throws -> Registry { try Registry(memory: ()) }

    private func configure(readOnly: Bool) throws {
        try db.exec("PRAGMA foreign_keys = ON")
        // Weight blobs are megabytes spread over 4 KB overflow pages: through a memory map
        // SQLite copies them out of the page cache instead of one pread() per page.
        _ = try db.first("PRAGMA mmap_size = 268435456") { $0.int(0) }
        // Validate before changing anything: WAL mode would otherwise be
        // written into a file that turns out not to be ours.
        try Migrations.migrate(db)
        schemaVersion = Int(try db.scalarInt("PRAGMA user_version"))
        if !readOnly {
            // WAL: readers never block the checkpoint writer and vice versa.
            // synchronous=NORMAL is crash-safe in WAL (a power cut can lose
            // only the last commits, never corrupt).
            _ = try db.first("PRAGMA journal_mode = WAL") { $0.text(0) }
            try db.exec("PRAGMA synchronous = NORMAL")
        }
    }

    /// Groups several calls into one transaction (each call otherwise commits on
    /// its own). Used for bulk work such as seeding many models.
    public func batch<T>(_ body: () throws -> T) throws -> T { try db.transaction(body) }

    static var now: Double { Date().timeIntervalSince1970 }

    // MARK: Architectures

    /// Inserts or updates an architecture row (plugins call this at startup).
    public func registerArchitecture(
        name: String, version: Int, summary: String, conditional: Bool, kind: String = "gan"
    ) throws {
        try db.run(
            """
            INSERT INTO architectures (name, version, summary, conditional, kind) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (name) DO UPDATE SET version = excluded.version, summary = excluded.summary,
                conditional = excluded.conditional, kind = excluded.kind
            """, [.text(name), .int(version), .text(summary), .int(conditional ? 1 : 0), .text(kind)])
    }

    // MARK: Models

    static let modelColumns = """
        m.id, m.name, m.architecture, m.dataset, m.hyperparameters, m.seed, m.status, m.error,
        m.created_at, m.updated_at, m.description, p.name
        """

    static func modelInfo(_ s: Statement) throws -> ModelInfo {
        let statusText = s.text(6)
        guard let status = ModelStatus(rawValue: statusText) else {
            throw RegistryError.invalidArgument(
                "model \"\(s.text(1))\" has unknown status \"\(statusText)\"; run `zoo verify`")
        }
        return ModelInfo(
            id: s.int64(0), name: s.text(1), architecture: s.text(2), dataset: s.text(3),
            hyperparameters: s.text(4), seed: UInt64(bitPattern: s.int64(5)), status: status,
            error: s.optionalText(7), createdAt: s.date(8), updatedAt: s.date(9),
            description: s.optionalText(10), parent: s.optionalText(11))
    }

    @discardableResult
    public func createModel(
        name: String, architecture: String, dataset: String, hyperparameters: String = "{}",
        seed: UInt64, description: String? = nil, parent: String? = nil
    ) throws -> ModelInfo {
        try ModelName.validate(name)
        return try db.transaction {
            guard
                try db.first("SELECT 1 FROM architectures WHERE name = ?", [.text(architecture)], { _ in true }) != nil
            else {
                throw RegistryError.architectureNotFound(architecture)
            }
            if try db.first("SELECT 1 FROM models WHERE name = ?", [.text(name)], { _ in true }) != nil {
                throw RegistryError.modelExists(name)
            }
            let parentID: SQLValue = try parent.map { .int(try modelID(named: $0)) } ?? .null
            let now = Registry.now
            do {
                try db.run(
                    """
                    INSERT INTO models (name, architecture, dataset, hyperparameters, seed, status, created_at, updated_at, description, parent_id)
                    VALUES (?, ?, ?, ?, ?, 'training', ?, ?, ?, ?)
                    """,
                    [
                        .text(name), .text(architecture), .text(dataset), .text(hyperparameters),
                        .int(Int64(bitPattern: seed)), .double(now), .double(now), .optionalText(description), parentID,
                    ])
            } catch let RegistryError.sqlite(code, _, _) where code == 275 /* SQLITE_CONSTRAINT_CHECK */ {
                throw RegistryError.invalidArgument(
                    "hyperparameters for \"\(name)\" are not valid JSON: \(hyperparameters)")
            }
            return try model(named: name)
        }
    }

    public func model(named name: String) throws -> ModelInfo {
        if let info = try db.first(
            "SELECT \(Registry.modelColumns) FROM models m LEFT JOIN models p ON p.id = m.parent_id WHERE m.name = ?",
            [.text(name)], Registry.modelInfo)
        {
            return info
        }
        throw try notFound(name)
    }

    func notFound(_ name: String) throws -> RegistryError {
        let names = try db.query("SELECT name FROM models") { $0.text(0) }
        return .modelNotFound(name, suggestions: closestNames(to: name, in: names))
    }

    func modelID(named name: String) throws -> Int64 {
        if let id = try db.first("SELECT id FROM models WHERE name = ?", [.text(name)], { $0.int64(0) }) { return id }
        throw try notFound(name)
    }

    public func renameModel(_ name: String, to newName: String) throws {
        try ModelName.validate(newName)
        try refuseIfBeingTrained(name)
        try db.transaction {
            let id = try modelID(named: name)
            if try db.first("SELECT 1 FROM models WHERE name = ?", [.text(newName)], { _ in true }) != nil {
                throw RegistryError.modelExists(newName)
            }
            try db.run(
                "UPDATE models SET name = ?, updated_at = ? WHERE id = ?",
                [.text(newName), .double(Registry.now), .int(id)])
        }
    }

    /// Removes the model and, through ON DELETE CASCADE, everything it owns.
    public func deleteModel(_ name: String) throws {
        try refuseIfBeingTrained(name)
        try db.transaction {
            let id = try modelID(named: name)
            try db.run("DELETE FROM models WHERE id = ?", [.int(id)])
        }
    }

    public func setStatus(_ name: String, status: ModelStatus, error: String? = nil) throws {
        try db.transaction {
            let id = try modelID(named: name)
            try db.run(
                "UPDATE models SET status = ?, error = ?, updated_at = ? WHERE id = ?",
                [.text(status.rawValue), .optionalText(error), .double(Registry.now), .int(id)])
        }
    }

    /// Replaces a model's hyperparameters JSON (a resume that extends the planned epochs).
    public func updateHyperparameters(_ name: String, json: String) throws {
        try db.transaction {
            let id = try modelID(named: name)
            do {
                try db.run(
                    "UPDATE models SET hyperparameters = ?, updated_at = ? WHERE id = ?",
                    [.text(json), .double(Registry.now), .int(id)])
            } catch let RegistryError.sqlite(code, _, _) where code == 275 /* SQLITE_CONSTRAINT_CHECK */ {
                throw RegistryError.invalidArgument("hyperparameters for \"\(name)\" are not valid JSON: \(json)")
            }
        }
    }

    public func updateDescription(_ name: String, description: String?) throws {
        try db.transaction {
            let id = try modelID(named: name)
            try db.run(
                "UPDATE models SET description = ?, updated_at = ? WHERE id = ?",
                [.optionalText(description), .double(Registry.now), .int(id)])
        }
    }

    public func architectures() throws -> [(
        name: String, version: Int, summary: String, conditional: Bool, kind: String
    )] {
        try db.query("SELECT name, version, summary, conditional, kind FROM architectures ORDER BY name") {
            (name: $0.text(0), version: $0.int(1), summary: $0.text(2), conditional: $0.bool(3), kind: $0.text(4))
        }
    }
}
