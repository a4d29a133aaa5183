import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One model's rows as a `.zoo` file (a one-model SQLite registry) holds them: what another
/// backend reads from an imported file and writes into an exported one. Checkpoint ids are the
/// source's; metrics and aliases refer to them.
@_spi(Backend) public struct ModelRows {
    public struct Architecture {
        public var name: String, version: Int, summary: String, conditional: Bool, kind: String
        public init(name: String, version: Int, summary: String, conditional: Bool, kind: String) {
            self.name = name; self.version = version; self.summary = summary; self.conditional = conditional
            self.kind = kind
        }
    }
    public struct Checkpoint {
        public var id: Int64, epoch: Int, step: Int, createdAt: Double, isFinal: Bool
        public var trainingPosition: Data, rngState: Data
        public init(
            id: Int64, epoch: Int, step: Int, createdAt: Double, isFinal: Bool, trainingPosition: Data, rngState: Data
        ) {
            self.id = id; self.epoch = epoch; self.step = step; self.createdAt = createdAt; self.isFinal = isFinal
            self.trainingPosition = trainingPosition; self.rngState = rngState
        }
    }
    public struct Tensor {
        public var network, path, shape: String, elements: Int, dtype, codec: String, rawBytes: Int
        public var sha256: String, blob: Data
        public init(
            network: String, path: String, shape: String, elements: Int, dtype: String, codec: String,
            rawBytes: Int, sha256: String, blob: Data
        ) {
            self.network = network; self.path = path; self.shape = shape; self.elements = elements
            self.dtype = dtype; self.codec = codec; self.rawBytes = rawBytes; self.sha256 = sha256; self.blob = blob
        }
    }
    public struct Metric {
        public var checkpointID: Int64?, name: String, value: Double, sampleCount: Int64?
        public var evaluator: String?, details: String?, createdAt: Double
        public init(
            checkpointID: Int64?, name: String, value: Double, sampleCount: Int64?, evaluator: String?,
            details: String?, createdAt: Double
        ) {
            self.checkpointID = checkpointID; self.name = name; self.value = value; self.sampleCount = sampleCount
            self.evaluator = evaluator; self.details = details; self.createdAt = createdAt
        }
    }
    public struct LogRow {
        public var epoch: Int, step: Int, metrics: String, seconds: Double
        public init(epoch: Int, step: Int, metrics: String, seconds: Double) {
            self.epoch = epoch; self.step = step; self.metrics = metrics; self.seconds = seconds
        }
    }
    public struct Frame {
        public var epoch: Int, step: Int, png: Data, createdAt: Double
        public init(epoch: Int, step: Int, png: Data, createdAt: Double) {
            self.epoch = epoch; self.step = step; self.png = png; self.createdAt = createdAt
        }
    }

    public var architecture: Architecture
    public var name, dataset, hyperparameters: String
    /// The seed's 64 bits as stored (signed).
    public var seed: Int64
    public var status: String, error: String?
    public var createdAt, updatedAt: Double
    public var description: String?
    /// The parent's name; kept by an import only where a model of that name is there.
    public var parent: String?
    public var checkpoints: [Checkpoint] = []
    public var metrics: [Metric] = []
    public var log: [LogRow] = []
    public var aliases: [(alias: String, checkpointID: Int64)] = []
    public var frames: [Frame] = []

    public init(
        architecture: Architecture, name: String, dataset: String, hyperparameters: String, seed: Int64,
        status: String, error: String?, createdAt: Double, updatedAt: Double, description: String?, parent: String?
    ) {
        self.architecture = architecture; self.name = name; self.dataset = dataset
        self.hyperparameters = hyperparameters; self.seed = seed; self.status = status; self.error = error
        self.createdAt = createdAt; self.updatedAt = updatedAt; self.description = description; self.parent = parent
    }

    /// A stored blob may be at most this much larger than its raw bytes (zlib's worst case is
    /// 5 bytes per 16 KB block plus a header): a larger one is not the codec's, and is refused
    /// before it is read into memory.
    public static func blobLimit(rawBytes: Int) -> Int { rawBytes + rawBytes / 1_000 + 4_096 }
}

extension Registry {
    /// Reads one model of a registry file for another backend's import, with every check a
    /// SQLite import makes (`openImportSource`, the per-table row limits) and bounds on every
    /// blob before it is read. The header rows come at once; `tensors` reads one checkpoint's
    /// tensors (by the source's checkpoint id) when asked, so a large model is never in memory
    /// whole. The returned closure keeps the file open.
    @_spi(Backend) public static func readModel(from path: String, model: String?) throws -> (
        rows: ModelRows, tensors: (Int64) throws -> [ModelRows.Tensor]
    ) {
        let (source, name) = try openImportSource(path: path, model: model)
        let db = source.db
        let version = source.schemaVersion
        guard
            let id = try db.first("SELECT id FROM models WHERE name = ?", [.text(name)], { $0.int64(0) })
        else { throw RegistryError.modelNotFound(name, suggestions: []) }
        try source.checkImportSize(sourceID: id, path: path, withFrames: version >= 2, schema: "main")
        guard
            var rows = try db.first(
                """
                SELECT a.name, a.version, a.summary, a.conditional, a.kind, m.name, m.dataset, m.hyperparameters,
                    m.seed, m.status, m.error, m.created_at, m.updated_at, m.description, p.name
                FROM models m JOIN architectures a ON a.name = m.architecture LEFT JOIN models p ON p.id = m.parent_id
                WHERE m.id = ?
                """, [.int(id)],
                { s in
                    ModelRows(
                        architecture: .init(
                            name: s.text(0), version: s.int(1), summary: s.text(2), conditional: s.bool(3),
                            kind: s.text(4)),
                        name: s.text(5), dataset: s.text(6), hyperparameters: s.text(7), seed: s.int64(8),
                        status: s.text(9), error: s.optionalText(10), createdAt: s.double(11),
                        updatedAt: s.double(12), description: s.optionalText(13), parent: s.optionalText(14))
                })
        else {
            throw RegistryError.notARegistry(path: path, reason: "model \(name) has no architecture row")
        }
        let position = version >= 3 ? "training_position" : "optimizer_state"
        // Positions and RNG states are small; a huge one is not zoo's and is not read.
        let checkpointSizes = try db.query(
            "SELECT id, length(\(position)) + length(rng_state) FROM checkpoints WHERE model_id = ?", [.int(id)]
        ) { ($0.int64(0), $0.int(1)) }
        if let (checkpoint, bytes) = checkpointSizes.first(where: { $0.1 > 16 << 20 }) {
            throw RegistryError.importRefused(
                path: path, reason: "checkpoint \(checkpoint) holds \(bytes) bytes of training state")
        }
        rows.checkpoints = try db.query(
            """
            SELECT id, epoch, step, created_at, is_final, \(position), rng_state FROM checkpoints
            WHERE model_id = ? ORDER BY id
            """, [.int(id)]
        ) { s in
            ModelRows.Checkpoint(
                id: s.int64(0), epoch: s.int(1), step: s.int(2), createdAt: s.double(3), isFinal: s.bool(4),
                trainingPosition: s.blob(5), rngState: s.blob(6))
        }
        rows.metrics = try db.query(
            """
            SELECT checkpoint_id, name, value, sample_count, evaluator, details, created_at FROM metrics
            WHERE model_id = ? ORDER BY id
            """, [.int(id)]
        ) { s in
            ModelRows.Metric(
                checkpointID: s.optionalInt64(0), name: s.text(1), value: s.double(2), sampleCount: s.optionalInt64(3),
                evaluator: s.optionalText(4), details: s.optionalText(5), createdAt: s.double(6))
        }
        let logMetrics =
            version >= 3 ? "metrics" : Registry.legacyLogMetrics(table: "training_log", schema: "main")
        rows.log = try db.query(
            "SELECT epoch, step, \(logMetrics), seconds FROM training_log WHERE model_id = ? ORDER BY id", [.int(id)]
        ) { ModelRows.LogRow(epoch: $0.int(0), step: $0.int(1), metrics: $0.text(2), seconds: $0.double(3)) }
        rows.aliases = try db.query(
            "SELECT alias, checkpoint_id FROM aliases WHERE model_id = ? ORDER BY alias", [.int(id)]
        ) { (alias: $0.text(0), checkpointID: $0.int64(1)) }
        if version >= 2 {
            let total = try db.scalarInt(
                "SELECT coalesce(sum(length(png)), 0) FROM progress_frames WHERE model_id = ?", [.int(id)])
            let largest = try db.scalarInt(
                "SELECT coalesce(max(length(png)), 0) FROM progress_frames WHERE model_id = ?", [.int(id)])
            guard total <= maximumFramesBytes, largest <= maximumFrameBytes else {
                throw RegistryError.importRefused(
                    path: path, reason: "its progress frames hold \(total) bytes (largest \(largest))")
            }
            rows.frames = try db.query(
                "SELECT epoch, step, png, created_at FROM progress_frames WHERE model_id = ? ORDER BY epoch",
                [.int(id)]
            ) { ModelRows.Frame(epoch: $0.int(0), step: $0.int(1), png: $0.blob(2), createdAt: $0.double(3)) }
        }
        let tensors: (Int64) throws -> [ModelRows.Tensor] = { checkpoint in
            // Sizes first, checked against the row's own claims; then the blobs.
            let heads = try db.query(
                """
                SELECT id, network, path, raw_bytes, length(blob) FROM tensors t WHERE checkpoint_id = ? ORDER BY id
                """, [.int(checkpoint)]
            ) { (id: $0.int64(0), network: $0.text(1), path: $0.text(2), raw: $0.int(3), blob: $0.int(4)) }
            for head in heads
            where head.raw < 0 || head.raw > WeightCodec.maximumElements * 4
                || head.blob > ModelRows.blobLimit(rawBytes: head.raw)
            {
                throw RegistryError.importRefused(
                    path: path,
                    reason: "tensor \(head.network)/\(head.path) claims \(head.raw) bytes in a \(head.blob)-byte blob")
            }
            return try db.query(
                """
                SELECT network, path, shape, elements, dtype, codec, raw_bytes, sha256, blob FROM tensors
                WHERE checkpoint_id = ? ORDER BY id
                """, [.int(checkpoint)]
            ) { s in
                ModelRows.Tensor(
                    network: s.text(0), path: s.text(1), shape: s.text(2), elements: s.int(3), dtype: s.text(4),
                    codec: s.text(5), rawBytes: s.int(6), sha256: s.text(7), blob: s.blob(8))
            }
        }
        return (rows, tensors)
    }

    /// Writes one model's rows from another backend as a standalone registry file at `path`
    /// (what `export` writes): in a file beside it, renamed into place when complete, so an
    /// interrupted export leaves nothing at `path`. Ids are kept (the file is fresh).
    @_spi(Backend) public static func writeModel(
        _ rows: ModelRows, to path: String, tensors: (Int64) throws -> [ModelRows.Tensor]
    ) throws {
        guard !FileManager.default.fileExists(atPath: path) else { throw RegistryError.fileExists(path: path) }
        try writeRenamedIntoPlace(path) { part in
            do {
                let target = try Registry(path: part)
                let db = target.db
                try db.transaction {
                    let a = rows.architecture
                    try db.run(
                        "INSERT INTO architectures (name, version, summary, conditional, kind) VALUES (?, ?, ?, ?, ?)",
                        [.text(a.name), .int(a.version), .text(a.summary), .int(a.conditional ? 1 : 0), .text(a.kind)])
                    try db.run(
                        """
                        INSERT INTO models (id, name, architecture, dataset, hyperparameters, seed, status, error,
                            created_at, updated_at, description, parent_id) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
                        """,
                        [
                            .text(rows.name), .text(a.name), .text(rows.dataset), .text(rows.hyperparameters),
                            .int(rows.seed), .text(rows.status), .optionalText(rows.error), .double(rows.createdAt),
                            .double(rows.updatedAt), .optionalText(rows.description),
                        ])
                    for c in rows.checkpoints {
                        try db.run(
                            """
                            INSERT INTO checkpoints (id, model_id, epoch, step, created_at, is_final, training_position, rng_state)
                            VALUES (?, 1, ?, ?, ?, ?, ?, ?)
                            """,
                            [
                                .int(c.id), .int(c.epoch), .int(c.step), .double(c.createdAt), .int(c.isFinal ? 1 : 0),
                                .blob(c.trainingPosition), .blob(c.rngState),
                            ])
                        let insert = try db.prepare(
                            """
                            INSERT INTO tensors (checkpoint_id, network, path, shape, elements, dtype, codec, raw_bytes, sha256, blob)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                            """)
                        for t in try tensors(c.id) {
                            try insert.bind([
                                .int(c.id), .text(t.network), .text(t.path), .text(t.shape), .int(t.elements),
                                .text(t.dtype), .text(t.codec), .int(t.rawBytes), .text(t.sha256), .blob(t.blob),
                            ])
                            while try insert.step() {}
                        }
                    }
                    for m in rows.metrics {
                        try db.run(
                            """
                            INSERT INTO metrics (model_id, checkpoint_id, name, value, sample_count, evaluator, details, created_at)
                            VALUES (1, ?, ?, ?, ?, ?, ?, ?)
                            """,
                            [
                                m.checkpointID.map { .int($0) } ?? .null, .text(m.name), .double(m.value),
                                m.sampleCount.map { .int($0) } ?? .null, .optionalText(m.evaluator),
                                .optionalText(m.details), .double(m.createdAt),
                            ])
                    }
                    for l in rows.log {
                        try db.run(
                            "INSERT INTO training_log (model_id, epoch, step, metrics, seconds) VALUES (1, ?, ?, ?, ?)",
                            [.int(l.epoch), .int(l.step), .text(l.metrics), .double(l.seconds)])
                    }
                    for (alias, checkpoint) in rows.aliases {
                        try db.run(
                            "INSERT INTO aliases (model_id, alias, checkpoint_id) VALUES (1, ?, ?)",
                            [.text(alias), .int(checkpoint)])
                    }
                    for f in rows.frames {
                        try db.run(
                            "INSERT INTO progress_frames (model_id, epoch, step, png, created_at) VALUES (1, ?, ?, ?, ?)",
                            [.int(f.epoch), .int(f.step), .blob(f.png), .double(f.createdAt)])
                    }
                }
            }
        }
    }
}
