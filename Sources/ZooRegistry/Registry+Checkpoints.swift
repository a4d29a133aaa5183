import Foundation
import ZooThreadPool

extension Registry {
    /// Stores a checkpoint atomically: every tensor, the optimizer and RNG
    /// state, the new training-log rows, the `latest` alias and the model's
    /// updated_at commit together or not at all. Returns the checkpoint id.
    @discardableResult
    public func saveCheckpoint(model name: String, _ record: CheckpointRecord, float16: Bool = false) throws -> Int64 {
        // Encode before taking the write lock: compression is the slow part
        // and readers/other writers should not wait for it.
        let dtype: WeightCodec.DType = float16 ? .float16 : .float32
        var seen = Set<String>()
        let encoded = try record.tensors.map { tensor -> WeightCodec.Encoded in
            func invalid(_ reason: String) -> RegistryError {
                .invalidTensor(model: name, network: tensor.network, path: tensor.path, reason: reason)
            }
            guard !tensor.network.isEmpty, !tensor.path.isEmpty else { throw invalid("network and path must not be empty") }
            guard seen.insert(tensor.network + "\u{0}" + tensor.path).inserted else { throw invalid("appears twice in the checkpoint") }
            guard tensor.shape.allSatisfy({ $0 >= 0 }) else { throw invalid("negative dimension in shape \(tensor.shape)") }
            let count = tensor.shape.reduce(1, *)
            guard count == tensor.values.count else { throw invalid("shape \(tensor.shape) needs \(count) values, got \(tensor.values.count)") }
            return try WeightCodec.encode(tensor.values, dtype: dtype)
        }
        guard record.epoch >= 0, record.step >= 0 else {
            throw RegistryError.invalidArgument("checkpoint epoch and step must be non-negative (got \(record.epoch), \(record.step))")
        }
        return try db.transaction {
            let modelID = try modelID(named: name)
            if try db.first("SELECT 1 FROM checkpoints WHERE model_id = ? AND step = ?", [.int(modelID), .int(record.step)], { _ in true }) != nil {
                throw RegistryError.checkpointExists(model: name, step: record.step)
            }
            let now = Registry.now
            try db.run("""
                INSERT INTO checkpoints (model_id, epoch, step, created_at, is_final, optimizer_state, rng_state)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, [.int(modelID), .int(record.epoch), .int(record.step), .double(now), .int(record.isFinal ? 1 : 0),
                      .blob(record.optimizerState), .blob(record.rngState)])
            let checkpointID = db.lastInsertRowID
            let insertTensor = try db.prepare("""
                INSERT INTO tensors (checkpoint_id, network, path, shape, elements, dtype, codec, raw_bytes, sha256, blob)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for (tensor, coded) in zip(record.tensors, encoded) {
                try insertTensor.bind([.int(checkpointID), .text(tensor.network), .text(tensor.path), .text(Shape.json(tensor.shape)),
                                       .int(tensor.values.count), .text(coded.dtype.rawValue), .text(WeightCodec.codec),
                                       .int(coded.rawBytes), .text(coded.sha256), .blob(coded.blob)])
                while try insertTensor.step() {}
            }
            let insertLog = try db.prepare("INSERT INTO training_log (model_id, epoch, step, d_loss, g_loss, seconds) VALUES (?, ?, ?, ?, ?, ?)")
            for row in record.log {
                try insertLog.bind([.int(modelID), .int(row.epoch), .int(row.step), .double(row.dLoss), .double(row.gLoss), .double(row.seconds)])
                while try insertLog.step() {}
            }
            if let frame = record.progressFrame {
                try insertProgressFrame(modelID: modelID, ProgressFrame(epoch: record.epoch, step: record.step, png: frame), at: now)
            }
            try db.run("""
                INSERT INTO aliases (model_id, alias, checkpoint_id) VALUES (?, 'latest', ?)
                ON CONFLICT (model_id, alias) DO UPDATE SET checkpoint_id = excluded.checkpoint_id
                """, [.int(modelID), .int(checkpointID)])
            try db.run("UPDATE models SET updated_at = ? WHERE id = ?", [.double(now), .int(modelID)])
            return checkpointID
        }
    }

    public func checkpoints(of name: String) throws -> [CheckpointInfo] {
        try db.read {
            let modelID = try modelID(named: name)
            var aliases: [Int64: [String]] = [:]
            for (checkpoint, alias) in try db.query("SELECT checkpoint_id, alias FROM aliases WHERE model_id = ? ORDER BY alias",
                                                    [.int(modelID)], { ($0.int64(0), $0.text(1)) }) {
                aliases[checkpoint, default: []].append(alias)
            }
            return try db.query("""
                SELECT c.id, c.epoch, c.step, c.is_final, c.created_at, count(t.id),
                       coalesce(sum(CASE WHEN instr(t.network, '#') = 0 THEN t.elements END), 0),
                       coalesce(sum(length(t.blob)), 0), coalesce(sum(t.raw_bytes), 0)
                FROM checkpoints c LEFT JOIN tensors t ON t.checkpoint_id = c.id
                WHERE c.model_id = ? GROUP BY c.id ORDER BY c.step
                """, [.int(modelID)]) { s in
                CheckpointInfo(id: s.int64(0), epoch: s.int(1), step: s.int(2), isFinal: s.bool(3), createdAt: s.date(4),
                               tensorCount: s.int(5), parameterCount: s.int(6), storedBytes: s.int(7), rawBytes: s.int(8),
                               aliases: aliases[s.int64(0)] ?? [])
            }
        }
    }

    /// Resolves a selector to (checkpoint id, epoch, step) within one model.
    func resolve(_ selector: CheckpointSelector, modelID: Int64, model name: String) throws -> (id: Int64, epoch: Int, step: Int) {
        let columns = "SELECT c.id, c.epoch, c.step FROM checkpoints c"
        let row: (Int64, Int, Int)?
        let map: (Statement) -> (Int64, Int, Int) = { ($0.int64(0), $0.int(1), $0.int(2)) }
        switch selector {
        case .latest:
            row = try db.first("\(columns) JOIN aliases a ON a.checkpoint_id = c.id WHERE a.model_id = ? AND a.alias = 'latest'", [.int(modelID)], map)
                ?? db.first("\(columns) WHERE c.model_id = ? ORDER BY c.step DESC LIMIT 1", [.int(modelID)], map)
        case let .alias(alias):
            row = try db.first("\(columns) JOIN aliases a ON a.checkpoint_id = c.id WHERE a.model_id = ? AND a.alias = ?", [.int(modelID), .text(alias)], map)
        case let .id(id):
            row = try db.first("\(columns) WHERE c.model_id = ? AND c.id = ?", [.int(modelID), .int(id)], map)
        case let .epoch(epoch):
            row = try db.first("\(columns) WHERE c.model_id = ? AND c.epoch = ? ORDER BY c.step DESC LIMIT 1", [.int(modelID), .int(epoch)], map)
        }
        guard let row else { throw RegistryError.checkpointNotFound(model: name, selector: selector.description) }
        return (row.0, row.1, row.2)
    }

    /// Loads and verifies a checkpoint: every tensor's size and checksum is
    /// checked, so a returned record is exactly what was saved. `networks` limits the
    /// tensors read (generation needs only the generator: half the bytes to inflate and hash).
    ///
    /// `destination`, when given, may return where a tensor's values go (for its network,
    /// path and stored shape), e.g. a live parameter of exactly that shape: it is decoded
    /// straight there and its record comes back with the shape but no values. It is called
    /// from decode workers, so it must only read shared state.
    public func loadCheckpoint(model name: String, checkpoint selector: CheckpointSelector = .latest,
                               networks: Set<String>? = nil,
                               destination: (@Sendable (String, String, [Int]) -> TensorDestination?)? = nil) throws -> CheckpointRecord {
        try db.read {
            let modelID = try modelID(named: name)
            let target = try resolve(selector, modelID: modelID, model: name)
            guard let header = try db.first("SELECT is_final, optimizer_state, rng_state FROM checkpoints WHERE id = ?",
                                            [.int(target.id)], { ($0.bool(0), $0.blob(1), $0.blob(2)) }) else {
                throw RegistryError.checkpointNotFound(model: name, selector: selector.description)
            }
            // Metadata first, in id order: sorting rows that carry their blobs made SQLite copy
            // every blob of the checkpoint into a temporary b-tree (most of a cold `zoo generate`).
            let stored = try db.query("""
                SELECT id, network, path, shape, dtype, codec, raw_bytes, sha256 FROM tensors WHERE checkpoint_id = ? ORDER BY id
                """, [.int(target.id)]) { s -> StoredTensor? in
                let network = s.text(1)
                if let networks, !networks.contains(network) { return nil }
                return StoredTensor(id: s.int64(0), network: network, path: s.text(2), shape: s.text(3), dtype: s.text(4),
                                    codec: s.text(5), rawBytes: s.int(6), sha256: s.text(7))
            }
            .compactMap { $0 }
            // Then each wanted blob by primary key, inflated, hashed and converted on the engine's
            // threads (CThreadPool), the largest first: inflate dominates a cold load and tensors
            // are independent. Each part pulls its blob in chunks; the connection is not
            // thread-safe (NOMUTEX), so every SQLite call takes `connection`. The first failure
            // in row order is reported.
            var decoded = [Result<TensorRecord, Error>?](repeating: nil, count: stored.count)
            let order = stored.indices.sorted { stored[$0].rawBytes > stored[$1].rawBytes }
            let connection = NSLock()
            decoded.withUnsafeMutableBufferPointer { results in
                let slots = ResultSlots(base: results)   // each part writes only its own index
                WorkerPool.run(order.count) { part in
                    let i = order[part]
                    let t = stored[i]
                    slots.base[i] = Result {
                        do {
                            let blob = try connection.withLock { try db.openBlob(table: "tensors", column: "blob", rowid: t.id) }
                            defer { connection.withLock { blob.close() } }
                            let read: WeightCodec.BlobReader = { buffer, offset in
                                try connection.withLock { try blob.read(into: buffer, at: offset) }
                            }
                            let shape = try Shape.parse(t.shape)
                            let count = try Shape.elementCount(shape)
                            if let target = destination?(t.network, t.path, shape) {
                                // Mapping the pages in one call is cheaper than faulting them one by one.
                                target.prefault(count: count)
                                try WeightCodec.decode(blobSize: blob.size, read: read, dtype: t.dtype, codec: t.codec,
                                                       rawBytes: t.rawBytes, sha256: t.sha256, elementCount: count, into: target.pointer)
                                return TensorRecord(network: t.network, path: t.path, shape: shape, values: [])
                            }
                            let values: [Float] = try WeightCodec.decode(blobSize: blob.size, read: read, dtype: t.dtype, codec: t.codec,
                                                                         rawBytes: t.rawBytes, sha256: t.sha256, elementCount: count)
                            return TensorRecord(network: t.network, path: t.path, shape: shape, values: values)
                        } catch let failure as WeightCodec.Failure {
                            throw RegistryError.corruptTensor(model: name, epoch: target.epoch, step: target.step,
                                                              network: t.network, path: t.path, reason: failure.reason)
                        }
                    }
                }
            }
            let tensors = try decoded.map { try ($0 ?? .failure(RegistryError.corruptTensor(model: name, epoch: target.epoch, step: target.step, network: "?", path: "?", reason: "not decoded"))).get() }
            let log = try db.query("""
                SELECT epoch, step, d_loss, g_loss, seconds FROM training_log WHERE model_id = ? AND step <= ? ORDER BY step, id
                """, [.int(modelID), .int(target.step)], Registry.logRow)
            return CheckpointRecord(epoch: target.epoch, step: target.step, isFinal: header.0, optimizerState: header.1,
                                    rngState: header.2, tensors: tensors, log: log)
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

    /// The decode workers' output array; each worker writes only its own index.
    private struct ResultSlots: @unchecked Sendable {
        let base: UnsafeMutableBufferPointer<Result<TensorRecord, Error>?>
    }

    /// A tensor row as stored, before decoding.
    private struct StoredTensor {
        let id: Int64
        let network, path, shape, dtype, codec: String
        let rawBytes: Int
        let sha256: String
    }

    static func logRow(_ s: Statement) -> TrainingLogRow {
        TrainingLogRow(epoch: s.int(0), step: s.int(1), dLoss: s.double(2), gLoss: s.double(3), seconds: s.double(4))
    }

    public func trainingLog(of name: String) throws -> [TrainingLogRow] {
        try db.read {
            let modelID = try modelID(named: name)
            return try db.query("SELECT epoch, step, d_loss, g_loss, seconds FROM training_log WHERE model_id = ? ORDER BY step, id",
                                [.int(modelID)], Registry.logRow)
        }
    }

    /// Strict loading: the stored tensors must be exactly the parameters the
    /// architecture expects, no more, no fewer, each with the expected shape.
    public func validate(tensors: [TensorRecord], expected: [(network: String, path: String, shape: [Int])], model: String) throws {
        func key(_ network: String, _ path: String) -> String { "\(network)/\(path)" }
        var stored: [String: [Int]] = [:]
        for tensor in tensors { stored[key(tensor.network, tensor.path)] = tensor.shape }
        var missing: [String] = [], misShaped: [String] = []
        var expectedKeys = Set<String>()
        for item in expected {
            let k = key(item.network, item.path)
            expectedKeys.insert(k)
            guard let shape = stored[k] else { missing.append(k); continue }
            if shape != item.shape { misShaped.append("\(k) (stored \(shape), expected \(item.shape))") }
        }
        let extra = tensors.map { key($0.network, $0.path) }.filter { !expectedKeys.contains($0) }
        if !missing.isEmpty || !extra.isEmpty || !misShaped.isEmpty {
            throw RegistryError.tensorMismatch(model: model, missing: missing, extra: extra, misShaped: misShaped)
        }
    }
}

/// Shapes are stored as JSON arrays of non-negative integers, e.g. "[256,100]".
enum Shape {
    static func json(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ",") + "]" }

    static func parse(_ text: String) throws -> [Int] {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("["), trimmed.hasSuffix("]") else { throw WeightCodec.Failure(reason: "malformed shape \(text)") }
        let inner = trimmed.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
        if inner.isEmpty { return [] }
        return try inner.split(separator: ",").map { part in
            guard let n = Int(part.trimmingCharacters(in: .whitespaces)), n >= 0 else { throw WeightCodec.Failure(reason: "malformed shape \(text)") }
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
