import Foundation
import PostgresNIO
@_spi(Backend) import ZooRegistry

/// Moving models: `export` writes a `.zoo` file (a one-model SQLite registry, what the SQLite
/// backend's export writes) and `import` reads one; the file is the path between a laptop's zoo
/// and the team's. The rows travel unchanged (blobs, checksums, ids within the file).
extension PostgresRegistry {
    public func export(model name: String, to path: String) throws {
        try atomically {
            let id = try modelID(named: name)
            guard
                var rows = try first(
                    """
                    SELECT a.name, a.version, a.summary, a.conditional, a.kind, m.name, m.dataset, m.hyperparameters,
                        m.seed, m.status, m.error, m.created_at, m.updated_at, m.description
                    FROM models m JOIN architectures a ON a.name = m.architecture WHERE m.id = $1
                    """, [.int(id)],
                    { s in
                        ModelRows(
                            architecture: .init(
                                name: try s.text(0), version: try s.int(1), summary: try s.text(2),
                                conditional: try s.bool(3), kind: try s.text(4)),
                            name: try s.text(5), dataset: try s.text(6), hyperparameters: try s.text(7),
                            seed: try s.int64(8), status: try s.text(9), error: try s.optionalText(10),
                            createdAt: try s.double(11), updatedAt: try s.double(12),
                            description: try s.optionalText(13), parent: nil)
                    })
            else { throw try notFound(name) }
            rows.checkpoints = try self.rows(
                """
                SELECT id, epoch, step, created_at, is_final, training_position, rng_state FROM checkpoints
                WHERE model_id = $1 ORDER BY id
                """, [.int(id)]
            ) { s in
                ModelRows.Checkpoint(
                    id: try s.int64(0), epoch: try s.int(1), step: try s.int(2), createdAt: try s.double(3),
                    isFinal: try s.bool(4), trainingPosition: try s.bytes(5), rngState: try s.bytes(6))
            }
            rows.metrics = try self.rows(
                """
                SELECT checkpoint_id, name, value, sample_count, evaluator, details, created_at FROM metrics
                WHERE model_id = $1 ORDER BY id
                """, [.int(id)]
            ) { s in
                ModelRows.Metric(
                    checkpointID: try s.optionalInt64(0), name: try s.text(1), value: try s.double(2),
                    sampleCount: try s.optionalInt64(3), evaluator: try s.optionalText(4),
                    details: try s.optionalText(5), createdAt: try s.double(6))
            }
            rows.log = try self.rows(
                "SELECT epoch, step, metrics, seconds FROM training_log WHERE model_id = $1 ORDER BY id", [.int(id)]
            ) {
                ModelRows.LogRow(
                    epoch: try $0.int(0), step: try $0.int(1), metrics: try $0.text(2), seconds: try $0.double(3))
            }
            rows.aliases = try self.rows(
                "SELECT alias, checkpoint_id FROM aliases WHERE model_id = $1 ORDER BY alias COLLATE \"C\"",
                [.int(id)]
            ) { (alias: try $0.text(0), checkpointID: try $0.int64(1)) }
            rows.frames = try self.rows(
                "SELECT epoch, step, png, created_at FROM progress_frames WHERE model_id = $1 ORDER BY epoch",
                [.int(id)]
            ) {
                ModelRows.Frame(
                    epoch: try $0.int(0), step: try $0.int(1), png: try $0.bytes(2), createdAt: try $0.double(3))
            }
            // One checkpoint's blobs in memory at a time.
            try Registry.writeModel(rows, to: path) { checkpoint in
                try self.rows(
                    """
                    SELECT network, path, shape, elements, dtype, codec, raw_bytes, sha256, blob FROM tensors
                    WHERE checkpoint_id = $1 ORDER BY id
                    """, [.int(checkpoint)]
                ) { s in
                    ModelRows.Tensor(
                        network: try s.text(0), path: try s.text(1), shape: try s.text(2), elements: try s.int(3),
                        dtype: try s.text(4), codec: try s.text(5), rawBytes: try s.int(6), sha256: try s.text(7),
                        blob: try s.bytes(8))
                }
            }
        }
    }

    /// Copies a model from a registry file into this database in one transaction, with the
    /// SQLite import's checks on the file (Registry.readModel) and every tensor decoded against
    /// its checksum before it commits: a flipped byte leaves the database as it was.
    @discardableResult
    public func `import`(from path: String, model: String?, as newName: String?) throws -> ModelInfo {
        let (source, tensors) = try Registry.readModel(from: path, model: model)
        let targetName = newName ?? source.name
        try ModelName.validate(targetName)
        return try atomically {
            if try first("SELECT 1 FROM models WHERE name = $1", [.text(targetName)], { _ in true }) != nil {
                throw RegistryError.importClash(targetName)
            }
            let a = source.architecture
            try checked(
                """
                INSERT INTO architectures (name, version, summary, conditional, kind) VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (name) DO NOTHING
                """, [.text(a.name), .int(a.version), .text(a.summary), .int(a.conditional ? 1 : 0), .text(a.kind)],
                invalid: "\(path): architecture \(a.name) has an unknown kind \"\(a.kind)\"")
            // Lineage is kept when the parent (by name) is already here.
            let parentID: PGValue =
                try source.parent.flatMap { parent in
                    try first("SELECT id FROM models WHERE name = $1", [.text(parent)]) { try $0.int64(0) }
                }.map { .int($0) } ?? .null
            guard ModelStatus(rawValue: source.status) != nil else {
                throw RegistryError.importRefused(path: path, reason: "unknown status \"\(source.status)\"")
            }
            let inserted = try first(
                """
                INSERT INTO models (name, architecture, dataset, hyperparameters, seed, status, error, created_at,
                    updated_at, description, parent_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id
                """,
                [
                    .text(targetName), .text(a.name), .text(source.dataset), .text(source.hyperparameters),
                    .int(source.seed), .text(source.status), .optionalText(source.error), .double(source.createdAt),
                    .double(source.updatedAt), .optionalText(source.description), parentID,
                ], { try $0.int64(0) })
            guard let modelID = inserted else {
                throw RegistryError.importRefused(path: path, reason: "the model row was not stored")
            }
            var checkpointMap: [Int64: Int64] = [:]
            var problems: [String] = []
            for c in source.checkpoints {
                guard
                    let new = try first(
                        """
                        INSERT INTO checkpoints (model_id, epoch, step, created_at, is_final, training_position, rng_state)
                        VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id
                        """,
                        [
                            .int(modelID), .int(c.epoch), .int(c.step), .double(c.createdAt), .int(c.isFinal ? 1 : 0),
                            .bytes(c.trainingPosition), .bytes(c.rngState),
                        ], { try $0.int64(0) })
                else { continue }
                checkpointMap[c.id] = new
                for t in try tensors(c.id) {
                    // Decoded against its checksum here, from the file's bytes, before the model commits.
                    let stored = CheckpointCodec.StoredTensor(
                        id: 0, network: t.network, path: t.path, shape: t.shape, dtype: t.dtype, codec: t.codec,
                        rawBytes: t.rawBytes, sha256: t.sha256)
                    if let problem = CheckpointCodec.problem(
                        stored, blob: t.blob, at: .init(model: targetName, epoch: c.epoch, step: c.step))
                    {
                        problems.append(problem)
                    }
                    try query(
                        """
                        INSERT INTO tensors (checkpoint_id, network, path, shape, elements, dtype, codec, raw_bytes, sha256, blob)
                        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                        """,
                        [
                            .int(new), .text(t.network), .text(t.path), .text(t.shape), .int(t.elements),
                            .text(t.dtype), .text(t.codec), .int(t.rawBytes), .text(t.sha256), .bytes(t.blob),
                        ])
                }
            }
            for m in source.metrics {
                try checked(
                    """
                    INSERT INTO metrics (model_id, checkpoint_id, name, value, sample_count, evaluator, details, created_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                    """,
                    [
                        .int(modelID), .optionalInt(m.checkpointID.flatMap { checkpointMap[$0] }), .text(m.name),
                        .double(m.value), .optionalInt(m.sampleCount), .optionalText(m.evaluator),
                        .optionalText(m.details), .double(m.createdAt),
                    ], invalid: "\(path): a metric's details are not JSON")
            }
            for l in source.log {
                try checked(
                    "INSERT INTO training_log (model_id, epoch, step, metrics, seconds) VALUES ($1, $2, $3, $4, $5)",
                    [.int(modelID), .int(l.epoch), .int(l.step), .text(l.metrics), .double(l.seconds)],
                    invalid: "\(path): a training-log row's figures are not JSON")
            }
            for f in source.frames {
                try query(
                    "INSERT INTO progress_frames (model_id, epoch, step, png, created_at) VALUES ($1, $2, $3, $4, $5)",
                    [.int(modelID), .int(f.epoch), .int(f.step), .bytes(f.png), .double(f.createdAt)])
            }
            for (alias, checkpoint) in source.aliases {
                guard let new = checkpointMap[checkpoint] else { continue }
                try query(
                    "INSERT INTO aliases (model_id, alias, checkpoint_id) VALUES ($1, $2, $3)",
                    [.int(modelID), .text(alias), .int(new)])
            }
            if let first = problems.first {
                let more = problems.count > 1 ? " (and \(problems.count - 1) more)" : ""
                throw RegistryError.importRefused(path: path, reason: first + more)
            }
            return try self.model(named: targetName)
        }
    }
}
