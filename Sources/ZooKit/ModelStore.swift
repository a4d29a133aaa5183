import Foundation
import ZooEngine
import ZooRegistry

/// The one door to the registry: turns a live architecture into a checkpoint record and
/// back, and offers everything else (runs, metrics, listing, moving models) as intents
/// (ModelStore+Registry.swift). The registry behind it is any `RegistryBackend`.
/// Loading is strict: every stored tensor must match a parameter path and shape, and every
/// parameter must be stored.
public struct ModelStore {
    private let registry: any RegistryBackend
    public let catalog: Catalog

    public init(registry: any RegistryBackend, catalog: Catalog) {
        self.registry = registry
        self.catalog = catalog
    }

    /// The backend, for this module's intent-level extensions only.
    var backend: any RegistryBackend { registry }

    /// Network name under which an optimizer's moments are stored.
    static func optimizerNetwork(_ name: String) -> String { "\(name)\(optimizerSuffix)" }
    static let optimizerSuffix = "#adam"
    /// Whether a stored network holds optimizer moments rather than weights.
    static func isOptimizerState(_ network: String) -> Bool { network.hasSuffix(optimizerSuffix) }

    /// A model rebuilt from one of its checkpoints.
    public struct Loaded {
        public let info: ModelInfo
        public let architecture: any Architecture
        public let hyperparameters: Hyperparameters
        public let checkpoint: CheckpointRecord
        public let rng: RandomSource
        public let position: TrainingPosition
        /// The networks the checkpoint holds: all of the architecture's, or the generator alone
        /// for a model published with `generatorOnly`.
        public var storedNetworks: [String] {
            position.publishedNetworks ?? architecture.networks.map(\.name)
        }
    }

    /// Makes sure the registry knows the plugin (name, version, summary) before a model uses it.
    public func register(_ type: any Architecture.Type) throws {
        let d = type.descriptor
        try registry.registerArchitecture(
            name: d.name, version: d.version, summary: d.summary,
            conditional: d.conditional, kind: d.kind.rawValue)
    }

    /// `networks`: load only these networks' weights (the others keep zero weights and are
    /// never run); nil loads every network. Resuming needs all of them.
    ///
    /// `weightsOnly`: leave the returned checkpoint's tensor records without values (the
    /// weights are in the architecture's tensors either way): generation, one copy less of
    /// every weight on a cold start. Not for publishing or fingerprinting a model.
    ///
    /// `average`: when the model keeps a moving average of its generator (and this is not a
    /// load for resuming), it replaces the generator's weights: what `generate` and
    /// `evaluate` draw from. false (`--no-ema`) keeps the trained weights.
    ///
    /// The checkpoint's training position and every stored tensor's name and shape are checked
    /// before any weight is decoded; each is then decoded straight into its live tensor.
    public func load(
        _ name: String, checkpoint selector: CheckpointSelector = .latest,
        withOptimizer: Bool = false, networks: Set<String>? = nil, weightsOnly: Bool = false,
        average: Bool = true
    ) throws -> Loaded {
        let info = try registry.model(named: name)
        let type = try catalog.lookup(info.architecture)
        let hyperparameters = try Hyperparameters.decode(
            json: info.hyperparameters, model: name, networks: type.descriptor.trainedNetworks)
        let useAverage = average && !withOptimizer && hyperparameters.aids.emaDecay > 0
        var wanted = withOptimizer ? nil : networks
        if useAverage, wanted?.contains("generator") == true { wanted?.insert(GeneratorEMA.network) }
        let rng = RandomSource(seed: info.seed)
        // Every loaded tensor is overwritten below; networks not asked for are never run, and
        // resuming restores the RNG state afterwards.
        let architecture = try type.uninitialised(hyperparameters: hyperparameters, rng: rng)
        let known = architecture.networks.map(\.name)
        let optimizerNetworks = Set(architecture.optimizers.map { Self.optimizerNetwork($0.name) })
        let live = architecture.namedTensors

        var position = TrainingPosition(stepsPerEpoch: 1, datasetSize: 0)
        let record = try registry.loadCheckpoint(model: name, checkpoint: selector) { header in
            position = try TrainingPosition.decode(header.trainingPosition, model: name)
            let averageOnly = position.generatorIsAverage == true
            if averageOnly && !average && (wanted?.contains("generator") ?? true) {
                throw ZooError.averageOnly(model: name)
            }
            if let published = position.publishedNetworks {
                guard !published.isEmpty, published.allSatisfy(known.contains) else {
                    throw ZooError.corruptModel(
                        name,
                        "its checkpoint says it holds networks \(published), but \(info.architecture) has \(known)")
                }
                // A generator-only publication holds its generator; its other networks stay unloaded
                // (they are never run: it cannot be resumed, having no optimizer state).
                if let missing = wanted?.first(where: { !published.contains($0) && $0 != GeneratorEMA.network }),
                    known.contains(missing)
                {
                    throw ZooError.corruptModel(
                        name,
                        "it was published with its \(published.joined(separator: ", ")) only, without its \(missing)")
                }
            }
            let planned =
                live
                .filter {
                    (wanted?.contains($0.network) ?? true) && !(averageOnly && $0.network == GeneratorEMA.network)
                }
                .filter { entry in position.publishedNetworks.map { $0.contains(entry.network) } ?? true }
            let plannedNetworks = Set(planned.map(\.network))
            let everyNetwork = Set(live.map(\.network)).union(optimizerNetworks)
            return LoadPlan(
                tensors: planned.map {
                    ExpectedTensor(
                        network: $0.network, path: $0.path, shape: $0.tensor.shape,
                        destination: Registry.TensorDestination($0.tensor.data))
                },
                recordNetworks: withOptimizer ? optimizerNetworks : [],
                skippedNetworks: everyNetwork.subtracting(plannedNetworks).subtracting(
                    withOptimizer ? optimizerNetworks : []))
        }
        var checkpoint = record
        if !weightsOnly {
            // Records with values, for publishing and fingerprints: copied out of the live tensors.
            let byKey = Dictionary(
                live.map { ("\($0.network)/\($0.path)", $0.tensor) }, uniquingKeysWith: { a, _ in a })
            checkpoint.tensors = record.tensors.map { stored in
                guard stored.values.isEmpty, let tensor = byKey["\(stored.network)/\(stored.path)"] else {
                    return stored
                }
                var filled = stored
                filled.values = tensor.array
                return filled
            }
        }

        if withOptimizer {
            for (netName, optimizer) in architecture.optimizers {
                let network = Self.optimizerNetwork(netName)
                let state = record.tensors.filter { $0.network == network }.map {
                    (name: $0.path, values: Tensor(shape: $0.shape, values: $0.values))
                }
                guard let steps = position.optimizerSteps[netName] else {
                    throw ZooError.corruptModel(
                        name,
                        "checkpoint at step \(record.step) has no optimizer state for '\(netName)' (only the latest checkpoint keeps it)"
                    )
                }
                do { try optimizer.importState(stepCount: steps, state) } catch {
                    throw ZooError.corruptModel(name, "optimizer state of '\(netName)': \(error)")
                }
            }
            rng.state = try decodeRNG(record.rngState, model: name)
        }
        if useAverage, position.generatorIsAverage != true, wanted?.contains("generator") ?? true,
            let generator = architecture as? any ImageGenerating
        {
            generator.installGeneratorAverage()
        }
        return Loaded(
            info: info, architecture: architecture, hyperparameters: hyperparameters,
            checkpoint: checkpoint, rng: rng, position: position)
    }

    /// Everything needed to continue training exactly: weights, optimizer moments, RNG.
    func checkpointRecord(
        of architecture: any Architecture, position: TrainingPosition, rng: RandomSource,
        isFinal: Bool, log: [TrainingLogRow]
    ) -> CheckpointRecord {
        var tensors = architecture.namedTensors.map {
            TensorRecord(network: $0.network, path: $0.path, shape: $0.tensor.shape, values: $0.tensor.array)
        }
        var position = position
        for (netName, optimizer) in architecture.optimizers {
            position.optimizerSteps[netName] = optimizer.stepCount
            for (path, values) in optimizer.exportState() {
                tensors.append(
                    TensorRecord(
                        network: Self.optimizerNetwork(netName), path: path, shape: values.shape, values: values.array))
            }
        }
        return CheckpointRecord(
            epoch: position.epoch, step: position.globalStep, isFinal: isFinal,
            trainingPosition: position.encoded(), rngState: encodeRNG(rng.state),
            tensors: tensors, log: log)
    }

    /// At most `limit` of `items`, evenly spaced, always the first and the last.
    static func evenlySpaced<T>(_ items: [T], atMost limit: Int?) -> [T] {
        guard let limit, items.count > limit else { return items }
        guard limit > 1 else { return Array(items.suffix(max(limit, 0))) }
        let picked = (0..<limit).map { i in (i * (items.count - 1) + (limit - 1) / 2) / (limit - 1) }
        return picked.map { items[$0] }
    }

    /// `details` (a JSON object) with "epoch" added when it has none.
    static func details(_ text: String?, epoch: Int?) -> String? {
        guard let epoch, let text,
            var object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any],
            object["epoch"] == nil
        else { return text }
        object["epoch"] = epoch
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else {
            return text
        }
        return String(decoding: data, as: UTF8.self)
    }

    func encodeRNG(_ state: [UInt64]) -> Data {
        var data = Data()
        for word in state { withUnsafeBytes(of: word.littleEndian) { data.append(contentsOf: $0) } }
        return data
    }

    func decodeRNG(_ data: Data, model: String) throws -> [UInt64] {
        guard data.count == 48 else {
            throw ZooError.corruptModel(model, "RNG state is \(data.count) bytes, expected 48")
        }
        return (0..<6).map { i in
            data[data.startIndex + i * 8..<data.startIndex + i * 8 + 8].reversed().reduce(UInt64(0)) {
                $0 << 8 | UInt64($1)
            }
        }
    }
}

/// The current epoch's running sums: of each step metric (in the descriptor's order), of the
/// steps and of their seconds.
public struct EpochSums: Codable, Equatable {
    public var metrics: [Double] = []
    public var steps = 0
    public var seconds = 0.0

    public init() {}

    mutating func add(_ result: StepResult, names: [String], seconds elapsed: Double) {
        if metrics.count != names.count { metrics = [Double](repeating: 0, count: names.count) }
        for (i, name) in names.enumerated() { metrics[i] += result[name] ?? .nan }
        steps += 1
        seconds += elapsed
    }

    /// The epoch's means so far, by name.
    func means(names: [String]) -> [StepMetric] {
        zip(names, metrics).map { StepMetric($0, steps > 0 ? $1 / Double(steps) : .nan) }
    }

    private enum CodingKeys: String, CodingKey { case metrics, steps, seconds }

    public init(from decoder: Decoder) throws {
        // Before registry version 3 the sums were an array: [first metric, second, steps, seconds].
        if var legacy = try? decoder.unkeyedContainer() {
            var values: [Double] = []
            while !legacy.isAtEnd { values.append(try legacy.decode(Double.self)) }
            guard values.count == 4, values[2] >= 0, values[2] <= Double(Int32.max) else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: decoder.codingPath, debugDescription: "epoch sums \(values)"))
            }
            metrics = Array(values[0..<2]); steps = Int(values[2]); seconds = values[3]
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        metrics = try container.decode([Double].self, forKey: .metrics)
        steps = try container.decode(Int.self, forKey: .steps)
        seconds = try container.decode(Double.self, forKey: .seconds)
    }
}

/// Where a training run stands; stored as JSON in the checkpoint's training_position.
public struct TrainingPosition: Codable, Equatable {
    /// Completed epochs, counting a partly done epoch as not completed.
    public var epoch: Int
    public var stepInEpoch: Int
    public var globalStep: Int
    public var stepsPerEpoch: Int
    public var datasetSize: Int
    /// Adam's step counter per network.
    public var optimizerSteps: [String: Int]
    /// Running sums of the current epoch, so a resumed epoch logs the same means as an
    /// uninterrupted one.
    public var epochSums: EpochSums
    /// Set by `publish` on a model with a generator EMA: the checkpoint's "generator" holds the
    /// average itself and the trained weights are not shipped (half the size). nil elsewhere.
    public var generatorIsAverage: Bool?
    /// Set by `publish(generatorOnly:)`: the only networks the checkpoint stores. nil: all.
    public var publishedNetworks: [String]?

    public init(stepsPerEpoch: Int, datasetSize: Int) {
        epoch = 0; stepInEpoch = 0; globalStep = 0
        self.stepsPerEpoch = stepsPerEpoch; self.datasetSize = datasetSize
        optimizerSteps = [:]; epochSums = EpochSums()
    }

    func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(self)) ?? Data()
    }

    static func decode(_ data: Data, model: String) throws -> TrainingPosition {
        do { return try JSONDecoder().decode(TrainingPosition.self, from: data) } catch {
            throw ZooError.corruptModel(model, "its training position does not parse (\(error))")
        }
    }
}

public extension ModelStore {
    /// Stores a live, possibly untrained architecture as a new ready model with one
    /// checkpoint (benchmarks, tests, imported weights).
    @discardableResult
    func save(
        _ architecture: any Architecture, name: String, hyperparameters: Hyperparameters, seed: UInt64,
        dataset: String = "mnist", rng: RandomSource, description: String? = nil
    ) throws -> ModelInfo {
        try ModelName.validate(name)
        try register(type(of: architecture))
        let info = try registry.createModel(
            name: name, architecture: architecture.descriptor.name, dataset: dataset,
            hyperparameters: hyperparameters.json(), seed: seed, description: description, parent: nil)
        let position = TrainingPosition(stepsPerEpoch: 1, datasetSize: 0)
        try registry.saveCheckpoint(
            model: name, checkpointRecord(of: architecture, position: position, rng: rng, isFinal: true, log: []),
            float16: false)
        try registry.setStatus(name, status: .ready, error: nil)
        return info
    }
}

public extension ModelStore {
    /// Copies a model into another registry as it would be shipped: its latest weights only
    /// (no optimizer moments, so it cannot be resumed there; a generator with a moving average
    /// ships the average in its place), its training history, metrics and progress frames.
    /// `float16` halves the stored size.
    /// `generatorOnly`: ship a GAN's generator alone (what drawing and scoring use); its
    /// discriminator stays behind. `maxFrames`: at most that many progress frames, evenly spaced
    /// from the first epoch to the last (a long run's 150 frames are 1.5 MB).
    func publish(
        _ name: String, to targetStore: ModelStore, float16: Bool, generatorOnly: Bool = false, maxFrames: Int? = nil
    ) throws {
        let target = targetStore.backend
        // A model mid-training would ship as "ready" with the weights of some epoch of its run.
        let stored = try registry.model(named: name).status
        guard stored == .ready else {
            throw ZooError.notFinished(model: name, status: try displayStatus(of: name, stored: stored))
        }
        let loaded = try load(name)
        let info = loaded.info
        let type = try catalog.lookup(info.architecture)
        try targetStore.register(type)
        var weights = loaded.checkpoint.tensors.filter { !Self.isOptimizerState($0.network) }
        let history = try registry.trainingLog(of: name)
        var position = loaded.position
        position.optimizerSteps = [:]
        // A shipped model is drawn from, not resumed: its generator's average goes in as the
        // generator, and the trained weights stay behind.
        let average = weights.filter { $0.network == GeneratorEMA.network }
        if !average.isEmpty {
            weights =
                average.map {
                    var t = $0; t.network = "generator"; return t
                }
                + weights.filter { $0.network != "generator" && $0.network != GeneratorEMA.network }
            position.generatorIsAverage = true
        }
        if generatorOnly, loaded.architecture is any ImageGenerating,
            weights.contains(where: { $0.network == "generator" })
        {
            weights = weights.filter { $0.network == "generator" }
            position.publishedNetworks = ["generator"]
        }
        try target.batch {
            _ = try target.createModel(
                name: name, architecture: info.architecture, dataset: info.dataset,
                hyperparameters: info.hyperparameters, seed: info.seed,
                description: info.description, parent: nil)
            try target.saveCheckpoint(
                model: name,
                CheckpointRecord(
                    epoch: loaded.checkpoint.epoch, step: loaded.checkpoint.step, isFinal: true,
                    trainingPosition: position.encoded(), rngState: loaded.checkpoint.rngState,
                    tensors: weights, log: history), float16: float16)
            // Only the latest checkpoint goes along: each figure keeps the epoch it was measured
            // at in its details (the --eval-every curve), added here where an older zoo left it out.
            let epochOf = Dictionary(
                try registry.checkpoints(of: name).map { ($0.id, $0.epoch) }, uniquingKeysWith: { a, _ in a })
            for metric in try registry.metrics(of: name) {
                let epoch = metric.checkpointID.flatMap { epochOf[$0] }
                try target.recordMetric(
                    model: name, checkpoint: .latest, name: metric.name, value: metric.value,
                    sampleCount: metric.sampleCount, evaluator: metric.evaluator,
                    details: Self.details(metric.details, epoch: epoch))
            }
            let frames = try registry.progressFrames(of: name, epoch: nil, byteLimit: Registry.maximumFramesBytes)
            for frame in Self.evenlySpaced(frames, atMost: maxFrames) {
                try target.saveProgressFrame(model: name, frame)
            }
            try target.setStatus(name, status: .ready, error: nil)
        }
    }
}
