import Foundation
import ZooThreadPool

/// The storage-independent half of saving and loading a checkpoint, shared by every backend
/// (the SQLite `Registry` and ZooPostgres' `PostgresRegistry`): validating and encoding the
/// tensors before a save, checking stored rows against a load plan, and decoding blobs against
/// their checksums. A backend only moves rows; the contract (`RegistryBackend`) is kept here
/// once. `@_spi(Backend)`: for backends, not for the zoo's users.
@_spi(Backend) public enum CheckpointCodec {
    /// One tensor as a backend stores it.
    public struct EncodedTensor {
        public let network, path, shape, dtype, codec, sha256: String
        public let elements, rawBytes: Int
        public let blob: Data
    }

    /// Validates a checkpoint (names, shapes, positions, finite log figures) and encodes its
    /// tensors. Called before a backend takes its write lock: compression is the slow part.
    public static func encode(model name: String, _ record: CheckpointRecord, float16: Bool) throws -> (
        tensors: [EncodedTensor], logMetrics: [String]
    ) {
        let dtype: WeightCodec.DType = float16 ? .float16 : .float32
        var seen = Set<String>()
        let encoded = try record.tensors.map { tensor -> EncodedTensor in
            func invalid(_ reason: String) -> RegistryError {
                .invalidTensor(model: name, network: tensor.network, path: tensor.path, reason: reason)
            }
            guard !tensor.network.isEmpty, !tensor.path.isEmpty else {
                throw invalid("network and path must not be empty")
            }
            guard seen.insert(tensor.network + "\u{0}" + tensor.path).inserted else {
                throw invalid("appears twice in the checkpoint")
            }
            guard tensor.shape.allSatisfy({ $0 >= 0 }) else {
                throw invalid("negative dimension in shape \(tensor.shape)")
            }
            let count = tensor.shape.reduce(1, *)
            guard count == tensor.values.count else {
                throw invalid("shape \(tensor.shape) needs \(count) values, got \(tensor.values.count)")
            }
            let coded = try WeightCodec.encode(tensor.values, dtype: dtype)
            return EncodedTensor(
                network: tensor.network, path: tensor.path, shape: Shape.json(tensor.shape),
                dtype: coded.dtype.rawValue, codec: WeightCodec.codec, sha256: coded.sha256,
                elements: tensor.values.count, rawBytes: coded.rawBytes, blob: coded.blob)
        }
        let logMetrics = try record.log.map { try StepMetricsJSON.encode($0.metrics) }
        guard record.epoch >= 0, record.step >= 0 else {
            throw RegistryError.invalidArgument(
                "checkpoint epoch and step must be non-negative (got \(record.epoch), \(record.step))")
        }
        return (encoded, logMetrics)
    }

    /// A tensor row as stored, before decoding (no blob).
    public struct StoredTensor {
        public let id: Int64
        public let network, path, shape, dtype, codec: String
        public let rawBytes: Int
        public let sha256: String
        public init(
            id: Int64, network: String, path: String, shape: String, dtype: String, codec: String, rawBytes: Int,
            sha256: String
        ) {
            self.id = id; self.network = network; self.path = path; self.shape = shape; self.dtype = dtype
            self.codec = codec; self.rawBytes = rawBytes; self.sha256 = sha256
        }
    }

    /// Where a checkpoint is, for messages.
    public struct Position {
        public let model: String
        public let epoch, step: Int
        public init(model: String, epoch: Int, step: Int) { self.model = model; self.epoch = epoch; self.step = step }
    }

    /// Checks every stored row of the plan's networks against the plan (path and shape, none
    /// missing, none extra) before anything is decoded. Returns the rows to decode and where
    /// each planned one goes.
    public static func match(_ stored: [StoredTensor], plan: LoadPlan, at position: Position) throws -> (
        wanted: [StoredTensor], destinations: [Int64: Registry.TensorDestination]
    ) {
        var expected: [String: ExpectedTensor] = [:]
        for tensor in plan.tensors { expected[tensor.key] = tensor }
        let plannedNetworks = Set(plan.tensors.map(\.network))
        var found = Set<String>(), destinations: [Int64: Registry.TensorDestination] = [:], wanted: [StoredTensor] = []
        var extra: [String] = [], misShaped: [String] = []
        for row in stored {
            let key = "\(row.network)/\(row.path)"
            if plannedNetworks.contains(row.network) {
                guard let slot = expected[key], !found.contains(key) else { extra.append(key); continue }
                let shape: [Int]
                do { shape = try Shape.parse(row.shape) } catch let failure as WeightCodec.Failure {
                    throw RegistryError.corruptTensor(
                        model: position.model, epoch: position.epoch, step: position.step,
                        network: row.network, path: row.path, reason: failure.reason)
                }
                found.insert(key)
                guard shape == slot.shape else {
                    misShaped.append("\(key) (stored \(shape), expected \(slot.shape))"); continue
                }
                destinations[row.id] = slot.destination
                wanted.append(row)
            } else if plan.recordNetworks.contains(row.network) {
                wanted.append(row)
            } else if !plan.skippedNetworks.contains(row.network) {
                extra.append(key)
            }
        }
        let missing = plan.tensors.map(\.key).filter { !found.contains($0) }
        if !missing.isEmpty || !extra.isEmpty || !misShaped.isEmpty {
            throw RegistryError.tensorMismatch(
                model: position.model, missing: missing, extra: extra, misShaped: misShaped)
        }
        return (wanted, destinations)
    }

    /// A stored blob opened for reading: its size, a reader of its bytes, and how to close it.
    public struct OpenedBlob {
        public let size: Int
        public let read: (_ buffer: UnsafeMutableRawBufferPointer, _ offset: Int) throws -> Void
        public let close: () -> Void
        public init(
            size: Int, read: @escaping (_ buffer: UnsafeMutableRawBufferPointer, _ offset: Int) throws -> Void,
            close: @escaping () -> Void = {}
        ) {
            self.size = size; self.read = read; self.close = close
        }

        /// A blob already in memory.
        public static func inMemory(_ blob: Data) -> OpenedBlob {
            OpenedBlob(size: blob.count) { buffer, offset in
                blob.copyBytes(
                    to: buffer.bindMemory(to: UInt8.self),
                    from: blob.startIndex + offset..<blob.startIndex + offset + buffer.count)
            }
        }
    }

    /// Decodes each row's blob (from `open`), inflated, hashed and converted on the engine's
    /// threads (CThreadPool), the largest first: inflate dominates a cold load and tensors are
    /// independent. Rows with a destination are decoded there (their records come back without
    /// values). `open` and the reads it returns are called from worker threads: a backend whose
    /// connection is not thread-safe serialises them. The first failure in row order is reported.
    public static func decode(
        _ stored: [StoredTensor], into destinations: [Int64: Registry.TensorDestination], at position: Position,
        open: @escaping (StoredTensor) throws -> OpenedBlob
    ) throws -> [TensorRecord] {
        var decoded = [Result<TensorRecord, Error>?](repeating: nil, count: stored.count)
        let order = stored.indices.sorted { stored[$0].rawBytes > stored[$1].rawBytes }
        decoded.withUnsafeMutableBufferPointer { results in
            let slots = ResultSlots(base: results)  // each part writes only its own index
            WorkerPool.run(order.count) { part in
                let i = order[part]
                let t = stored[i]
                slots.base[i] = Result {
                    do {
                        let shape = try Shape.parse(t.shape)
                        let count = try Shape.elementCount(shape)
                        let blob = try open(t)
                        defer { blob.close() }
                        if let destination = destinations[t.id] {
                            // Mapping the pages in one call is cheaper than faulting them one by one.
                            destination.prefault(count: count)
                            try WeightCodec.decode(
                                blobSize: blob.size, read: blob.read, dtype: t.dtype, codec: t.codec,
                                rawBytes: t.rawBytes, sha256: t.sha256, elementCount: count, into: destination.pointer)
                            return TensorRecord(
                                network: t.network, path: t.path, shape: shape, values: [], storedDType: t.dtype)
                        }
                        let values: [Float] = try WeightCodec.decode(
                            blobSize: blob.size, read: blob.read, dtype: t.dtype, codec: t.codec,
                            rawBytes: t.rawBytes, sha256: t.sha256, elementCount: count)
                        return TensorRecord(
                            network: t.network, path: t.path, shape: shape, values: values, storedDType: t.dtype)
                    } catch let failure as WeightCodec.Failure {
                        throw RegistryError.corruptTensor(
                            model: position.model, epoch: position.epoch, step: position.step,
                            network: t.network, path: t.path, reason: failure.reason)
                    }
                }
            }
        }
        return try decoded.map {
            try
                ($0
                ?? .failure(
                    RegistryError.corruptTensor(
                        model: position.model, epoch: position.epoch, step: position.step, network: "?", path: "?",
                        reason: "not decoded"))).get()
        }
    }

    /// Checks a stored row's sizes against itself before its blob is read into memory (a
    /// backend that fetches whole blobs calls this first, with the stored blob length).
    public static func checkSizes(_ row: StoredTensor, blobSize: Int, at position: Position) throws {
        do {
            let count = try Shape.elementCount(try Shape.parse(row.shape))
            _ = try WeightCodec.checkSizes(
                dtype: row.dtype, codec: row.codec, rawBytes: row.rawBytes, blobSize: blobSize, elementCount: count)
        } catch let failure as WeightCodec.Failure {
            throw RegistryError.corruptTensor(
                model: position.model, epoch: position.epoch, step: position.step,
                network: row.network, path: row.path, reason: failure.reason)
        }
    }

    /// Decodes one blob held in memory against its checksum; nil when it is whole, else the
    /// line `zoo verify` prints.
    public static func problem(_ row: StoredTensor, blob: Data, at position: Position) -> String? {
        do {
            let shape = try Shape.parse(row.shape)
            _ = try WeightCodec.decode(
                blob: blob, dtype: row.dtype, codec: row.codec, rawBytes: row.rawBytes,
                sha256: row.sha256, elementCount: Shape.elementCount(shape))
            return nil
        } catch let failure as WeightCodec.Failure {
            return RegistryError.corruptTensor(
                model: position.model, epoch: position.epoch, step: position.step,
                network: row.network, path: row.path, reason: failure.reason
            ).description
        } catch {
            return "\(error)"
        }
    }

    /// A training-log row from its stored columns (the figures as a JSON object).
    public static func logRow(epoch: Int, step: Int, metrics: String, seconds: Double) -> TrainingLogRow {
        TrainingLogRow(epoch: epoch, step: step, metrics: StepMetricsJSON.decode(metrics), seconds: seconds)
    }

    /// The decode workers' output array; each worker writes only its own index.
    private struct ResultSlots: @unchecked Sendable {
        let base: UnsafeMutableBufferPointer<Result<TensorRecord, Error>?>
    }
}
