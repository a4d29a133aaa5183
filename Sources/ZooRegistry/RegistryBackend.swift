import Foundation

/// What a model zoo's storage does, whatever holds it: the SQLite file (`Registry`) today,
/// a PostgreSQL database later. `ModelStore` (ZooKit) is the only user; everything above it
/// goes through ModelStore's intent-level methods.
///
/// The contract every backend keeps (the SQLite one's tests state it):
/// - names are validated (`ModelName`), SQL is bound, never spliced;
/// - a checkpoint is one transaction: its tensors, training position, RNG state, log rows,
///   progress frame and `latest` alias commit together or not at all;
/// - loads verify every tensor's size and sha256, and a planned load checks the stored names
///   and shapes before decoding any tensor;
/// - values read back are untrusted: sizes are checked before they size an allocation.
public protocol RegistryBackend: AnyObject {
    /// Where the registry lives, for messages (a file path or a URL without its password).
    var location: String { get }
    /// The schema version it holds.
    var schemaVersion: Int { get }

    /// Runs `body` as one transaction.
    func batch<T>(_ body: () throws -> T) throws -> T

    // Architectures
    func registerArchitecture(name: String, version: Int, summary: String, conditional: Bool, kind: String) throws
    func architectures() throws -> [(name: String, version: Int, summary: String, conditional: Bool, kind: String)]

    // Models
    @discardableResult
    func createModel(
        name: String, architecture: String, dataset: String, hyperparameters: String,
        seed: UInt64, description: String?, parent: String?
    ) throws -> ModelInfo
    func model(named name: String) throws -> ModelInfo
    func listModels(architecture: String?, dataset: String?, status: ModelStatus?, sort: ModelSort) throws
        -> [ModelSummary]
    func renameModel(_ name: String, to newName: String) throws
    func deleteModel(_ name: String) throws
    func setStatus(_ name: String, status: ModelStatus, error: String?) throws
    func updateHyperparameters(_ name: String, json: String) throws
    func updateDescription(_ name: String, description: String?) throws
    /// Takes the model's training lease (held by the returned object; nil where the backend
    /// has none); throws `modelBusy` while another process trains it.
    func leaseTraining(model name: String) throws -> TrainingLease?
    /// Whether a process is training the model now (a "training" model that is not is interrupted).
    func isBeingTrained(model name: String) throws -> Bool
    /// The names of the models a process trains now, at once (`zoo list` of many models).
    func modelsBeingTrained() throws -> Set<String>

    // Checkpoints
    /// Encodes (compresses) the record before taking the write lock, then stores it — and, with
    /// `keepLatest`, prunes the model to its newest `keepLatest` checkpoints — in one transaction.
    /// The lock is never held while compressing: a 100 MB checkpoint takes seconds to compress,
    /// longer than another process waits for the lock.
    @discardableResult
    func saveCheckpoint(model name: String, _ record: CheckpointRecord, float16: Bool, keepLatest: Int?) throws
        -> Int64
    func checkpoints(of name: String) throws -> [CheckpointInfo]
    func loadCheckpoint(model name: String, checkpoint selector: CheckpointSelector, networks: Set<String>?) throws
        -> CheckpointRecord
    func loadCheckpoint(
        model name: String, checkpoint selector: CheckpointSelector,
        plan: (CheckpointHeader) throws -> LoadPlan
    ) throws -> CheckpointRecord
    func trainingLog(of name: String) throws -> [TrainingLogRow]
    /// Deletes the checkpoints a model no longer needs (see `Registry.pruneCheckpoints`).
    @discardableResult
    func pruneCheckpoints(model name: String, keepLatest: Int) throws -> PruneReport
    /// The storage's size and its free part, in bytes.
    func fileSpace() throws -> (bytes: Int, freeBytes: Int)
    /// Returns free space to the file system (takes the write lock while it runs).
    func compact() throws

    // Aliases and metrics
    func setAlias(model name: String, alias: String, checkpoint selector: CheckpointSelector) throws
    func aliases(of name: String) throws -> [AliasInfo]
    @discardableResult
    func recordMetric(
        model name: String, checkpoint: CheckpointSelector?, name metric: String, value: Double,
        sampleCount: Int?, evaluator: String?, details: String?
    ) throws -> Int64
    func metrics(of name: String) throws -> [MetricRow]

    // Progress frames
    func saveProgressFrame(model name: String, _ frame: ProgressFrame) throws
    func progressFrameCount(of name: String) throws -> Int
    func progressFrames(of name: String, epoch: Int?, byteLimit: Int) throws -> [ProgressFrame]

    // Moving models between registries, and checking one
    func export(model name: String, to path: String) throws
    func `import`(from path: String, model: String?, as newName: String?) throws -> ModelInfo
    func verify(model name: String?) throws -> VerifyReport
}

extension RegistryBackend {
    /// Stores one checkpoint and prunes nothing.
    @discardableResult
    public func saveCheckpoint(model name: String, _ record: CheckpointRecord, float16: Bool = false) throws -> Int64 {
        try saveCheckpoint(model: name, record, float16: float16, keepLatest: nil)
    }

    /// Each model whose stored status is "training", asked one by one: cheap where a lease is a
    /// file lock (SQLite); a server backend answers in one query instead.
    public func modelsBeingTrained() throws -> Set<String> {
        Set(
            try listModels(architecture: nil, dataset: nil, status: .training, sort: .name).map(\.name).filter {
                try isBeingTrained(model: $0)
            })
    }
}

extension Registry: RegistryBackend {
    public var location: String { path }
}
