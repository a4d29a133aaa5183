import Foundation
import ZooThreadPool

extension Registry {
    /// Stores a checkpoint atomically: every tensor, the optimizer and RNG
    /// state, the new training-log rows, the `latest` alias and the model's
    /// updated_at commit together or not at all. With `keepLatest`, the same transaction
    /// prunes the model to its newest `keepLatest` checkpoints (`pruneCheckpoints`). Returns
    /// the checkpoint id.
    @discardableResult
    public func saveCheckpoint(model name: String, _ record: CheckpointRecord, float16: Bool, keepLatest: Int?)
        throws -> Int64
    {
        // Encode before taking the write lock: compression is the slow part and readers/other
        // writers should not wait for it.
        let (encoded, logMetrics) = try CheckpointCodec.encode(model: name, record, float16: float16)
        return try db.transaction {
            let modelID = try modelID(named: name)
            if try db.first(
                "SELECT 1 FROM checkpoints WHERE model_id = ? AND step = ?", [.int(modelID), .int(record.step)],
                { _ in true }) != nil
            {
                throw RegistryError.checkpointExists(model: name, step: record.step)
            }
            let now = Registry.now
            try db.run(
                """
                INSERT INTO checkpoints (model_id, epoch, step, created_at, is_final, training_position, rng_state)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    .int(modelID), .int(record.epoch), .int(record.step), .double(now), .int(record.isFinal ? 1 : 0),
                    .blob(record.trainingPosition), .blob(record.rngState),
                ])
            let checkpointID = db.lastInsertRowID
            let insertTensor = try db.prepare(
                """
                INSERT INTO tensors (checkpoint_id, network, path, shape, elements, dtype, codec, raw_bytes, sha256, blob)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for coded in encoded {
                try insertTensor.bind([
                    .int(checkpointID), .text(coded.network), .text(coded.path), .text(coded.shape),
                    .int(coded.elements), .text(coded.dtype), .text(coded.codec),
                    .int(coded.rawBytes), .text(coded.sha256), .blob(coded.blob),
                ])
                while try insertTensor.step() {}
            }
            let insertLog = try db.prepare(
                "INSERT INTO training_log (model_id, epoch, step, metrics, seconds) VALUES (?, ?, ?, ?, ?)")
            for (row, metrics) in zip(record.log, logMetrics) {
                try insertLog.bind([
                    .int(modelID), .int(row.epoch), .int(row.step), .text(metrics), .double(row.seconds),
                ])
                while try insertLog.step() {}
            }
            if let frame = record.progressFrame {
                try insertProgressFrame(
                    modelID: modelID, ProgressFrame(epoch: record.epoch, step: record.step, png: frame), at: now)
            }
            try db.run(
                """
                INSERT INTO aliases (model_id, alias, checkpoint_id) VALUES (?, 'latest', ?)
                ON CONFLICT (model_id, alias) DO UPDATE SET checkpoint_id = excluded.checkpoint_id
                """, [.int(modelID), .int(checkpointID)])
            try db.run("UPDATE models SET updated_at = ? WHERE id = ?", [.double(now), .int(modelID)])
            if let keepLatest { try pruneCheckpoints(model: name, keepLatest: keepLatest) }
            return checkpointID
        }
    }

    public func checkpoints(of name: String) throws -> [CheckpointInfo] {
        try db.read {
            let modelID = try modelID(named: name)
            var aliases: [Int64: [String]] = [:]
            for (checkpoint, alias) in try db.query(
                "SELECT checkpoint_id, alias FROM aliases WHERE model_id = ? ORDER BY alias",
                [.int(modelID)], { ($0.int64(0), $0.text(1)) })
            {
                aliases[checkpoint, default: []].append(alias)
            }
            return try db.query(
                """
                SELECT c.id, c.epoch, c.step, c.is_final, c.created_at, count(t.id),
                       coalesce(sum(CASE WHEN instr(t.network, '#') = 0 THEN t.elements END), 0),
                       coalesce(sum(length(t.blob)), 0), coalesce(sum(t.raw_bytes), 0)
                FROM checkpoints c LEFT JOIN tensors t ON t.checkpoint_id = c.id
                WHERE c.model_id = ? GROUP BY c.id ORDER BY c.step
                """, [.int(modelID)]
            ) { s in
                CheckpointInfo(
                    id: s.int64(0), epoch: s.int(1), step: s.int(2), isFinal: s.bool(3), createdAt: s.date(4),
                    tensorCount: s.int(5), parameterCount: s.int(6), storedBytes: s.int(7), rawBytes: s.int(8),
                    aliases: aliases[s.int64(0)] ?? [])
            }
        }
    }

    /// Resolves a selector to (checkpoint id, epoch, step) within one model.
    func resolve(_ selector: CheckpointSelector, modelID: Int64, model name: String) throws -> (
        id: Int64, epoch: Int, step: Int
    ) {
        let columns = "SELECT c.id, c.epoch, c.step FROM checkpoints c"
        let row: (Int64, Int, Int)?
        let map: (Statement) -> (Int64, Int, Int) = { ($0.int64(0), $0.int(1), $0.int(2)) }
        switch selector {
        case .latest:
            row =
                try db.first(
                    "\(columns) JOIN aliases a ON a.checkpoint_id = c.id WHERE a.model_id = ? AND a.alias = 'latest'",
                    [.int(modelID)], map)
                ?? db.first("\(columns) WHERE c.model_id = ? ORDER BY c.step DESC LIMIT 1", [.int(modelID)], map)
        case let .alias(alias):
            row = try db.first(
                "\(columns) JOIN aliases a ON a.checkpoint_id = c.id WHERE a.model_id = ? AND a.alias = ?",
                [.int(modelID), .text(alias)], map)
        case let .id(id):
            row = try db.first("\(columns) WHERE c.model_id = ? AND c.id = ?", [.int(modelID), .int(id)], map)
        case let .epoch(epoch):
            row = try db.first(
                "\(columns) WHERE c.model_id = ? AND c.epoch = ? ORDER BY c.step DESC LIMIT 1",
                [.int(modelID), .int(epoch)], map)
        }
        guard let row else { throw RegistryError.checkpointNotFound(model: name, selector: selector.description) }
        return (row.0, row.1, row.2)
    }

    /// Loads and verifies a checkpoint as records: every tensor's size and checksum is
    /// checked, so a returned record is exactly what was saved. `networks` limits the
    /// tensors read. For copying and checking checkpoints; a model being rebuilt loads
    /// with a plan (below), which validates before it decodes.
    public func loadCheckpoint(
        model name: String, checkpoint selector: CheckpointSelector = .latest,
        networks: Set<String>? = nil
    ) throws -> CheckpointRecord {
        try db.read {
            let (modelID, target, header) = try checkpointHeader(model: name, selector)
            let stored = try storedTensors(checkpoint: target.id).filter { networks?.contains($0.network) ?? true }
            let tensors = try decode(stored, into: [:], model: name, at: target)
            return CheckpointRecord(
                epoch: target.epoch, step: target.step, isFinal: header.isFinal,
                trainingPosition: header.trainingPosition,
                rngState: header.rngState, tensors: tensors, log: try log(modelID: modelID, through: target.step))
        }
    }

    /// Loads a checkpoint into live tensors. `plan` sees the checkpoint's header first and
    /// says what must be stored; every stored row's network, path and shape are then checked
    /// against it, and only when all match is any tensor decoded, each straight into its
    /// destination (inflated, hashed and converted there). A mismatch or a bad row leaves
    /// every destination as it was.
    ///
    /// The returned record holds the planned tensors without values (they are in place), and
    /// the plan's `recordNetworks` (optimizer moments) with their values.
    public func loadCheckpoint(
        model name: String, checkpoint selector: CheckpointSelector = .latest,
        plan makePlan: (CheckpointHeader) throws -> LoadPlan
    ) throws -> CheckpointRecord {
        try db.read {
            let (modelID, target, header) = try checkpointHeader(model: name, selector)
            let plan = try makePlan(header)
            let (wanted, destinations) = try CheckpointCodec.match(
                try storedTensors(checkpoint: target.id), plan: plan,
                at: .init(model: name, epoch: target.epoch, step: target.step))
            let tensors = try decode(wanted, into: destinations, model: name, at: target)
            return CheckpointRecord(
                epoch: target.epoch, step: target.step, isFinal: header.isFinal,
                trainingPosition: header.trainingPosition,
                rngState: header.rngState, tensors: tensors, log: try log(modelID: modelID, through: target.step))
        }
    }

    private func checkpointHeader(model name: String, _ selector: CheckpointSelector) throws
        -> (modelID: Int64, target: (id: Int64, epoch: Int, step: Int), header: CheckpointHeader)
    {
        let modelID = try modelID(named: name)
        let target = try resolve(selector, modelID: modelID, model: name)
        guard
            let header = try db.first(
                "SELECT is_final, \(trainingPositionColumn), rng_state FROM checkpoints WHERE id = ?",
                [.int(target.id)],
                {
                    CheckpointHeader(
                        epoch: target.epoch, step: target.step, isFinal: $0.bool(0), trainingPosition: $0.blob(1),
                        rngState: $0.blob(2))
                })
        else {
            throw RegistryError.checkpointNotFound(model: name, selector: selector.description)
        }
        return (modelID, target, header)
    }

    /// The checkpoint's tensor rows without their blobs, in id order: sorting rows that carry
    /// their blobs made SQLite copy every blob of the checkpoint into a temporary b-tree (most
    /// of a cold `zoo generate`).
    private func storedTensors(checkpoint id: Int64) throws -> [StoredTensor] {
        try db.query(
            """
            SELECT id, network, path, shape, dtype, codec, raw_bytes, sha256 FROM tensors WHERE checkpoint_id = ? ORDER BY id
            """, [.int(id)]
        ) { s in
            StoredTensor(
                id: s.int64(0), network: s.text(1), path: s.text(2), shape: s.text(3), dtype: s.text(4),
                codec: s.text(5), rawBytes: s.int(6), sha256: s.text(7))
        }
    }

    private func log(modelID: Int64, through step: Int) throws -> [TrainingLogRow] {
        try db.query(
            "SELECT epoch, step, \(logMetricsColumn), seconds FROM training_log WHERE model_id = ? AND step <= ? ORDER BY step, id",
            [.int(modelID), .int(step)], Registry.logRow)
    }

    /// Each row's blob by primary key, pulled in chunks (CheckpointCodec decodes them on the
    /// engine's threads). The connection is not thread-safe (NOMUTEX), so every SQLite call
    /// takes `connection`.
    private func decode(
        _ stored: [StoredTensor], into destinations: [Int64: TensorDestination], model name: String,
        at target: (id: Int64, epoch: Int, step: Int)
    ) throws -> [TensorRecord] {
        let connection = NSLock()
        return try CheckpointCodec.decode(
            stored, into: destinations, at: .init(model: name, epoch: target.epoch, step: target.step)
        ) { t in
            let blob = try connection.withLock { try self.db.openBlob(table: "tensors", column: "blob", rowid: t.id) }
            return CheckpointCodec.OpenedBlob(
                size: blob.size,
                read: { buffer, offset in try connection.withLock { try blob.read(into: buffer, at: offset) } },
                close: { connection.withLock { blob.close() } })
        }
    }

    /// Where loadCheckpoint may decode one tensor: room for exactly its stored shape's
    /// element count. Unchecked-Sendable because workers write disjoint tensors.
    public struct TensorDestination: @unchecked Sendable {
        public let pointer: UnsafeMutablePointer<Float>
        public init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }

        /// Maps the whole pages of the first `count` floats without changing their contents
        /// (MADV_POPULATE_WRITE, Linux 5.14+; elsewhere a no-op), so a decode writing them
        /// takes no page faults. Safe while another thread writes the same memory.
        func prefault(count: Int) {
            #if os(Linux)
            let page = Int(sysconf(Int32(_SC_PAGESIZE)))
            let start = (Int(bitPattern: pointer) + page - 1) / page * page
            let end = (Int(bitPattern: pointer + count)) / page * page
            guard page > 0, end > start, let address = UnsafeMutableRawPointer(bitPattern: start) else { return }
            _ = madvise(address, end - start, 23 /* MADV_POPULATE_WRITE */)
            #endif
        }
    }

    typealias StoredTensor = CheckpointCodec.StoredTensor

    static func logRow(_ s: Statement) -> TrainingLogRow {
        TrainingLogRow(
            epoch: s.int(0), step: s.int(1), metrics: StepMetricsJSON.decode(s.text(2)), seconds: s.double(3))
    }

    /// Column names by schema version, for files opened read-only as they are (an import's
    /// source, the shipped zoo): version 3 renamed them.
    var trainingPositionColumn: String { schemaVersion >= 3 ? "training_position" : "optimizer_state" }
    /// The log's figures as a JSON object; before version 3, D's and G's loss columns (a
    /// classifier's loss and accuracy), named by the model's architecture kind.
    var logMetricsColumn: String {
        schemaVersion >= 3 ? "metrics" : Registry.legacyLogMetrics(table: "training_log", schema: "main")
    }

    /// Migration 3's expression (registry.sql), for reading older files as they are.
    static func legacyLogMetrics(table: String, schema: String) -> String {
        func number(_ column: String) -> String {
            "CASE WHEN abs(\(table).\(column)) <= 1.7976931348623157e308 THEN printf('%!.17g', \(table).\(column)) ELSE 'null' END"
        }
        return """
            (SELECT printf('{"%s":%s,"%s":%s}', CASE a.kind WHEN 'classifier' THEN 'loss' ELSE 'd_loss' END, \(number("d_loss")),
                           CASE a.kind WHEN 'classifier' THEN 'accuracy' ELSE 'g_loss' END, \(number("g_loss")))
             FROM \(schema).models m JOIN \(schema).architectures a ON a.name = m.architecture WHERE m.id = \(table).model_id)
            """
    }

    public func trainingLog(of name: String) throws -> [TrainingLogRow] {
        try db.read {
            let modelID = try modelID(named: name)
            return try db.query(
                "SELECT epoch, step, \(logMetricsColumn), seconds FROM training_log WHERE model_id = ? ORDER BY step, id",
                [.int(modelID)], Registry.logRow)
        }
    }
}

/// Shapes are stored as JSON arrays of non-negative integers, e.g. "[256,100]".
enum Shape {
    static func json(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ",") + "]" }

    static func parse(_ text: String) throws -> [Int] {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("["), trimmed.hasSuffix("]") else {
            throw WeightCodec.Failure(reason: "malformed shape \(text)")
        }
        let inner = trimmed.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
        if inner.isEmpty { return [] }
        return try inner.split(separator: ",").map { part in
            guard let n = Int(part.trimmingCharacters(in: .whitespaces)), n >= 0 else {
                throw WeightCodec.Failure(reason: "malformed shape \(text)")
            }
            return n
        }
    }

    static func elementCount(_ shape: [Int]) throws -> Int {
        var count = 1
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw WeightCodec.Failure(reason: "shape \(shape) is too large") }
            count = product
        }
        return count
    }
}
