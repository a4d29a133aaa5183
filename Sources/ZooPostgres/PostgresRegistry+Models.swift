import Foundation
import PostgresNIO
@_spi(Backend) import ZooRegistry

/// Architectures, models, listing, aliases, metrics and progress frames: the SQLite registry's
/// statements (Registry.swift, Registry+Listing/Metrics/Progress) in PostgreSQL's dialect.
extension PostgresRegistry {
    public func batch<T>(_ body: () throws -> T) throws -> T { try atomically(body) }

    public func registerArchitecture(name: String, version: Int, summary: String, conditional: Bool, kind: String)
        throws
    {
        try atomically {
            try checked(
                """
                INSERT INTO architectures (name, version, summary, conditional, kind) VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (name) DO UPDATE SET version = excluded.version, summary = excluded.summary,
                    conditional = excluded.conditional, kind = excluded.kind
                """, [.text(name), .int(version), .text(summary), .int(conditional ? 1 : 0), .text(kind)],
                invalid: "architecture \(name) has an unknown kind \"\(kind)\" (gan or classifier)")
        }
    }

    public func architectures() throws -> [(
        name: String, version: Int, summary: String, conditional: Bool, kind: String
    )] {
        try atomically {
            try rows("SELECT name, version, summary, conditional, kind FROM architectures ORDER BY name") {
                (
                    name: try $0.text(0), version: try $0.int(1), summary: try $0.text(2),
                    conditional: try $0.bool(3), kind: try $0.text(4)
                )
            }
        }
    }

    static let modelColumns = """
        m.id, m.name, m.architecture, m.dataset, m.hyperparameters, m.seed, m.status, m.error,
        m.created_at, m.updated_at, m.description, p.name
        """

    static func modelInfo(_ s: PostgresRandomAccessRow) throws -> ModelInfo {
        let statusText = try s.text(6)
        guard let status = ModelStatus(rawValue: statusText) else {
            throw RegistryError.invalidArgument(
                "model \"\(try s.text(1))\" has unknown status \"\(statusText)\"; run `zoo verify`")
        }
        return ModelInfo(
            id: try s.int64(0), name: try s.text(1), architecture: try s.text(2), dataset: try s.text(3),
            hyperparameters: try s.text(4), seed: UInt64(bitPattern: try s.int64(5)), status: status,
            error: try s.optionalText(7), createdAt: try s.date(8), updatedAt: try s.date(9),
            description: try s.optionalText(10), parent: try s.optionalText(11))
    }

    @discardableResult
    public func createModel(
        name: String, architecture: String, dataset: String, hyperparameters: String, seed: UInt64,
        description: String?, parent: String?
    ) throws -> ModelInfo {
        try ModelName.validate(name)
        return try atomically {
            guard try first("SELECT 1 FROM architectures WHERE name = $1", [.text(architecture)], { _ in true }) != nil
            else { throw RegistryError.architectureNotFound(architecture) }
            if try first("SELECT 1 FROM models WHERE name = $1", [.text(name)], { _ in true }) != nil {
                throw RegistryError.modelExists(name)
            }
            let parentID: PGValue = try parent.map { .int(try modelID(named: $0)) } ?? .null
            let now = Self.now
            do {
                try checked(
                    """
                    INSERT INTO models (name, architecture, dataset, hyperparameters, seed, status, created_at, updated_at, description, parent_id)
                    VALUES ($1, $2, $3, $4, $5, 'training', $6, $7, $8, $9)
                    """,
                    [
                        .text(name), .text(architecture), .text(dataset), .text(hyperparameters),
                        .int(Int64(bitPattern: seed)), .double(now), .double(now), .optionalText(description),
                        parentID,
                    ], invalid: "hyperparameters for \"\(name)\" are not valid JSON: \(hyperparameters)")
            } catch let error as PostgresRegistryError {
                // Another process created the name between the check and the insert.
                if case let .server(_, state, _, _) = error, state == ServerError.uniqueViolation {
                    throw RegistryError.modelExists(name)
                }
                throw error
            }
            return try model(named: name)
        }
    }

    public func model(named name: String) throws -> ModelInfo {
        try atomically {
            if let info = try first(
                "SELECT \(Self.modelColumns) FROM models m LEFT JOIN models p ON p.id = m.parent_id WHERE m.name = $1",
                [.text(name)], { try Self.modelInfo($0) })
            {
                return info
            }
            throw try notFound(name)
        }
    }

    func notFound(_ name: String) throws -> RegistryError {
        let names = try rows("SELECT name FROM models") { try $0.text(0) }
        return .modelNotFound(name, suggestions: closestNames(to: name, in: names))
    }

    func modelID(named name: String) throws -> Int64 {
        if let id = try first("SELECT id FROM models WHERE name = $1", [.text(name)], { try $0.int64(0) }) { return id }
        throw try notFound(name)
    }

    public func listModels(architecture: String?, dataset: String?, status: ModelStatus?, sort: ModelSort) throws
        -> [ModelSummary]
    {
        let order: String
        switch sort {
        case .name: order = "m.name"
        case .created: order = "m.created_at, m.name"
        case .updated: order = "m.updated_at DESC, m.name"
        }
        return try atomically {
            var summaries: [Int64: ModelSummary] = [:]
            var ids: [Int64] = []
            // Names sort byte-wise (COLLATE "C"), as SQLite's do, whatever the database's locale.
            let listed = try query(
                """
                WITH ck AS (
                    SELECT model_id, count(*) AS n, max(epoch) AS epochs, max(step) AS steps
                    FROM checkpoints GROUP BY model_id
                ),
                sizes AS (
                    SELECT c.model_id, sum(octet_length(t.blob))::bigint AS stored, sum(t.raw_bytes)::bigint AS raw
                    FROM tensors t JOIN checkpoints c ON c.id = t.checkpoint_id GROUP BY c.model_id
                ),
                params AS (
                    -- Networks named with a '#' (e.g. "generator#adam") hold optimizer state, not parameters.
                    SELECT c.model_id, sum(t.elements)::bigint AS p
                    FROM ck JOIN checkpoints c ON c.model_id = ck.model_id AND c.step = ck.steps
                    JOIN tensors t ON t.checkpoint_id = c.id AND strpos(t.network, '#') = 0 GROUP BY c.model_id
                )
                SELECT m.id, m.name, m.architecture, m.dataset, m.status, m.created_at, m.updated_at, m.description,
                       coalesce(ck.n, 0), coalesce(ck.epochs, 0), coalesce(ck.steps, 0),
                       coalesce(params.p, 0), coalesce(sizes.stored, 0), coalesce(sizes.raw, 0)
                FROM models m
                LEFT JOIN ck ON ck.model_id = m.id
                LEFT JOIN sizes ON sizes.model_id = m.id
                LEFT JOIN params ON params.model_id = m.id
                WHERE ($1::text IS NULL OR m.architecture = $1) AND ($2::text IS NULL OR m.dataset = $2)
                    AND ($3::text IS NULL OR m.status = $3)
                ORDER BY \(order.replacingOccurrences(of: "m.name", with: "m.name COLLATE \"C\""))
                """,
                [.optionalText(architecture), .optionalText(dataset), .optionalText(status?.rawValue)])
            for s in listed {
                let id = try s.int64(0)
                ids.append(id)
                summaries[id] = ModelSummary(
                    name: try s.text(1), architecture: try s.text(2), dataset: try s.text(3),
                    status: ModelStatus(rawValue: try s.text(4)) ?? .failed,
                    createdAt: try s.date(5), updatedAt: try s.date(6), description: try s.optionalText(7),
                    checkpointCount: try s.int(8), epochs: try s.int(9), steps: try s.int(10),
                    parameterCount: try s.int(11), storedBytes: try s.int(12), rawBytes: try s.int(13), metrics: [:])
            }
            // Rows come oldest first, so the last value seen per name wins.
            for row in try query("SELECT model_id, name, value FROM metrics ORDER BY model_id, name, created_at, id") {
                summaries[try row.int64(0)]?.metrics[try row.text(1)] = try row.double(2)
            }
            return ids.compactMap { summaries[$0] }
        }
    }

    public func renameModel(_ name: String, to newName: String) throws {
        try ModelName.validate(newName)
        try atomically {
            try refuseIfBeingTrained(name)
            let id = try modelID(named: name)
            if try first("SELECT 1 FROM models WHERE name = $1", [.text(newName)], { _ in true }) != nil {
                throw RegistryError.modelExists(newName)
            }
            try query(
                "UPDATE models SET name = $1, updated_at = $2 WHERE id = $3",
                [.text(newName), .double(Self.now), .int(id)])
        }
    }

    /// Removes the model and, through ON DELETE CASCADE, everything it owns.
    public func deleteModel(_ name: String) throws {
        try atomically {
            try refuseIfBeingTrained(name)
            try query("DELETE FROM models WHERE id = $1", [.int(try modelID(named: name))])
        }
    }

    public func setStatus(_ name: String, status: ModelStatus, error: String?) throws {
        try atomically {
            let id = try modelID(named: name)
            try query(
                "UPDATE models SET status = $1, error = $2, updated_at = $3 WHERE id = $4",
                [.text(status.rawValue), .optionalText(error), .double(Self.now), .int(id)])
        }
    }

    public func updateHyperparameters(_ name: String, json: String) throws {
        try atomically {
            let id = try modelID(named: name)
            try checked(
                "UPDATE models SET hyperparameters = $1, updated_at = $2 WHERE id = $3",
                [.text(json), .double(Self.now), .int(id)],
                invalid: "hyperparameters for \"\(name)\" are not valid JSON: \(json)")
        }
    }

    public func updateDescription(_ name: String, description: String?) throws {
        try atomically {
            let id = try modelID(named: name)
            try query(
                "UPDATE models SET description = $1, updated_at = $2 WHERE id = $3",
                [.optionalText(description), .double(Self.now), .int(id)])
        }
    }

    // MARK: Aliases and metrics

    public func setAlias(model name: String, alias: String, checkpoint selector: CheckpointSelector) throws {
        guard !alias.isEmpty, alias.count <= 64 else {
            throw RegistryError.invalidArgument("alias must be 1 to 64 characters")
        }
        try atomically {
            let modelID = try modelID(named: name)
            let target = try resolve(selector, modelID: modelID, model: name)
            try query(
                """
                INSERT INTO aliases (model_id, alias, checkpoint_id) VALUES ($1, $2, $3)
                ON CONFLICT (model_id, alias) DO UPDATE SET checkpoint_id = excluded.checkpoint_id
                """, [.int(modelID), .text(alias), .int(target.id)])
        }
    }

    public func aliases(of name: String) throws -> [AliasInfo] {
        try atomically {
            let modelID = try modelID(named: name)
            return try rows(
                """
                SELECT a.alias, c.id, c.epoch, c.step FROM aliases a JOIN checkpoints c ON c.id = a.checkpoint_id
                WHERE a.model_id = $1 ORDER BY a.alias COLLATE "C"
                """, [.int(modelID)]
            ) {
                AliasInfo(
                    alias: try $0.text(0), checkpointID: try $0.int64(1), epoch: try $0.int(2), step: try $0.int(3))
            }
        }
    }

    @discardableResult
    public func recordMetric(
        model name: String, checkpoint: CheckpointSelector?, name metric: String, value: Double,
        sampleCount: Int?, evaluator: String?, details: String?
    ) throws -> Int64 {
        guard !metric.isEmpty else { throw RegistryError.invalidArgument("metric name must not be empty") }
        return try atomically {
            let modelID = try modelID(named: name)
            let checkpointID: PGValue =
                try checkpoint.map { .int(try resolve($0, modelID: modelID, model: name).id) } ?? .null
            try checked(
                """
                INSERT INTO metrics (model_id, checkpoint_id, name, value, sample_count, evaluator, details, created_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                """,
                [
                    .int(modelID), checkpointID, .text(metric), .double(value),
                    sampleCount.map { .int($0) } ?? .null, .optionalText(evaluator), .optionalText(details),
                    .double(Self.now),
                ], invalid: "metric details must be JSON text, got: \(details ?? "")")
            return try scalar("SELECT lastval()")
        }
    }

    public func metrics(of name: String) throws -> [MetricRow] {
        try atomically {
            let modelID = try modelID(named: name)
            return try rows(
                """
                SELECT id, checkpoint_id, name, value, sample_count, evaluator, details, created_at
                FROM metrics WHERE model_id = $1 ORDER BY created_at, id
                """, [.int(modelID)]
            ) { s in
                MetricRow(
                    id: try s.int64(0), checkpointID: try s.optionalInt64(1), name: try s.text(2),
                    value: try s.double(3), sampleCount: try s.optionalInt64(4).map { Int($0) },
                    evaluator: try s.optionalText(5), details: try s.optionalText(6), createdAt: try s.date(7))
            }
        }
    }

    // MARK: Progress frames

    func insertProgressFrame(modelID: Int64, _ frame: ProgressFrame, at time: Double) throws {
        guard frame.epoch >= 1, frame.step >= 0 else {
            throw RegistryError.invalidArgument(
                "a progress frame needs epoch ≥ 1 and step ≥ 0 (got \(frame.epoch), \(frame.step))")
        }
        guard !frame.png.isEmpty, frame.png.count <= Registry.maximumFrameBytes else {
            throw RegistryError.invalidArgument(
                "a progress frame must hold 1 to \(Registry.maximumFrameBytes) bytes (got \(frame.png.count))")
        }
        // A resumed epoch that is redrawn replaces its frame: one frame per epoch.
        try query(
            """
            INSERT INTO progress_frames (model_id, epoch, step, png, created_at) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (model_id, epoch) DO UPDATE SET step = excluded.step, png = excluded.png, created_at = excluded.created_at
            """, [.int(modelID), .int(frame.epoch), .int(frame.step), .bytes(frame.png), .double(time)])
    }

    public func saveProgressFrame(model name: String, _ frame: ProgressFrame) throws {
        try atomically { try insertProgressFrame(modelID: try modelID(named: name), frame, at: Self.now) }
    }

    public func progressFrameCount(of name: String) throws -> Int {
        try atomically {
            Int(
                try scalar("SELECT count(*) FROM progress_frames WHERE model_id = $1", [.int(try modelID(named: name))])
            )
        }
    }

    /// The frames in epoch order; `epoch` picks one. Sizes are read first: an oversized row
    /// is refused, not fetched, and `byteLimit` caps the frames' bytes together.
    public func progressFrames(of name: String, epoch: Int?, byteLimit: Int) throws -> [ProgressFrame] {
        try atomically {
            let id = try modelID(named: name)
            let limit = Registry.maximumFrames
            let sizes = try rows(
                """
                SELECT epoch, step, octet_length(png) FROM progress_frames
                WHERE model_id = $1 AND ($2::bigint IS NULL OR epoch = $2) ORDER BY epoch LIMIT \(limit + 1)
                """, [.int(id), epoch.map { .int($0) } ?? .null]
            ) { (epoch: try $0.int(0), step: try $0.int(1), bytes: try $0.int(2)) }
            guard sizes.count <= limit else {
                throw RegistryError.invalidArgument(
                    "model \(name) has more than \(limit) progress frames; the database is not one zoo wrote")
            }
            let total = sizes.reduce(0) { $0 + $1.bytes }
            guard total <= byteLimit else {
                throw RegistryError.invalidArgument(
                    "the progress frames of \(name) hold \(total) bytes, more than the \(byteLimit) zoo reads")
            }
            if let bad = sizes.first(where: { $0.bytes <= 0 || $0.bytes > Registry.maximumFrameBytes }) {
                throw RegistryError.invalidArgument(
                    "progress frame of epoch \(bad.epoch) of \(name) is \(bad.bytes) bytes "
                        + "(at most \(Registry.maximumFrameBytes)); the database is damaged")
            }
            return try rows(
                """
                SELECT epoch, step, png FROM progress_frames WHERE model_id = $1 AND ($2::bigint IS NULL OR epoch = $2)
                ORDER BY epoch LIMIT \(limit)
                """, [.int(id), epoch.map { .int($0) } ?? .null]
            ) { ProgressFrame(epoch: try $0.int(0), step: try $0.int(1), png: try $0.bytes(2)) }
        }
    }
}
