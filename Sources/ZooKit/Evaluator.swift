import Foundation
import ZooData
import ZooEngine
import ZooRegistry

/// What `zoo evaluate` measures for one model (or for real digits, the reference row).
public struct EvaluationReport: Codable {
    public var model: String
    public var samples: Int
    public var seed: UInt64
    public var classifier: String
    public var classifierSHA256: String
    /// What the Fréchet distance compares against.
    public var referenceSplit: String
    public var score: Double
    public var frechetDistance: Double
    public var histogram: [Int]
    public var classesCovered: Int
    public var klFromUniform: Double
    /// Conditional models: fraction of images classified as the digit they were asked for.
    public var requestedAccuracy: Double?
    public var requestedAccuracyPerDigit: [Double]?
    /// Conditional models: per requested class, the Fréchet distance to the reference split's
    /// images of that class (null where skipped: `frechetDistanceClassNotes` says why), and the
    /// mean over the classes that have one.
    public var frechetDistancePerClass: [Double?]?
    public var frechetDistanceIntraMean: Double?
    public var frechetDistanceClassNotes: [String]?
    /// Classifier models: accuracy on the test split.
    public var testAccuracy: Double?
    /// Scores taken during training (`--eval-every`): the epoch just completed. Kept in the
    /// stored details, so the curve survives publishing (which keeps one checkpoint).
    public var epoch: Int?
}

/// Scores generators with the zoo's own classifier: MNIST score (IS-style), Fréchet
/// distance on penultimate features against the 10k test digits, class coverage, and for
/// conditional models the accuracy of the requested digit.
public final class Evaluator {
    public let store: ModelStore
    public let classifierName: String
    public let classifierSHA256: String
    private let classifier: any ImageClassifying
    private let testSet: Dataset
    private let dataDirectory: String
    /// The reference split through the classifier once: the overall and the per-class
    /// statistics both come from it.
    private lazy var testClassified = classify(testSet.images)
    private lazy var testFeatures: Result<(mean: [Double], covariance: [Double], probabilities: [Double]), Error> =
        Result {
            let (p, f, d) = self.testClassified
            let (mean, covariance) = try EvaluationMath.meanAndCovariance(f, dimension: d)
            return (mean, covariance, p)
        }
    private var testClassGaussians: [Int: EvaluationMath.ClassGaussians] = [:]

    /// The dataset the classifier was trained on ("mnist", "fashion"): the only one it can judge.
    public let dataset: String
    /// What the Fréchet distance of a generator compares against, e.g. "mnist-test-10k".
    public var referenceSplit: String { "\(dataset)-test-" + Self.countLabel(testSet.count) }

    /// The classifier that judges a dataset's generators by default.
    public static func defaultClassifier(for dataset: String) -> String {
        dataset == DatasetChoice.fashion.rawValue ? "fashion-classifier" : "mnist-classifier"
    }

    /// `dataDirectory`: the classifier's dataset's IDX files (nil: MNIST's must be given;
    /// Fashion-MNIST's default to Debian's folder).
    public init(store: ModelStore, classifier name: String, dataDirectory: String?) throws {
        self.store = store
        self.classifierName = name
        let loaded = try store.load(name)
        guard let model = loaded.architecture as? any ImageClassifying else {
            throw ZooError.notAClassifier(model: name, architecture: loaded.info.architecture)
        }
        classifier = model
        dataset = loaded.info.dataset
        classifierSHA256 = Self.fingerprint(
            loaded.checkpoint.tensors.filter { !ModelStore.isOptimizerState($0.network) })
        if dataset == DatasetChoice.fashion.rawValue {
            self.dataDirectory = dataDirectory ?? IDX.fashionDirectory
            testSet = try IDX.loadFashion(directory: self.dataDirectory, split: .test)
        } else {
            guard let dataDirectory else {
                throw ZooError.invalidHyperparameter("a data directory for \(dataset) is needed")
            }
            self.dataDirectory = dataDirectory
            testSet = try IDX.load(directory: dataDirectory, split: .test, limit: nil)
        }
    }

    static func countLabel(_ n: Int) -> String { n % 1000 == 0 ? "\(n / 1000)k" : "\(n)" }

    /// A classifier judges only generators of its own dataset.
    func requireSameDataset(model: String, dataset modelDataset: String) throws {
        guard modelDataset == dataset else {
            throw ZooError.wrongEvaluator(
                model: model, dataset: modelDataset, classifier: classifierName, classifierDataset: dataset,
                suggestion: Self.defaultClassifier(for: modelDataset))
        }
    }

    /// sha256 over the classifier's weights in path order: provenance for every metric.
    static func fingerprint(_ tensors: [TensorRecord]) -> String {
        var data = Data()
        for t in tensors.sorted(by: { ($0.network, $0.path) < ($1.network, $1.path) }) {
            data.append(contentsOf: Array("\(t.network)/\(t.path)\(t.shape)".utf8))
            t.values.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        return data.withUnsafeBytes { SHA256.hex($0) }
    }

    func classify(_ images: Tensor) -> (probabilities: [Double], features: [Double], featureCount: Int) {
        Self.classify(classifier, images)
    }

    /// Probabilities [N*classes] and features [N*F] of images [N, C, H, W], in batches.
    static func classify(_ classifier: any ImageClassifying, _ images: Tensor) -> (
        probabilities: [Double], features: [Double], featureCount: Int
    ) {
        var probabilities = [Double](), features = [Double]()
        probabilities.reserveCapacity(images.batch * 10)
        var featureCount = 0
        let per = images.perSample
        let batch = Tensor(shape: [0])
        var start = 0
        while start < images.batch {
            let n = min(500, images.batch - start)
            batch.resize([n] + Array(images.shape.dropFirst()))
            batch.data.update(from: images.data + start * per, count: n * per)
            let (p, f) = classifier.classify(batch)
            featureCount = f.perSample
            probabilities.append(contentsOf: p.buffer.lazy.map(Double.init))
            features.append(contentsOf: f.buffer.lazy.map(Double.init))
            start += n
        }
        return (probabilities, features, featureCount)
    }

    private func statistics(of images: Tensor) throws -> (mean: [Double], covariance: [Double], probabilities: [Double])
    {
        let (p, f, d) = classify(images)
        let (mean, covariance) = try EvaluationMath.meanAndCovariance(f, dimension: d)
        return (mean, covariance, p)
    }

    /// Scores `samples` images of a generator and stores the figures in the registry.
    /// `average` false (`--no-ema`) draws from the trained weights instead of their moving
    /// average; those figures describe a way of drawing the model does not use, so they are
    /// returned, not stored.
    public func evaluate(
        model name: String, samples: Int, seed: UInt64, checkpoint: CheckpointSelector = .latest,
        average: Bool = true
    ) throws -> EvaluationReport {
        guard (100...ModelStore.maximumCount).contains(samples) else {
            throw ZooError.samplesOutOfRange(samples, range: 100...ModelStore.maximumCount)
        }
        let loaded = try store.load(
            name, checkpoint: checkpoint, networks: ["generator", "classifier"], average: average)
        if loaded.architecture is any ImageClassifying { return try evaluateClassifier(loaded) }
        try requireSameDataset(model: name, dataset: loaded.info.dataset)
        let report = try score(generator: loaded.architecture, model: name, samples: samples, seed: seed)
        if Self.stores(
            checkpoint: checkpoint, average: average,
            hasAverage: (loaded.architecture as? any ImageGenerating)?.hasGeneratorAverage ?? false)
        {
            try record(report, model: name, checkpoint: checkpoint)
        }
        return report
    }

    /// Whether an evaluation is stored: only one of the model as it is drawn from (the latest
    /// checkpoint, with its average when it has one). The model's figures in `zoo list` and
    /// `zoo show` are its latest stored ones, so an earlier checkpoint's or the trained
    /// weights' figures are printed, not stored.
    public static func stores(checkpoint: CheckpointSelector, average: Bool, hasAverage: Bool) -> Bool {
        checkpoint == .latest && (average || !hasAverage)
    }

    /// Scores a live model as it trains (`zoo train --eval-every`): the weights generation
    /// uses, inference mode, its own noise; the training's random stream is not touched.
    /// Stored on `checkpoint` (the one just written).
    public func evaluateTraining(
        model name: String, architecture: any Architecture, dataset modelDataset: String,
        samples: Int, epoch: Int, checkpoint: CheckpointSelector
    ) throws -> EvaluationReport {
        try requireSameDataset(model: name, dataset: modelDataset)
        guard let generator = architecture as? any ImageGenerating else {
            throw ZooError.notAGenerator(model: name, architecture: architecture.descriptor.name)
        }
        var report = try generator.withGenerationWeights {
            try score(generator: architecture, model: name, samples: samples, seed: 0)
        }
        report.epoch = epoch
        try record(report, model: name, checkpoint: checkpoint)
        return report
    }

    private func score(generator architecture: any Architecture, model name: String, samples: Int, seed: UInt64) throws
        -> EvaluationReport
    {
        guard let generator = architecture as? any ImageGenerating else {
            throw ZooError.notAGenerator(model: name, architecture: architecture.descriptor.name)
        }
        let descriptor = architecture.descriptor
        let labels: [Int]? = descriptor.conditional ? (0..<samples).map { $0 % descriptor.classes } : nil
        let images = ModelStore.sample(
            generator, latentSize: descriptor.latentSize, imageShape: descriptor.imageShape,
            count: samples, labels: labels, seed: seed)
        var report = try score(images, model: name, seed: seed, against: testFeatures.get(), split: referenceSplit)
        if let labels {
            let (p, f, d) = classify(images)
            var correct = [Int](repeating: 0, count: descriptor.classes), asked = correct
            for (i, label) in labels.enumerated() {
                asked[label] += 1
                if EvaluationMath.argmax(p, row: i, classes: descriptor.classes) == label { correct[label] += 1 }
            }
            report.requestedAccuracy = Double(correct.reduce(0, +)) / Double(samples)
            report.requestedAccuracyPerDigit = zip(correct, asked).map { Double($0) / Double(max($1, 1)) }
            let perClass = EvaluationMath.classFrechetDistances(
                generated: .init(features: f, labels: labels, dimension: d, classes: descriptor.classes),
                reference: referenceGaussians(classes: descriptor.classes))
            report.frechetDistancePerClass = perClass.distances
            report.frechetDistanceIntraMean = perClass.mean
            report.frechetDistanceClassNotes = perClass.notes
        }
        return report
    }

    private func referenceGaussians(classes: Int) -> EvaluationMath.ClassGaussians {
        if let cached = testClassGaussians[classes] { return cached }
        let (_, f, d) = testClassified
        let gaussians = EvaluationMath.ClassGaussians(
            features: f, labels: testSet.labels, dimension: d, classes: classes)
        testClassGaussians[classes] = gaussians
        return gaussians
    }

    /// The reference row: 10k real test digits scored the same way, their features
    /// compared with the training set's. Not stored (it describes the data, not a model).
    public func referenceRow() throws -> EvaluationReport {
        let train =
            dataset == DatasetChoice.fashion.rawValue
            ? try IDX.loadFashion(directory: dataDirectory, split: .train)
            : try IDX.load(directory: dataDirectory, split: .train, limit: nil)
        let trainStats = try statistics(of: train.images)
        return try score(
            testSet.images, model: "real test images", seed: 0, against: trainStats,
            split: "\(dataset)-train-" + Self.countLabel(train.count))
    }

    private func score(
        _ images: Tensor, model: String, seed: UInt64,
        against reference: (mean: [Double], covariance: [Double], probabilities: [Double]),
        split: String
    ) throws -> EvaluationReport {
        let (p, f, d) = classify(images)
        let (mean, covariance) = try EvaluationMath.meanAndCovariance(f, dimension: d)
        let fd = try EvaluationMath.frechetDistance(
            mean1: mean, covariance1: covariance, mean2: reference.mean, covariance2: reference.covariance)
        let counts = EvaluationMath.histogram(p, classes: 10)
        return EvaluationReport(
            model: model, samples: images.batch, seed: seed, classifier: classifierName,
            classifierSHA256: classifierSHA256, referenceSplit: split,
            score: EvaluationMath.classifierScore(p, classes: 10), frechetDistance: fd,
            histogram: counts, classesCovered: EvaluationMath.classesCovered(counts),
            klFromUniform: EvaluationMath.klFromUniform(counts))
    }

    private func evaluateClassifier(_ loaded: ModelStore.Loaded) throws -> EvaluationReport {
        guard let model = loaded.architecture as? any ImageClassifying else { preconditionFailure() }
        let (p, _, _) = Self.classify(model, testSet.images)
        var correct = 0
        for i in 0..<testSet.count where EvaluationMath.argmax(p, row: i, classes: 10) == testSet.labels[i] {
            correct += 1
        }
        let counts = EvaluationMath.histogram(p, classes: 10)
        let n = testSet.count
        let split = "\(loaded.info.dataset)-test-" + Self.countLabel(n)
        let report = EvaluationReport(
            model: loaded.info.name, samples: testSet.count, seed: 0, classifier: loaded.info.name,
            classifierSHA256: Self.fingerprint(
                loaded.checkpoint.tensors.filter { !ModelStore.isOptimizerState($0.network) }),
            referenceSplit: split, score: EvaluationMath.classifierScore(p, classes: 10),
            frechetDistance: 0, histogram: counts, classesCovered: EvaluationMath.classesCovered(counts),
            klFromUniform: EvaluationMath.klFromUniform(counts), testAccuracy: Double(correct) / Double(testSet.count))
        try store.recordMetric(
            model: loaded.info.name, checkpoint: .latest, name: "accuracy",
            value: report.testAccuracy ?? 0, sampleCount: testSet.count,
            evaluator: "self@\(report.classifierSHA256.prefix(12)) on \(split)",
            details: "{}")
        return report
    }

    private func record(_ report: EvaluationReport, model: String, checkpoint: CheckpointSelector) throws {
        let evaluator =
            "\(classifierName)@\(classifierSHA256.prefix(12)) seed \(report.seed) vs \(report.referenceSplit)"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let details = String(decoding: try encoder.encode(report), as: UTF8.self)
        var rows: [(name: String, value: Double)] = [
            ("score", report.score), ("fd", report.frechetDistance),
            ("classes_covered", Double(report.classesCovered)), ("kl_uniform", report.klFromUniform),
        ]
        if let accuracy = report.requestedAccuracy { rows.append(("requested_accuracy", accuracy)) }
        for (c, fd) in (report.frechetDistancePerClass ?? []).enumerated() {
            if let fd { rows.append(("fd_class_\(c)", fd)) }
        }
        if let mean = report.frechetDistanceIntraMean { rows.append(("fd_intra_mean", mean)) }
        try store.recordMetrics(
            model: model, checkpoint: checkpoint, rows, sampleCount: report.samples, evaluator: evaluator,
            details: details)
    }
}
