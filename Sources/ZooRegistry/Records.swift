import Foundation

public enum ModelStatus: String, Sendable, CaseIterable {
    case training, ready, failed
}

public enum ModelSort: String, Sendable {
    case name, created, updated
}

public struct ModelInfo: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var architecture: String
    public var dataset: String
    /// JSON object text, stored as given.
    public var hyperparameters: String
    public var seed: UInt64
    public var status: ModelStatus
    public var error: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var description: String?
    /// Name of the model this one was derived from, if it still exists.
    public var parent: String?

    /// Memberwise, public for backends (`@_spi(Backend)`).
    @_spi(Backend) public init(
        id: Int64, name: String, architecture: String, dataset: String, hyperparameters: String, seed: UInt64,
        status: ModelStatus, error: String? = nil, createdAt: Date, updatedAt: Date, description: String? = nil,
        parent: String? = nil
    ) {
        self.id = id; self.name = name; self.architecture = architecture; self.dataset = dataset;
        self.hyperparameters = hyperparameters; self.seed = seed; self.status = status; self.error = error;
        self.createdAt = createdAt; self.updatedAt = updatedAt; self.description = description; self.parent = parent
    }
}

public struct ModelSummary: Sendable, Equatable {
    public var name: String
    public var architecture: String
    public var dataset: String
    public var status: ModelStatus
    public var createdAt: Date
    public var updatedAt: Date
    public var description: String?
    public var checkpointCount: Int
    /// Highest checkpoint epoch and step (0 when there is no checkpoint yet).
    public var epochs: Int
    public var steps: Int
    /// Sum of elements over the tensors of the latest checkpoint.
    public var parameterCount: Int
    /// Over all checkpoints: bytes on disk (compressed) and decoded size.
    public var storedBytes: Int
    public var rawBytes: Int
    /// Latest value of each metric, by metric name.
    public var metrics: [String: Double]

    /// Memberwise, public for backends (`@_spi(Backend)`).
    @_spi(Backend) public init(
        name: String, architecture: String, dataset: String, status: ModelStatus, createdAt: Date, updatedAt: Date,
        description: String? = nil, checkpointCount: Int, epochs: Int, steps: Int, parameterCount: Int,
        storedBytes: Int, rawBytes: Int, metrics: [String: Double]
    ) {
        self.name = name; self.architecture = architecture; self.dataset = dataset; self.status = status;
        self.createdAt = createdAt; self.updatedAt = updatedAt; self.description = description;
        self.checkpointCount = checkpointCount; self.epochs = epochs; self.steps = steps;
        self.parameterCount = parameterCount; self.storedBytes = storedBytes; self.rawBytes = rawBytes;
        self.metrics = metrics
    }
}

/// One parameter or buffer of a network, as plain values. A network name containing "#"
/// (e.g. "generator#adam") marks auxiliary state such as optimizer moments: stored and
/// verified like weights, but not counted as parameters.
public struct TensorRecord: Sendable, Equatable {
    public var network: String
    public var path: String
    public var shape: [Int]
    public var values: [Float]
    /// On load: how the registry stores it ("float32" or "float16"). Ignored on save (the
    /// checkpoint's `float16` choice decides).
    public var storedDType: String?

    public init(network: String, path: String, shape: [Int], values: [Float], storedDType: String? = nil) {
        self.network = network; self.path = path; self.shape = shape; self.values = values
        self.storedDType = storedDType
    }

    /// The same tensor: how a registry happened to store it does not count.
    public static func == (a: TensorRecord, b: TensorRecord) -> Bool {
        a.network == b.network && a.path == b.path && a.shape == b.shape && a.values == b.values
    }
}

/// One named figure a training step reports ("d_loss", "g_loss"; a classifier's "loss",
/// "accuracy").
public struct StepMetric: Sendable, Equatable, Codable {
    public var name: String
    public var value: Double
    public init(_ name: String, _ value: Double) { self.name = name; self.value = value }
}

/// One epoch's line of a model's training history: the means of its step metrics.
public struct TrainingLogRow: Sendable, Equatable {
    public var epoch: Int
    public var step: Int
    /// Sorted by name as stored (a JSON object in `training_log.metrics`).
    public var metrics: [StepMetric]
    public var seconds: Double

    public init(epoch: Int, step: Int, metrics: [StepMetric], seconds: Double) {
        self.epoch = epoch; self.step = step; self.seconds = seconds
        self.metrics = metrics.sorted { $0.name < $1.name }
    }

    public func value(_ name: String) -> Double? { metrics.first { $0.name == name }?.value }
}

/// `training_log.metrics`: a JSON object of finite numbers by name.
enum StepMetricsJSON {
    static func encode(_ metrics: [StepMetric]) throws -> String {
        var object: [String: Double] = [:]
        for metric in metrics {
            guard metric.value.isFinite else {
                throw RegistryError.invalidArgument(
                    "step metric \(metric.name) is \(metric.value); only finite values are logged")
            }
            object[metric.name] = metric.value
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(object), as: UTF8.self)
    }

    static func decode(_ text: String) -> [StepMetric] {
        guard let object = try? JSONDecoder().decode([String: Double].self, from: Data(text.utf8)) else { return [] }
        return object.map { StepMetric($0.key, $0.value) }.sorted { $0.name < $1.name }
    }
}

public struct CheckpointRecord: Sendable, Equatable {
    public var epoch: Int
    public var step: Int
    public var isFinal: Bool
    /// Opaque bytes owned by the trainer; stored and returned unchanged.
    public var trainingPosition: Data
    public var rngState: Data
    public var tensors: [TensorRecord]
    /// On save: the log rows since the previous checkpoint. On load: the
    /// model's whole log up to and including this checkpoint's step.
    public var log: [TrainingLogRow]
    /// On save: the progress frame (PNG) of the epoch this checkpoint ends, if any; stored
    /// under `epoch` in the same transaction. Not filled on load (see `progressFrames`).
    public var progressFrame: Data?

    public init(
        epoch: Int, step: Int, isFinal: Bool = false, trainingPosition: Data = Data(), rngState: Data = Data(),
        tensors: [TensorRecord], log: [TrainingLogRow] = [], progressFrame: Data? = nil
    ) {
        self.epoch = epoch; self.step = step; self.isFinal = isFinal
        self.trainingPosition = trainingPosition; self.rngState = rngState; self.tensors = tensors; self.log = log
        self.progressFrame = progressFrame
    }
}

/// One epoch's fixed-noise sample grid, as the trainer stored it.
public struct ProgressFrame: Sendable, Equatable {
    public var epoch: Int
    public var step: Int
    public var png: Data
    public init(epoch: Int, step: Int, png: Data) { self.epoch = epoch; self.step = step; self.png = png }
}

public struct CheckpointInfo: Sendable, Equatable {
    public var id: Int64
    public var epoch: Int
    public var step: Int
    public var isFinal: Bool
    public var createdAt: Date
    public var tensorCount: Int
    public var parameterCount: Int
    public var storedBytes: Int
    public var rawBytes: Int
    public var aliases: [String]

    /// Memberwise, public for backends (`@_spi(Backend)`).
    @_spi(Backend) public init(
        id: Int64, epoch: Int, step: Int, isFinal: Bool, createdAt: Date, tensorCount: Int, parameterCount: Int,
        storedBytes: Int, rawBytes: Int, aliases: [String]
    ) {
        self.id = id; self.epoch = epoch; self.step = step; self.isFinal = isFinal; self.createdAt = createdAt;
        self.tensorCount = tensorCount; self.parameterCount = parameterCount; self.storedBytes = storedBytes;
        self.rawBytes = rawBytes; self.aliases = aliases
    }
}

public enum CheckpointSelector: Sendable, Equatable, CustomStringConvertible {
    /// The `latest` alias (moved by every save), else the highest step.
    case latest
    case alias(String)
    case id(Int64)
    /// The last checkpoint written in that epoch.
    case epoch(Int)

    public var description: String {
        switch self {
        case .latest: return "latest"
        case let .alias(name): return "alias \"\(name)\""
        case let .id(id): return "id \(id)"
        case let .epoch(epoch): return "at epoch \(epoch)"
        }
    }
}

public struct AliasInfo: Sendable, Equatable {
    public var alias: String
    public var checkpointID: Int64
    public var epoch: Int
    public var step: Int

    /// Memberwise, public for backends (`@_spi(Backend)`).
    @_spi(Backend) public init(alias: String, checkpointID: Int64, epoch: Int, step: Int) {
        self.alias = alias; self.checkpointID = checkpointID; self.epoch = epoch; self.step = step
    }
}

public struct MetricRow: Sendable, Equatable {
    public var id: Int64
    public var checkpointID: Int64?
    public var name: String
    public var value: Double
    public var sampleCount: Int?
    public var evaluator: String?
    /// JSON text with provenance (classifier hash, seed, ...).
    public var details: String?
    public var createdAt: Date

    /// Memberwise, public for backends (`@_spi(Backend)`).
    @_spi(Backend) public init(
        id: Int64, checkpointID: Int64? = nil, name: String, value: Double, sampleCount: Int? = nil,
        evaluator: String? = nil, details: String? = nil, createdAt: Date
    ) {
        self.id = id; self.checkpointID = checkpointID; self.name = name; self.value = value;
        self.sampleCount = sampleCount; self.evaluator = evaluator; self.details = details; self.createdAt = createdAt
    }
}

public struct VerifyReport: Sendable, Equatable {
    public var modelsChecked: Int
    public var checkpointsChecked: Int
    public var tensorsChecked: Int
    /// One human-readable line per problem; empty when all is well.
    public var problems: [String]
    public var ok: Bool { problems.isEmpty }

    /// Memberwise, public for backends (`@_spi(Backend)`).
    @_spi(Backend) public init(modelsChecked: Int, checkpointsChecked: Int, tensorsChecked: Int, problems: [String]) {
        self.modelsChecked = modelsChecked; self.checkpointsChecked = checkpointsChecked;
        self.tensorsChecked = tensorsChecked; self.problems = problems
    }
}

/// A checkpoint's row before its tensors: what a load plan is decided from.
public struct CheckpointHeader: Sendable {
    public let epoch: Int
    public let step: Int
    public let isFinal: Bool
    /// The trainer's training position (JSON), stored unchanged.
    public let trainingPosition: Data
    public let rngState: Data

    /// Memberwise, public for backends (`@_spi(Backend)`).
    @_spi(Backend) public init(epoch: Int, step: Int, isFinal: Bool, trainingPosition: Data, rngState: Data) {
        self.epoch = epoch; self.step = step; self.isFinal = isFinal; self.trainingPosition = trainingPosition;
        self.rngState = rngState
    }
}

/// One tensor a load expects, and the live memory its values go to (room for exactly
/// `shape`'s element count).
public struct ExpectedTensor: Sendable {
    public let network: String
    public let path: String
    public let shape: [Int]
    public let destination: Registry.TensorDestination
    public init(network: String, path: String, shape: [Int], destination: Registry.TensorDestination) {
        self.network = network; self.path = path; self.shape = shape; self.destination = destination
    }
    var key: String { "\(network)/\(path)" }
}

/// What `Registry.loadCheckpoint(plan:)` must find. The stored tensors of the networks in
/// `tensors` must be exactly those (path and shape), no more, no fewer; `recordNetworks` are
/// decoded as records (optimizer moments, checked by their optimizer); `skippedNetworks` may be
/// stored and are not read. Any other stored network is unexpected.
public struct LoadPlan: Sendable {
    public var tensors: [ExpectedTensor]
    public var recordNetworks: Set<String>
    public var skippedNetworks: Set<String>
    public init(tensors: [ExpectedTensor], recordNetworks: Set<String> = [], skippedNetworks: Set<String> = []) {
        self.tensors = tensors; self.recordNetworks = recordNetworks; self.skippedNetworks = skippedNetworks
    }
}
