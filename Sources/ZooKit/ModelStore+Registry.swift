import Foundation
import ZooRegistry

/// Everything the trainer, the evaluator and the CLI ask of the registry, by intent.
public extension ModelStore {
    /// Where the registry lives (for messages).
    var location: String { backend.location }

    // MARK: Reading

    func model(named name: String) throws -> ModelInfo { try backend.model(named: name) }

    /// Whether a model of that name exists.
    func contains(model name: String) throws -> Bool {
        do { _ = try backend.model(named: name); return true } catch RegistryError.modelNotFound { return false }
    }

    func models(
        architecture: String? = nil, dataset: String? = nil, status: ModelStatus? = nil,
        sort: ModelSort = .name
    ) throws -> [ModelSummary] {
        try backend.listModels(architecture: architecture, dataset: dataset, status: status, sort: sort)
    }

    func checkpoints(of name: String) throws -> [CheckpointInfo] { try backend.checkpoints(of: name) }
    func aliases(of name: String) throws -> [AliasInfo] { try backend.aliases(of: name) }
    func trainingLog(of name: String) throws -> [TrainingLogRow] { try backend.trainingLog(of: name) }
    func metrics(of name: String) throws -> [MetricRow] { try backend.metrics(of: name) }

    // MARK: Training runs

    /// Creates the model of a new run (status training), its architecture registered first.
    /// `initial`, its untrained state, commits with the row: a model is resumable from the
    /// moment it exists, even if its trainer dies before the first step.
    @discardableResult
    func beginRun(
        name: String, architecture type: any Architecture.Type, dataset: String, hyperparameters: Hyperparameters,
        seed: UInt64, description: String?, initial: CheckpointRecord? = nil
    ) throws -> ModelInfo {
        try register(type)
        return try backend.batch {
            let info = try backend.createModel(
                name: name, architecture: type.descriptor.name, dataset: dataset,
                hyperparameters: hyperparameters.json(), seed: seed, description: description, parent: nil)
            if let initial { try backend.saveCheckpoint(model: name, initial, float16: false) }
            return info
        }
    }

    /// Marks a stopped or finished model as training again; `plan`, when given, replaces its
    /// stored hyperparameters (a resume that extends the planned epochs).
    func reopenRun(_ name: String, plan: Hyperparameters?) throws {
        try backend.batch {
            if let plan { try backend.updateHyperparameters(name, json: plan.json()) }
            try backend.setStatus(name, status: .training, error: nil)
        }
    }

    /// Stores one checkpoint (with its log rows and progress frame) in one transaction, and in
    /// the same transaction prunes the model to its newest `keepLatest` checkpoints (nil: keeps
    /// all; see `pruneCheckpoints`), so the file never holds more than that plus the new one.
    /// Not wrapped in `batch`: the backend compresses before it takes the write lock, and a
    /// second training on the same registry must not wait out that compression.
    @discardableResult
    func checkpoint(model name: String, _ record: CheckpointRecord, keepLatest: Int? = nil) throws -> Int64 {
        try backend.saveCheckpoint(model: name, record, float16: false, keepLatest: keepLatest)
    }

    /// Deletes the checkpoints a model no longer needs: all but the newest `keepLatest`, except
    /// final and user-aliased ones, which keep their weights without optimizer state. Refused
    /// while the model trains.
    @discardableResult
    func pruneCheckpoints(of name: String, keepLatest: Int) throws -> PruneReport {
        let lease = try backend.leaseTraining(model: name)
        return try withExtendedLifetime(lease) { try backend.pruneCheckpoints(model: name, keepLatest: keepLatest) }
    }

    /// The registry's size and its free part (space left by deleted checkpoints), in bytes.
    func storageSpace() throws -> (bytes: Int, freeBytes: Int) { try backend.fileSpace() }

    /// The models a process is training now.
    func modelsBeingTrained() throws -> [String] { try backend.modelsBeingTrained().sorted() }

    /// Returns free space to the file system. Refused while a model of this registry trains:
    /// compacting holds the write lock long enough to make its next checkpoint time out.
    func compact() throws {
        let busy = try modelsBeingTrained()
        if let first = busy.first { throw RegistryError.modelBusy(first, holder: nil) }
        try backend.compact()
    }

    func finishRun(_ name: String) throws { try backend.setStatus(name, status: .ready, error: nil) }

    /// The model's training lease: hold it while training (a second trainer, a rename or a
    /// delete is refused meanwhile); the kernel drops it when the process ends.
    func leaseTraining(_ name: String) throws -> TrainingLease? { try backend.leaseTraining(model: name) }

    /// "training" for a model a process trains now; "interrupted" for one left training by a
    /// process that ended without finishing; else its stored status.
    func displayStatus(of name: String, stored status: ModelStatus) throws -> String {
        guard status == .training else { return status.rawValue }
        return try backend.isBeingTrained(model: name) ? "training" : "interrupted"
    }

    /// `displayStatus` of many models, the leases asked once (`trained`: `modelsBeingTrained`).
    func displayStatus(of name: String, stored status: ModelStatus, trained: Set<String>) -> String {
        guard status == .training else { return status.rawValue }
        return trained.contains(name) ? "training" : "interrupted"
    }

    func failRun(_ name: String, error: Error) throws {
        try backend.setStatus(name, status: .failed, error: "\(error)")
    }

    // MARK: Metrics

    /// Stores a figure of a checkpoint (nil: of the model as a whole) with its provenance.
    @discardableResult
    func recordMetric(
        model name: String, checkpoint: CheckpointSelector? = .latest, name metric: String, value: Double,
        sampleCount: Int? = nil, evaluator: String? = nil, details: String? = nil
    ) throws -> Int64 {
        try backend.recordMetric(
            model: name, checkpoint: checkpoint, name: metric, value: value,
            sampleCount: sampleCount, evaluator: evaluator, details: details)
    }

    /// Several figures of one evaluation, stored together or not at all.
    func recordMetrics(
        model name: String, checkpoint: CheckpointSelector?, _ values: [(name: String, value: Double)],
        sampleCount: Int?, evaluator: String?, details: String?
    ) throws {
        try backend.batch {
            for (metric, value) in values {
                try backend.recordMetric(
                    model: name, checkpoint: checkpoint, name: metric, value: value,
                    sampleCount: sampleCount, evaluator: evaluator, details: details)
            }
        }
    }

    // MARK: Managing models

    func setAlias(model name: String, alias: String, checkpoint: CheckpointSelector) throws {
        try backend.setAlias(model: name, alias: alias, checkpoint: checkpoint)
    }

    func rename(_ name: String, to newName: String) throws { try backend.renameModel(name, to: newName) }
    func delete(_ name: String) throws { try backend.deleteModel(name) }
    func updateDescription(_ name: String, to description: String?) throws {
        try backend.updateDescription(name, description: description)
    }

    /// Writes one model, every checkpoint, to a standalone registry file.
    func export(_ name: String, to path: String) throws { try backend.export(model: name, to: path) }

    /// Adds a model from an exported or shipped registry file; every checksum is checked first.
    @discardableResult
    func importModel(from path: String, model: String? = nil, as newName: String? = nil) throws -> ModelInfo {
        try backend.import(from: path, model: model, as: newName)
    }

    /// Adds every model of a shipped registry file that is not here yet (a new registry starts
    /// with the zoo).
    func importAll(from path: String) throws {
        let source = try Registry(path: path, readOnly: true)
        for model in try source.listModels() where try !contains(model: model.name) {
            try importModel(from: path, model: model.name)
        }
    }

    /// Integrity check and every tensor's checksum; nil checks every model.
    func verify(model name: String? = nil) throws -> VerifyReport { try backend.verify(model: name) }
}
