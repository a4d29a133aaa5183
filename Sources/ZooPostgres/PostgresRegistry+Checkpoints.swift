import Foundation
import PostgresNIO
@_spi(Backend) import ZooRegistry

/// Checkpoints: saved in one transaction, loaded strictly (CheckpointCodec holds the checks and
/// the decoding both backends share; this file only moves rows).
extension PostgresRegistry {
    /// Stores a checkpoint atomically: its tensors, training position and RNG state, log rows,
    /// progress frame, the `latest` alias and the model's updated_at commit together or not at
    /// all (a process killed meanwhile leaves nothing: the server rolls the transaction back).
    /// With `keepLatest`, the same transaction prunes the model to its newest checkpoints.
    @discardableResult
    public func saveCheckpoint(model name: String, _ record: CheckpointRecord, float16: Bool, keepLatest: Int?)
        throws -> Int64
    {
        // Encoded before the transaction: compression is the slow part.
        let (encoded, logMetrics) = try CheckpointCodec.encode(model: name, record, float16: float16)
        return try atomically {
            let modelID = try modelID(named: name)
            // A training that lost its lease's connection takes the lease again first.
            try leases[modelID]?.confirm()
            if try first(
                "SELECT 1 FROM checkpoints WHERE model_id = $1 AND step = $2", [.int(modelID), .int(record.step)],
                { _ in true }) != nil
            {
                throw RegistryError.checkpointExists(model: name, step: record.step)
            }
            let now = Self.now
            guard
                let checkpointID = try first(
                    """
                    INSERT INTO checkpoints (model_id, epoch, step, created_at, is_final, training_position, rng_state)
                    VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id
                    """,
                    [
                        .int(modelID), .int(record.epoch), .int(record.step), .double(now),
                        .int(record.isFinal ? 1 : 0), .bytes(record.trainingPosition), .bytes(record.rngState),
                    ], { try $0.int64(0) })
            else { throw RegistryError.invalidArgument("the checkpoint of \(name) was not stored") }
            for coded in encoded {
                try query(
                    """
                    INSERT INTO tensors (checkpoint_id, network, path, shape, elements, dtype, codec, raw_bytes, sha256, blob)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                    """,
                    [
                        .int(checkpointID), .text(coded.network), .text(coded.path), .text(coded.shape),
                        .int(coded.elements), .text(coded.dtype), .text(coded.codec), .int(coded.rawBytes),
                        .text(coded.sha256), .bytes(coded.blob),
                    ])
            }
            for (row, metrics) in zip(record.log, logMetrics) {
                try query(
                    "INSERT INTO training_log (model_id, epoch, step, metrics, seconds) VALUES ($1, $2, $3, $4, $5)",
                    [.int(modelID), .int(row.epoch), .int(row.step), .text(metrics), .double(row.seconds)])
            }
            if let frame = record.progressFrame {
                try insertProgressFrame(
                    modelID: modelID, ProgressFrame(epoch: record.epoch, step: record.step, png: frame), at: now)
            }
            try query(
                """
                INSERT INTO aliases (model_id, alias, checkpoint_id) VALUES ($1, 'latest', $2)
                ON CONFLICT (model_id, alias) DO UPDATE SET checkpoint_id = excluded.checkpoint_id
                """, [.int(modelID), .int(checkpointID)])
            try query("UPDATE models SET updated_at = $1 WHERE id = $2", [.double(now), .int(modelID)])
            if let keepLatest { try pruneCheckpoints(model: name, keepLatest: keepLatest) }
            return checkpointID
        }
    }

    public func checkpoints(of name: String) throws -> [CheckpointInfo] {
        try atomically {
            let modelID = try modelID(named: name)
            var aliases: [Int64: [String]] = [:]
            for (checkpoint, alias) in try rows(
                "SELECT checkpoint_id, alias FROM aliases WHERE model_id = $1 ORDER BY alias COLLATE \"C\"",
                [.int(modelID)], { (try $0.int64(0), try $0.text(1)) })
            {
                aliases[checkpoint, default: []].append(alias)
            }
            return try rows(
                """
                SELECT c.id, c.epoch, c.step, c.is_final, c.created_at, count(t.id),
                       coalesce(sum(CASE WHEN strpos(t.network, '#') = 0 THEN t.elements END), 0)::bigint,
                       coalesce(sum(octet_length(t.blob)), 0)::bigint, coalesce(sum(t.raw_bytes), 0)::bigint
                FROM checkpoints c LEFT JOIN tensors t ON t.checkpoint_id = c.id
                WHERE c.model_id = $1 GROUP BY c.id ORDER BY c.step
                """, [.int(modelID)]
            ) { s in
                CheckpointInfo(
                    id: try s.int64(0), epoch: try s.int(1), step: try s.int(2), isFinal: try s.bool(3),
                    createdAt: try s.date(4), tensorCount: try s.int(5), parameterCount: try s.int(6),
                    storedBytes: try s.int(7), rawBytes: try s.int(8), aliases: aliases[try s.int64(0)] ?? [])
            }
        }
    }

    /// Resolves a selector to (checkpoint id, epoch, step) within one model.
    func resolve(_ selector: CheckpointSelector, modelID: Int64, model name: String) throws -> (
        id: Int64, epoch: Int, step: Int
    ) {
        let columns = "SELECT c.id, c.epoch, c.step FROM checkpoints c"
        let map: (PostgresRandomAccessRow) throws -> (Int64, Int, Int) = {
            (try $0.int64(0), try $0.int(1), try $0.int(2))
        }
        let row: (Int64, Int, Int)?
        switch selector {
        case .latest:
            row =
                try first(
                    "\(columns) JOIN aliases a ON a.checkpoint_id = c.id WHERE a.model_id = $1 AND a.alias = 'latest'",
                    [.int(modelID)], map)
                ?? first("\(columns) WHERE c.model_id = $1 ORDER BY c.step DESC LIMIT 1", [.int(modelID)], map)
        case let .alias(alias):
            row = try first(
                "\(columns) JOIN aliases a ON a.checkpoint_id = c.id WHERE a.model_id = $1 AND a.alias = $2",
                [.int(modelID), .text(alias)], map)
        case let .id(id):
            row = try first("\(columns) WHERE c.model_id = $1 AND c.id = $2", [.int(modelID), .int(id)], map)
        case let .epoch(epoch):
            row = try first(
                "\(columns) WHERE c.model_id = $1 AND c.epoch = $2 ORDER BY c.step DESC LIMIT 1",
                [.int(modelID), .int(epoch)], map)
        }
        guard let row else { throw RegistryError.checkpointNotFound(model: name, selector: selector.description) }
        return (row.0, row.1, row.2)
    }

    public func loadCheckpoint(model name: String, checkpoint selector: CheckpointSelector, networks: Set<String>?)
        throws -> CheckpointRecord
    {
        try atomically {
            let (modelID, target, header) = try checkpointHeader(model: name, selector)
            let (all, sizes) = try storedTensors(checkpoint: target.id)
            let stored = all.filter { networks?.contains($0.network) ?? true }
            let tensors = try decode(stored, sizes: sizes, into: [:], model: name, at: target)
            return CheckpointRecord(
                epoch: target.epoch, step: target.step, isFinal: header.isFinal,
                trainingPosition: header.trainingPosition, rngState: header.rngState, tensors: tensors,
                log: try log(modelID: modelID, through: target.step))
        }
    }

    /// Loads into live tensors: `plan` sees the header, every stored row is checked against it
    /// (CheckpointCodec.match), and only then are the blobs fetched and decoded into place.
    public func loadCheckpoint(
        model name: String, checkpoint selector: CheckpointSelector,
        plan makePlan: (CheckpointHeader) throws -> LoadPlan
    ) throws -> CheckpointRecord {
        try atomically {
            let (modelID, target, header) = try checkpointHeader(model: name, selector)
            let plan = try makePlan(header)
            let (stored, sizes) = try storedTensors(checkpoint: target.id)
            let (wanted, destinations) = try CheckpointCodec.match(
                stored, plan: plan, at: .init(model: name, epoch: target.epoch, step: target.step))
            let tensors = try decode(wanted, sizes: sizes, into: destinations, model: name, at: target)
            return CheckpointRecord(
                epoch: target.epoch, step: target.step, isFinal: header.isFinal,
                trainingPosition: header.trainingPosition, rngState: header.rngState, tensors: tensors,
                log: try log(modelID: modelID, through: target.step))
        }
    }

    private func checkpointHeader(model name: String, _ selector: CheckpointSelector) throws
        -> (modelID: Int64, target: (id: Int64, epoch: Int, step: Int), header: CheckpointHeader)
    {
        let modelID = try modelID(named: name)
        let target = try resolve(selector, modelID: modelID, model: name)
        guard
            let header = try first(
                "SELECT is_final, training_position, rng_state FROM checkpoints WHERE id = $1", [.int(target.id)],
                {
                    CheckpointHeader(
                        epoch: target.epoch, step: target.step, isFinal: try $0.bool(0),
                        trainingPosition: try $0.bytes(1), rngState: try $0.bytes(2))
                })
        else { throw RegistryError.checkpointNotFound(model: name, selector: selector.description) }
        return (modelID, target, header)
    }

    /// The checkpoint's tensor rows without their blobs, in id order, and each blob's length.
    private func storedTensors(checkpoint id: Int64) throws -> ([CheckpointCodec.StoredTensor], sizes: [Int64: Int]) {
        let rows = try self.rows(
            """
            SELECT id, network, path, shape, dtype, codec, raw_bytes, sha256, octet_length(blob)
            FROM tensors WHERE checkpoint_id = $1 ORDER BY id
            """, [.int(id)]
        ) { s in
            (
                CheckpointCodec.StoredTensor(
                    id: try s.int64(0), network: try s.text(1), path: try s.text(2), shape: try s.text(3),
                    dtype: try s.text(4), codec: try s.text(5), rawBytes: try s.int(6), sha256: try s.text(7)),
                blobSize: try s.int(8)
            )
        }
        return (rows.map(\.0), Dictionary(rows.map { ($0.0.id, $0.blobSize) }, uniquingKeysWith: { a, _ in a }))
    }

    /// Fetches the rows' blobs (sizes checked first: a row whose blob cannot be its tensor is
    /// refused before the blob is fetched) and decodes them on the engine's threads.
    private func decode(
        _ stored: [CheckpointCodec.StoredTensor], sizes: [Int64: Int],
        into destinations: [Int64: Registry.TensorDestination], model name: String,
        at target: (id: Int64, epoch: Int, step: Int)
    ) throws -> [TensorRecord] {
        let position = CheckpointCodec.Position(model: name, epoch: target.epoch, step: target.step)
        for row in stored { try CheckpointCodec.checkSizes(row, blobSize: sizes[row.id] ?? 0, at: position) }
        var blobs: [Int64: Data] = [:]
        for row in try query(
            "SELECT id, blob FROM tensors WHERE id = ANY($1)", [.ints(stored.map(\.id))])
        {
            blobs[try row.int64(0)] = try row.bytes(1)
        }
        let fetched = blobs
        return try CheckpointCodec.decode(stored, into: destinations, at: position) { row in
            .inMemory(fetched[row.id] ?? Data())
        }
    }

    private func log(modelID: Int64, through step: Int) throws -> [TrainingLogRow] {
        try rows(
            "SELECT epoch, step, metrics, seconds FROM training_log WHERE model_id = $1 AND step <= $2 ORDER BY step, id",
            [.int(modelID), .int(step)]
        ) {
            CheckpointCodec.logRow(
                epoch: try $0.int(0), step: try $0.int(1), metrics: try $0.text(2), seconds: try $0.double(3))
        }
    }

    public func trainingLog(of name: String) throws -> [TrainingLogRow] {
        try atomically { try log(modelID: try modelID(named: name), through: Int.max) }
    }
}
