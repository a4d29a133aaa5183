import Foundation
import ZooData
import ZooEngine
import ZooRegistry

/// One progress report from a running training.
public struct TrainingProgress {
    public enum Event { case step, checkpoint, epochEnd }
    public let event: Event
    /// 1-based epoch being trained, of `epochs`.
    public let epoch: Int
    public let epochs: Int
    public let stepInEpoch: Int
    public let stepsPerEpoch: Int
    public let globalStep: Int
    public let totalSteps: Int
    /// Epoch means so far of the step metrics, in the descriptor's order.
    public let metrics: [StepMetric]
    public let imagesPerSecond: Double
    public let elapsed: Double
    public let eta: Double
}

public enum DatasetChoice: String, CaseIterable, Sendable {
    case mnist, fashion

    /// Where the dataset's IDX files are when no --data is given: MNIST's from $ZOO_DATA or
    /// ./data/mnist (tools/setup), Fashion-MNIST's from Debian's dataset-fashion-mnist.
    public func directory(given option: String?, mnistDefault: String) -> String {
        if let option { return option }
        switch self {
        case .mnist: return mnistDefault
        case .fashion: return IDX.fashionDirectory
        }
    }
}

/// What `zoo train` asks for.
public struct TrainingRequest {
    public var architecture: String
    public var name: String
    public var dataset: DatasetChoice = .mnist
    public var dataDirectory: String
    public var epochs: Int?
    public var batchSize: Int?
    public var seed: UInt64 = 1
    public var checkpointEvery: Int?
    /// Overrides of the architecture's Adam settings (nil/empty: the recipe's): learning rates
    /// by network name ("" sets every network's).
    public var learningRates: [String: Float] = [:]
    public var beta1: Float?
    /// A named recipe of the architecture (nil: its first, "default").
    public var recipe: String?
    /// Overrides of the recipe's training aids.
    public var discriminatorSteps: Int?
    public var labelSmoothing: Float?
    public var instanceNoise: Float?
    public var instanceNoiseEpochs: Int?
    public var emaDecay: Float?
    /// G's noise: a mixture of this many Gaussians (0: the seeds' N(0, I)); nil: the recipe's.
    public var latentMixture: Int?
    /// The mixture's scale (nil: `LatentPrior.defaultScale` when a mixture is asked for).
    public var latentMixtureScale: Float?
    /// Use only the first N training images (quick runs and tests).
    public var limit: Int?
    public var description: String?

    public init(architecture: String, name: String, dataDirectory: String) {
        self.architecture = architecture; self.name = name; self.dataDirectory = dataDirectory
    }
}

public struct TrainingOutcome {
    public let model: String
    public let epochsCompleted: Int
    public let steps: Int
    public let interrupted: Bool
    public let seconds: Double
    /// The last epoch's means of the step metrics.
    public let lastMetrics: [StepMetric]
    /// A classifier (evaluated, not drawn from).
    public var isClassifier = false
}

/// Runs training loops and writes checkpoints. The epoch order is a function of
/// (seed, epoch) and everything else random comes from the checkpointed RandomSource, so
/// stopping after any checkpoint and resuming reproduces the uninterrupted run bit for bit
/// (at the same thread count).
public final class Trainer {
    public let store: ModelStore
    /// Called after each step and each checkpoint; the CLI draws its bar from it.
    public var progress: (TrainingProgress) -> Void = { _ in }
    /// Polled after every step (the CLI sets it on SIGINT): checkpoint and stop.
    public var shouldStop: () -> Bool = { false }
    /// `--eval-every K`: after every K-th epoch (and the last), the live model is scored on
    /// `evaluationSamples` images by this evaluator and the figures stored on that epoch's
    /// checkpoint: the time-to-quality curve of `zoo show`.
    public var evaluator: Evaluator?
    public var evaluateEvery: Int?
    public static let evaluationSamples = 2_000
    /// Checkpoints a model keeps as it trains (`--keep-checkpoints`): the newest K whole, plus
    /// final and aliased ones as weights (`ModelStore.pruneCheckpoints`); nil keeps every one.
    public var keepCheckpoints: Int? = Trainer.defaultKeptCheckpoints
    public static let defaultKeptCheckpoints = 3
    /// Called with each of those scores (the CLI prints them), or with the error of one that
    /// failed: a failed score is reported, and the training goes on.
    public var evaluated: (_ epoch: Int, Result<EvaluationReport, Error>) -> Void = { _, _ in }

    public init(store: ModelStore) { self.store = store }

    public static func loadDataset(_ choice: DatasetChoice, directory: String, limit: Int?) throws -> Dataset {
        switch choice {
        case .mnist: return try IDX.load(directory: directory, split: .train, limit: limit)
        case .fashion: return try IDX.loadFashion(directory: directory, split: .train, limit: limit)
        }
    }

    /// Creates the model and trains it. Nothing is written to the registry until the data
    /// has loaded and the hyperparameters are valid.
    public func train(_ request: TrainingRequest) throws -> TrainingOutcome {
        let type = try store.catalog.lookup(request.architecture)
        try ModelName.validate(request.name)
        if try store.contains(model: request.name) {
            throw RegistryError.modelExists(request.name)
        }
        var h =
            try request.recipe.map { try type.descriptor.recipe(named: $0).hyperparameters } ?? type.descriptor.defaults
        if let k = request.discriminatorSteps { h.aids.discriminatorSteps = k }
        if let s = request.labelSmoothing { h.aids.labelSmoothing = s }
        if let sigma = request.instanceNoise { h.aids.instanceNoise = sigma }
        if let e = request.instanceNoiseEpochs { h.aids.instanceNoiseEpochs = e }
        if let d = request.emaDecay { h.aids.emaDecay = d }
        try h.aids.validate()
        if let k = request.latentMixture {
            // K 0 with a scale is refused by `validate` below rather than silently dropped.
            h.latentPrior = LatentPrior(
                components: k, scale: request.latentMixtureScale ?? (k == 0 ? 0 : LatentPrior.defaultScale))
        } else if let scale = request.latentMixtureScale {
            h.latentPrior.scale = scale
        }
        if type.descriptor.kind != .gan && !h.latentPrior.isGaussian {
            throw ZooError.invalidHyperparameter(
                "--latent-mixture shapes a generator's noise; a \(type.descriptor.kind.rawValue) has none")
        }
        try h.latentPrior.validate(latentSize: type.descriptor.latentSize)
        if type.descriptor.kind != .gan && h.aids != TrainingAids() {
            throw ZooError.invalidHyperparameter(
                "the GAN training aids (--d-steps, --label-smoothing, --instance-noise, --ema) do not apply to a \(type.descriptor.kind.rawValue)"
            )
        }
        if let epochs = request.epochs { h.epochs = epochs }
        if let batch = request.batchSize { h.batchSize = batch }
        if let all = request.learningRates[""] {
            for network in h.learningRates.keys { h.learningRates[network] = all }
        }
        for (network, rate) in request.learningRates where !network.isEmpty {
            guard h.learningRates[network] != nil else {
                throw ZooError.invalidHyperparameter(
                    "--lr \(network)=\(rate): \(type.descriptor.name) has no network '\(network)' (it trains "
                        + "\(h.learningRates.keys.sorted().joined(separator: ", ")))")
            }
            h.learningRates[network] = rate
        }
        if let b = request.beta1 { h.beta1 = b }
        try h.validate(networks: type.descriptor.trainedNetworks)
        if let k = request.checkpointEvery, k < 1 {
            throw ZooError.invalidHyperparameter("--checkpoint-every \(k) must be ≥ 1")
        }

        let data = try Self.loadDataset(request.dataset, directory: request.dataDirectory, limit: request.limit)
        guard data.count >= h.batchSize else {
            throw ZooError.datasetTooSmall(count: data.count, batchSize: h.batchSize)
        }

        try checkKeepCheckpoints()

        let rng = RandomSource(seed: request.seed)
        let architecture = try type.init(hyperparameters: h, rng: rng)
        let position = TrainingPosition(
            stepsPerEpoch: Self.stepsPerEpoch(data.count, h.batchSize), datasetSize: data.count)
        try store.beginRun(
            name: request.name, architecture: type, dataset: request.dataset.rawValue, hyperparameters: h,
            seed: request.seed, description: request.description,
            initial: store.checkpointRecord(of: architecture, position: position, rng: rng, isFinal: false, log: []))
        let lease = try store.leaseTraining(request.name)
        return try withExtendedLifetime(lease) {
            try run(
                model: request.name, architecture: architecture, hyperparameters: h, seed: request.seed,
                data: data, rng: rng, position: position, checkpointEvery: request.checkpointEvery)
        }
    }

    /// Continues a model from its latest checkpoint up to `epochs` in total (default: the
    /// epochs it was created with).
    public func resume(_ name: String, epochs: Int?, dataDirectory: String, checkpointEvery: Int?) throws
        -> TrainingOutcome
    {
        try checkKeepCheckpoints()
        // Taken first: a second trainer of the model stops here, before it reads anything.
        let lease = try store.leaseTraining(name)
        let loaded = try store.load(name, withOptimizer: true)
        var h = loaded.hyperparameters  // validated as it was decoded
        let p = loaded.position
        // A position read from a file (an imported model) sizes the loop, the batches and the
        // data read: it must be the one a run of these hyperparameters writes.
        guard (1...100_000_000).contains(p.datasetSize),
            p.stepsPerEpoch == Self.stepsPerEpoch(p.datasetSize, h.batchSize),
            (0..<p.stepsPerEpoch).contains(p.stepInEpoch), (0...10_000).contains(p.epoch),
            p.globalStep == p.epoch * p.stepsPerEpoch + p.stepInEpoch, p.epochSums.steps == p.stepInEpoch
        else {
            throw ZooError.corruptModel(
                name,
                "its training position is inconsistent (epoch \(p.epoch), step \(p.stepInEpoch) of \(p.stepsPerEpoch), "
                    + "global step \(p.globalStep), \(p.datasetSize) images at batch \(h.batchSize)), so it cannot be resumed"
            )
        }
        let target = epochs ?? h.epochs
        guard (1...10_000).contains(target) else {
            throw ZooError.invalidHyperparameter("--epochs \(target) must be in 1...10000")
        }
        guard target > p.epoch || p.stepInEpoch > 0 else {
            throw ZooError.alreadyTrained(model: name, epochs: p.epoch)
        }
        h.epochs = target
        let dataset = DatasetChoice(rawValue: loaded.info.dataset) ?? .mnist
        let data = try Self.loadDataset(dataset, directory: dataDirectory, limit: loaded.position.datasetSize)
        guard data.count == loaded.position.datasetSize else {
            throw ZooError.corruptModel(
                name, "it was trained on \(loaded.position.datasetSize) images but the data directory has \(data.count)"
            )
        }
        // The plan is part of the model: `zoo show` reads its epochs from here.
        try store.reopenRun(name, plan: h.epochs != loaded.hyperparameters.epochs ? h : nil)
        return try withExtendedLifetime(lease) {
            try run(
                model: name, architecture: loaded.architecture, hyperparameters: h, seed: loaded.info.seed,
                data: data, rng: loaded.rng, position: loaded.position, checkpointEvery: checkpointEvery)
        }
    }

    private func checkKeepCheckpoints() throws {
        if let k = keepCheckpoints, k < 1 {
            throw ZooError.invalidHyperparameter(
                "--keep-checkpoints \(k) must be ≥ 1 (0 on the command line: keep all)")
        }
    }

    static func stepsPerEpoch(_ count: Int, _ batch: Int) -> Int { (count + batch - 1) / batch }

    /// The permutation of epoch `epoch`: derived from the seed alone, so it is the same
    /// after a resume without being stored.
    static func epochOrder(seed: UInt64, epoch: Int, count: Int) -> [Int] {
        RandomSource(seed: seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(epoch + 1)).permutation(count)
    }

    private func run(
        model: String, architecture: any Architecture, hyperparameters h: Hyperparameters, seed: UInt64,
        data: Dataset, rng: RandomSource, position start: TrainingPosition,
        checkpointEvery: Int?
    ) throws -> TrainingOutcome {
        var position = start
        let names = architecture.descriptor.stepMetricNames
        let totalSteps = h.epochs * position.stepsPerEpoch
        let started = Date()
        let startStep = position.globalStep
        var pendingLog: [TrainingLogRow] = []
        var last: [StepMetric] = []
        let perImage = data.images.perSample
        let sampleShape = Array(data.images.shape.dropFirst())
        let batchImages = Tensor(shape: [h.batchSize] + sampleShape)
        var batchLabels = [Int](repeating: 0, count: h.batchSize)

        func save(final: Bool, frame: Bool = false) throws {
            var record = store.checkpointRecord(
                of: architecture, position: position, rng: rng, isFinal: final, log: pendingLog)
            // The epoch's frame goes in with its checkpoint: both or neither.
            if frame { record.progressFrame = try ProgressFrames.render(architecture) }
            try store.checkpoint(model: model, record, keepLatest: keepCheckpoints)
            pendingLog.removeAll()
        }

        do {
            while position.epoch < h.epochs {
                let order = Self.epochOrder(seed: seed, epoch: position.epoch, count: data.count)
                while position.stepInEpoch < position.stepsPerEpoch {
                    let stepStart = Date()
                    let lo = position.stepInEpoch * h.batchSize
                    let hi = min(lo + h.batchSize, data.count)
                    // The last batch of an epoch is partial, as with tf.data's batch().
                    batchImages.resize([hi - lo] + sampleShape)
                    batchLabels.removeAll(keepingCapacity: true)
                    for (row, index) in order[lo..<hi].enumerated() {
                        (batchImages.data + row * perImage).update(
                            from: data.images.data + index * perImage, count: perImage)
                        batchLabels.append(data.labels[index])
                    }
                    architecture.prepareStep(
                        TrainingClock(
                            globalStep: position.globalStep, stepsPerEpoch: position.stepsPerEpoch,
                            epochs: h.epochs, aids: h.aids))
                    let result = architecture.trainStep(Batch(images: batchImages, labels: batchLabels), rng: rng)
                    guard names.allSatisfy({ result[$0]?.isFinite == true }) else {
                        throw TrainingError.diverged(step: position.globalStep, metrics: result.metrics)
                    }
                    position.stepInEpoch += 1
                    position.globalStep += 1
                    position.epochSums.add(result, names: names, seconds: Date().timeIntervalSince(stepStart))
                    last = position.epochSums.means(names: names)

                    let elapsed = Date().timeIntervalSince(started)
                    let done = position.globalStep - startStep
                    let rate = Double(done) / max(elapsed, 1e-9)
                    let report = { (event: TrainingProgress.Event) in
                        // After an epoch ends, `position` already points at the next one.
                        let ended = event == .epochEnd
                        self.progress(
                            TrainingProgress(
                                event: event, epoch: ended ? position.epoch : position.epoch + 1, epochs: h.epochs,
                                stepInEpoch: ended ? position.stepsPerEpoch : position.stepInEpoch,
                                stepsPerEpoch: position.stepsPerEpoch, globalStep: position.globalStep,
                                totalSteps: totalSteps,
                                metrics: last,
                                imagesPerSecond: rate * Double(h.batchSize), elapsed: elapsed,
                                eta: Double(totalSteps - position.globalStep) / max(rate, 1e-9)))
                    }
                    report(.step)

                    let epochDone = position.stepInEpoch == position.stepsPerEpoch
                    var saved = epochDone
                    if epochDone {
                        pendingLog.append(
                            TrainingLogRow(
                                epoch: position.epoch + 1, step: position.globalStep,
                                metrics: last, seconds: position.epochSums.seconds))
                        position.epoch += 1
                        position.stepInEpoch = 0
                        position.epochSums = EpochSums()
                        try save(final: position.epoch == h.epochs, frame: true)
                        report(.epochEnd)
                        if let evaluator, let k = evaluateEvery, position.epoch % k == 0 || position.epoch == h.epochs {
                            let epoch = position.epoch
                            evaluated(
                                epoch,
                                Result {
                                    let info = try store.model(named: model)
                                    return try evaluator.evaluateTraining(
                                        model: model, architecture: architecture, dataset: info.dataset,
                                        samples: Self.evaluationSamples, epoch: epoch, checkpoint: .latest)
                                })
                        }
                    } else if let k = checkpointEvery, position.globalStep % k == 0 {
                        try save(final: false)
                        saved = true
                        report(.checkpoint)
                    }
                    if shouldStop() && position.epoch < h.epochs {
                        // A step that just checkpointed (epoch end or --checkpoint-every) is not saved twice.
                        if !saved { try save(final: false); report(.checkpoint) }
                        return TrainingOutcome(
                            model: model, epochsCompleted: position.epoch, steps: position.globalStep,
                            interrupted: true, seconds: Date().timeIntervalSince(started), lastMetrics: last,
                            isClassifier: architecture is any ImageClassifying)
                    }
                    if epochDone { break }
                }
            }
            try store.finishRun(model)
        } catch {
            try? store.failRun(model, error: error)
            throw error
        }
        return TrainingOutcome(
            model: model, epochsCompleted: position.epoch, steps: position.globalStep,
            interrupted: false, seconds: Date().timeIntervalSince(started), lastMetrics: last,
            isClassifier: architecture is any ImageClassifying)
    }
}

public enum TrainingError: Error, CustomStringConvertible {
    case diverged(step: Int, metrics: [StepMetric])

    public var description: String {
        switch self {
        case let .diverged(step, metrics):
            let figures = metrics.map { "\($0.name) \($0.value)" }.joined(separator: ", ")
            return "training diverged at step \(step) (\(figures)); try a lower learning rate or another --seed."
        }
    }
}
