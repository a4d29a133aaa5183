import Foundation

extension Registry {
    /// Points `alias` at a checkpoint of the model (moving it if it exists).
    public func setAlias(model name: String, alias: String, checkpoint selector: CheckpointSelector) throws {
        guard !alias.isEmpty, alias.count <= 64 else {
            throw RegistryError.invalidArgument("alias must be 1 to 64 characters")
        }
        try db.transaction {
            let modelID = try modelID(named: name)
            let target = try resolve(selector, modelID: modelID, model: name)
            try db.run(
                """
                INSERT INTO aliases (model_id, alias, checkpoint_id) VALUES (?, ?, ?)
                ON CONFLICT (model_id, alias) DO UPDATE SET checkpoint_id = excluded.checkpoint_id
                """, [.int(modelID), .text(alias), .int(target.id)])
        }
    }

    public func aliases(of name: String) throws -> [AliasInfo] {
        try db.read {
            let modelID = try modelID(named: name)
            return try db.query(
                """
                SELECT a.alias, c.id, c.epoch, c.step FROM aliases a JOIN checkpoints c ON c.id = a.checkpoint_id
                WHERE a.model_id = ? ORDER BY a.alias
                """, [.int(modelID)]
            ) { AliasInfo(alias: $0.text(0), checkpointID: $0.int64(1), epoch: $0.int(2), step: $0.int(3)) }
        }
    }

    /// Records one evaluation result with its provenance. `checkpoint` nil
    /// means "the model as a whole" (e.g. a metric not tied to weights).
    @discardableResult
    public func recordMetric(
        model name: String, checkpoint: CheckpointSelector? = .latest, name metric: String, value: Double,
        sampleCount: Int? = nil, evaluator: String? = nil, details: String? = nil
    ) throws -> Int64 {
        guard !metric.isEmpty else { throw RegistryError.invalidArgument("metric name must not be empty") }
        return try db.transaction {
            let modelID = try modelID(named: name)
            let checkpointID: SQLValue =
                try checkpoint.map { .int(try resolve($0, modelID: modelID, model: name).id) } ?? .null
            do {
                try db.run(
                    """
                    INSERT INTO metrics (model_id, checkpoint_id, name, value, sample_count, evaluator, details, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                    [
                        .int(modelID), checkpointID, .text(metric), .double(value),
                        sampleCount.map { .int($0) } ?? .null,
                        .optionalText(evaluator), .optionalText(details), .double(Registry.now),
                    ])
            } catch let RegistryError.sqlite(code, _, _) where code == 275 /* SQLITE_CONSTRAINT_CHECK */ {
                throw RegistryError.invalidArgument("metric details must be JSON text, got: \(details ?? "")")
            }
            return db.lastInsertRowID
        }
    }

    public func metrics(of name: String) throws -> [MetricRow] {
        try db.read {
            let modelID = try modelID(named: name)
            return try db.query(
                """
                SELECT id, checkpoint_id, name, value, sample_count, evaluator, details, created_at
                FROM metrics WHERE model_id = ? ORDER BY created_at, id
                """, [.int(modelID)]
            ) { s in
                MetricRow(
                    id: s.int64(0), checkpointID: s.optionalInt64(1), name: s.text(2), value: s.double(3),
                    sampleCount: s.optionalInt(4), evaluator: s.optionalText(5), details: s.optionalText(6),
                    createdAt: s.date(7))
            }
        }
    }
}
