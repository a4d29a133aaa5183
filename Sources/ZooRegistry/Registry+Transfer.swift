import Foundation

extension Registry {
    /// Writes a standalone registry file holding just this model: its
    /// architecture row, checkpoints, tensors, metrics, log and aliases.
    /// Lineage is dropped because the parent is not part of the file.
    public func export(model name: String, to path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else { throw RegistryError.fileExists(path: path) }
        _ = try modelID(named: name)  // fail before creating a file
        // Written beside the target and renamed when complete: an interrupted export leaves
        // no file at the path to be mistaken for a good one (or to block the name).
        try Self.writeRenamedIntoPlace(path) { part in
            // Opening creates the file with the current schema; closing it
            // right away leaves it to the ATTACH below.
            _ = try Registry(path: part)
            try attached(part, as: "zoo_export") {
                try db.transaction {
                    let id: [SQLValue] = [.int(try modelID(named: name))]
                    try db.run(
                        """
                        INSERT INTO zoo_export.architectures SELECT a.* FROM main.architectures a
                        JOIN main.models m ON m.architecture = a.name WHERE m.id = ?
                        """, id)
                    try db.run(
                        """
                        INSERT INTO zoo_export.models (id, name, architecture, dataset, hyperparameters, seed, status, error,
                            created_at, updated_at, description, parent_id)
                        SELECT id, name, architecture, dataset, hyperparameters, seed, status, error,
                            created_at, updated_at, description, NULL FROM main.models WHERE id = ?
                        """, id)
                    // The file is fresh, so row ids can be kept as they are.
                    try db.run(
                        "INSERT INTO zoo_export.checkpoints SELECT * FROM main.checkpoints WHERE model_id = ?", id)
                    try db.run(
                        """
                        INSERT INTO zoo_export.tensors SELECT t.* FROM main.tensors t
                        JOIN main.checkpoints c ON c.id = t.checkpoint_id WHERE c.model_id = ?
                        """, id)
                    try db.run("INSERT INTO zoo_export.metrics SELECT * FROM main.metrics WHERE model_id = ?", id)
                    try db.run(
                        "INSERT INTO zoo_export.training_log SELECT * FROM main.training_log WHERE model_id = ?", id)
                    try db.run("INSERT INTO zoo_export.aliases SELECT * FROM main.aliases WHERE model_id = ?", id)
                    try db.run(
                        "INSERT INTO zoo_export.progress_frames SELECT * FROM main.progress_frames WHERE model_id = ?",
                        id)
                }
            }
        }
    }

    /// The tables an import reads, with the most rows one model may bring in each (an edited
    /// file cannot make an import run for ever or fill the disk).
    static let importedTables: [(table: String, limit: Int)] = [
        ("architectures", 1_000), ("models", 100_000), ("checkpoints", 100_000), ("tensors", 10_000_000),
        ("metrics", 1_000_000), ("training_log", 1_000_000), ("aliases", 100_000), ("progress_frames", maximumFrames),
    ]

    /// Copies a model from another registry file (e.g. one made by `export`)
    /// into this one, in one transaction. `model` picks the model when the
    /// file holds several; `newName` imports it under another name.
    @discardableResult
    public func `import`(from path: String, model: String? = nil, as newName: String? = nil) throws -> ModelInfo {
        let sourceName: String
        let sourceVersion: Int
        do {
            // Checked and closed again before the ATTACH below reads the file.
            let opened = try Registry.openImportSource(path: path, model: model)
            (sourceName, sourceVersion) = (opened.name, opened.source.schemaVersion)
        }
        let targetName = newName ?? sourceName
        // A file of an older schema is read as it is (version 3 renamed two columns).
        let positionColumn = sourceVersion >= 3 ? "training_position" : "optimizer_state"
        let logMetrics =
            sourceVersion >= 3
            ? "metrics" : Registry.legacyLogMetrics(table: "zoo_import.training_log", schema: "zoo_import")
        try ModelName.validate(targetName)
        try attached(path, as: "zoo_import") {
            try db.transaction {
                if try db.first("SELECT 1 FROM main.models WHERE name = ?", [.text(targetName)], { _ in true }) != nil {
                    throw RegistryError.importClash(targetName)
                }
                guard
                    let sourceID = try db.first(
                        "SELECT id FROM zoo_import.models WHERE name = ?", [.text(sourceName)], { $0.int64(0) })
                else {
                    throw RegistryError.modelNotFound(sourceName, suggestions: [])
                }
                try db.run(
                    """
                    INSERT OR IGNORE INTO main.architectures SELECT a.* FROM zoo_import.architectures a
                    JOIN zoo_import.models m ON m.architecture = a.name WHERE m.id = ?
                    """, [.int(sourceID)])
                // Keep lineage when the parent (by name) is already here.
                try db.run(
                    """
                    INSERT INTO main.models (name, architecture, dataset, hyperparameters, seed, status, error,
                        created_at, updated_at, description, parent_id)
                    SELECT ?, s.architecture, s.dataset, s.hyperparameters, s.seed, s.status, s.error, s.created_at, s.updated_at,
                        s.description, (SELECT id FROM main.models WHERE name = (SELECT p.name FROM zoo_import.models p WHERE p.id = s.parent_id))
                    FROM zoo_import.models s WHERE s.id = ?
                    """, [.text(targetName), .int(sourceID)])
                let modelID = db.lastInsertRowID
                try checkImportSize(sourceID: sourceID, path: path, withFrames: sourceVersion >= 2)
                var checkpointMap: [Int64: Int64] = [:]
                let oldCheckpoints = try db.query(
                    "SELECT id FROM zoo_import.checkpoints WHERE model_id = ? ORDER BY id", [.int(sourceID)]
                ) { $0.int64(0) }
                for old in oldCheckpoints {
                    try db.run(
                        """
                        INSERT INTO main.checkpoints (model_id, epoch, step, created_at, is_final, training_position, rng_state)
                        SELECT ?, epoch, step, created_at, is_final, \(positionColumn), rng_state FROM zoo_import.checkpoints WHERE id = ?
                        """, [.int(modelID), .int(old)])
                    let new = db.lastInsertRowID
                    checkpointMap[old] = new
                    try db.run(
                        """
                        INSERT INTO main.tensors (checkpoint_id, network, path, shape, elements, dtype, codec, raw_bytes, sha256, blob)
                        SELECT ?, network, path, shape, elements, dtype, codec, raw_bytes, sha256, blob
                        FROM zoo_import.tensors WHERE checkpoint_id = ? ORDER BY id
                        """, [.int(new), .int(old)])
                }
                func mapped(_ old: Int64?) -> SQLValue { old.flatMap { checkpointMap[$0] }.map { .int($0) } ?? .null }
                let metrics = try db.query(
                    "SELECT id, checkpoint_id FROM zoo_import.metrics WHERE model_id = ? ORDER BY id",
                    [.int(sourceID)]
                ) { ($0.int64(0), $0.optionalInt64(1)) }
                for (metricID, checkpoint) in metrics {
                    try db.run(
                        """
                        INSERT INTO main.metrics (model_id, checkpoint_id, name, value, sample_count, evaluator, details, created_at)
                        SELECT ?, ?, name, value, sample_count, evaluator, details, created_at FROM zoo_import.metrics WHERE id = ?
                        """, [.int(modelID), mapped(checkpoint), .int(metricID)])
                }
                try db.run(
                    """
                    INSERT INTO main.training_log (model_id, epoch, step, metrics, seconds)
                    SELECT ?, epoch, step, \(logMetrics), seconds FROM zoo_import.training_log WHERE model_id = ? ORDER BY id
                    """, [.int(modelID), .int(sourceID)])
                if sourceVersion >= 2 {
                    // A version-1 file has no frames to bring.
                    try db.run(
                        """
                        INSERT INTO main.progress_frames (model_id, epoch, step, png, created_at)
                        SELECT ?, epoch, step, png, created_at FROM zoo_import.progress_frames WHERE model_id = ? ORDER BY epoch
                        """, [.int(modelID), .int(sourceID)])
                }
                let aliases = try db.query(
                    "SELECT alias, checkpoint_id FROM zoo_import.aliases WHERE model_id = ?",
                    [.int(sourceID)]
                ) { ($0.text(0), $0.int64(1)) }
                for (alias, checkpoint) in aliases {
                    guard let new = checkpointMap[checkpoint] else { continue }
                    try db.run(
                        "INSERT INTO main.aliases (model_id, alias, checkpoint_id) VALUES (?, ?, ?)",
                        [.int(modelID), .text(alias), .int(new)])
                }
                // Every tensor is decoded against its checksum before the model commits: a flipped
                // byte leaves this registry as it was.
                let tensors = try tensorProblems(modelFilter: .int(modelID))
                if let first = tensors.problems.first {
                    let more = tensors.problems.count > 1 ? " (and \(tensors.problems.count - 1) more)" : ""
                    throw RegistryError.importRefused(path: path, reason: first + more)
                }
            }
        }
        return try self.model(named: targetName)
    }

    /// Opens an import's source read-only with the checks every import makes, whatever the
    /// target backend: the file's format, only real tables (a view under a table's name, a
    /// recursive one never ends, is refused before any query touches it), no triggers (a
    /// registry has none: one is someone's edit), and which model it brings (`model`, or the
    /// only one).
    static func openImportSource(path: String, model: String?) throws -> (source: Registry, name: String) {
        let source = try Registry(path: path, readOnly: true)
        let kinds = Dictionary(
            try source.db.query("SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view')") {
                ($0.text(0), $0.text(1))
            }, uniquingKeysWith: { a, _ in a })
        for (table, _) in Self.importedTables where kinds[table] != nil && kinds[table] != "table" {
            throw RegistryError.notARegistry(
                path: path, reason: "its \(table) is a \(kinds[table] ?? "?"), not a table")
        }
        let triggers = try source.db.query("SELECT name FROM sqlite_master WHERE type = 'trigger'") { $0.text(0) }
        if let trigger = triggers.first {
            throw RegistryError.notARegistry(path: path, reason: "it has a trigger (\(trigger)), which no registry has")
        }
        let names = try source.db.query("SELECT name FROM models ORDER BY name") { $0.text(0) }
        if let model {
            guard names.contains(model) else { throw try source.notFound(model) }
            return (source, model)
        }
        guard names.count == 1, let only = names.first else {
            throw RegistryError.importNeedsModel(path: path, available: names)
        }
        return (source, only)
    }

    /// The source model's rows per table, against `importedTables`' limits, before any is copied.
    func checkImportSize(sourceID: Int64, path: String, withFrames: Bool, schema: String = "zoo_import") throws {
        var counts: [(String, String)] = [
            ("checkpoints", "SELECT count(*) FROM zoo_import.checkpoints WHERE model_id = ?1"),
            (
                "tensors",
                "SELECT count(*) FROM zoo_import.tensors t JOIN zoo_import.checkpoints c ON c.id = t.checkpoint_id WHERE c.model_id = ?1"
            ),
            ("metrics", "SELECT count(*) FROM zoo_import.metrics WHERE model_id = ?1"),
            ("training_log", "SELECT count(*) FROM zoo_import.training_log WHERE model_id = ?1"),
            ("aliases", "SELECT count(*) FROM zoo_import.aliases WHERE model_id = ?1"),
        ]
        if withFrames {
            counts.append(("progress_frames", "SELECT count(*) FROM zoo_import.progress_frames WHERE model_id = ?1"))
        }
        let limits = Dictionary(Self.importedTables.map { ($0.table, $0.limit) }, uniquingKeysWith: { a, _ in a })
        for (table, sql) in counts {
            let count = Int(
                try db.scalarInt(sql.replacingOccurrences(of: "zoo_import.", with: "\(schema)."), [.int(sourceID)]))
            if let limit = limits[table], count > limit {
                throw RegistryError.importRefused(
                    path: path, reason: "its model has \(count) \(table) rows, more than \(limit)")
            }
        }
    }

    /// ATTACH cannot run inside a transaction, so it wraps one instead.
    private func attached<T>(_ path: String, as schema: String, _ body: () throws -> T) throws -> T {
        try db.run("ATTACH DATABASE ? AS \(schema)", [.text(path)])
        defer { try? db.run("DETACH DATABASE \(schema)") }
        return try body()
    }
}

extension Registry {
    /// Writes a registry file at `path` by filling a fresh one beside it (`fill` gets its path),
    /// then renames it into place: an interrupted export leaves no file at `path` to be mistaken
    /// for a good one (or to block the name).
    static func writeRenamedIntoPlace(_ path: String, _ fill: (_ part: String) throws -> Void) throws {
        let part = path + ".part-\(getpid())"
        do {
            try fill(part)
            // Fold the write-ahead log into the file, so the one file renamed is the whole export.
            try Database(path: part, readOnly: false).exec("PRAGMA wal_checkpoint(TRUNCATE)")
            for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: part + suffix) }
            guard rename(part, path) == 0 else {
                throw RegistryError.invalidArgument(
                    "cannot move the export into place at \(path): \(String(cString: strerror(errno)))")
            }
        } catch {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: part + suffix) }
            throw error
        }
    }
}
