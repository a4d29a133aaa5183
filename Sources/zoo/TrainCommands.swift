import ArgumentParser
import Foundation
import ZooData
import ZooKit

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a new model of an architecture on MNIST or Fashion-MNIST.",
        discussion: """
            Writes a checkpoint every epoch (and every --checkpoint-every steps). Ctrl-C finishes \
            the current step, checkpoints and exits; continue with `zoo resume NAME`.

            Examples:
              zoo train dcgan --name my-dcgan --epochs 5
              zoo train cgan --name my-cgan --epochs 20 --seed 7
              zoo train cgan --name seed-cgan --recipe seed
              zoo train classifier --name mnist-classifier
            """)

    @Argument(help: "Architecture (see `zoo architectures`).") var architecture: String
    @Option(help: "Name of the new model: [a-z0-9][a-z0-9._-]{0,63}.") var name: String
    @Option(help: "Epochs (default: the architecture's).") var epochs: Int?
    @Option(help: "Batch size (default: the architecture's).") var batchSize: Int?
    @Option(help: "Random seed for initial weights, noise and data order.") var seed: UInt64 = 1
    @Option(help: "Dataset: mnist or fashion.") var dataset: DatasetChoice = .mnist
    @Option(help: "The dataset's IDX folder (default: MNIST $ZOO_DATA, else ./data/mnist; Fashion-MNIST Debian's).")
    var data: String?
    @Option(help: "Also checkpoint every K steps.") var checkpointEvery: Int?
    @Option(help: "Checkpoints kept: the newest K whole, and final and aliased ones as weights (0: every one).")
    var keepCheckpoints: Int = Trainer.defaultKeptCheckpoints
    @Option(
        help: ArgumentHelp(
            "Adam learning rate: RATE for every network, or NETWORK=RATE (repeatable; e.g. classifier=0.001).",
            valueName: "[network=]rate"))
    var lr: [String] = []
    @Option(name: .customLong("generator-lr"), help: "Adam learning rate of the generator (--lr generator=RATE).")
    var generatorLR: Float?
    @Option(name: .customLong("discriminator-lr"), help: "Adam learning rate of the discriminator.")
    var discriminatorLR: Float?
    @Option(help: "Adam β1 (default: the architecture's; 0.9 for the seeds).") var beta1: Float?
    @Option(
        help:
            "Named hyperparameters of the architecture (default: its first; `zoo architectures` lists them, e.g. seed)."
    ) var recipe: String?
    @Option(name: .customLong("d-steps"), help: "Discriminator updates per generator update.") var dSteps: Int?
    @Option(help: "One-sided label smoothing: D's target for real images becomes 1 − S (0: off).") var labelSmoothing:
        Float?
    @Option(help: "σ of Gaussian noise on D's inputs, annealed linearly to 0 (0: off).") var instanceNoise: Float?
    @Option(help: "Epochs over which the instance noise reaches 0 (default: the whole run).") var instanceNoiseEpochs:
        Int?
    @Option(help: "Decay of the generator's moving average, used to draw (e.g. 0.999; 0: none).") var ema: Float?
    @Option(
        help:
            "Draw G's noise from a mixture of K Gaussians N(s·e_c, I) instead of N(0, I) (0: N(0, I); generation uses the same)."
    ) var latentMixture: Int?
    @Option(help: "The mixture's s, each mean's distance from the origin (default: 4).") var latentMixtureScale: Float?
    @Option(help: "Score the model on 2,000 samples every K epochs (stored: `zoo show` draws the curve).")
    var evalEvery: Int?
    @Option(help: "Classifier for --eval-every (default: the dataset's, mnist-classifier or fashion-classifier).")
    var classifier: String?
    @Option(help: "Use only the first N training images (quick experiments).") var limit: Int?
    @Option(name: .customLong("description"), help: "A description stored with the model.") var modelDescription:
        String?
    @OptionGroup var registry: RegistryOptions

    func run() throws {
        let datasetChoice = dataset
        if let limit, limit < 1 { throw UsageError("--limit must be ≥ 1") }
        var request = TrainingRequest(
            architecture: architecture, name: name,
            dataDirectory: datasetChoice.directory(given: data, mnistDefault: Locations.dataDirectory(nil)))
        request.dataset = datasetChoice
        request.epochs = epochs
        request.batchSize = batchSize
        request.seed = seed
        request.checkpointEvery = checkpointEvery
        request.limit = limit
        request.learningRates = try LearningRateOption.parse(lr)
        if let generatorLR { request.learningRates["generator"] = generatorLR }
        if let discriminatorLR { request.learningRates["discriminator"] = discriminatorLR }
        request.beta1 = beta1
        request.recipe = recipe
        request.discriminatorSteps = dSteps
        request.labelSmoothing = labelSmoothing
        request.instanceNoise = instanceNoise
        request.instanceNoiseEpochs = instanceNoiseEpochs
        request.emaDecay = ema
        request.latentMixture = latentMixture
        request.latentMixtureScale = latentMixtureScale
        request.description = modelDescription
        let trainer = Trainer(store: try Locations.store(registry.path))
        trainer.keepCheckpoints = try TrainingSession.kept(keepCheckpoints)
        try TrainingSession.attachEvaluator(
            trainer, every: evalEvery, classifier: classifier, dataset: datasetChoice.rawValue, data: data)
        let outcome = try TrainingSession.run(trainer) { try $0.train(request) }
        TrainingSession.summarise(outcome)
    }
}

struct Resume: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Continue training a model from its latest checkpoint (bit-exact).",
        discussion: "Examples:\n  zoo resume my-dcgan\n  zoo resume my-dcgan --epochs 10")

    @Argument(help: "Model name.") var name: String
    @Option(help: "Train until this many epochs in total (default: the model's planned epochs).") var epochs: Int?
    @Option(help: "The dataset's IDX folder (default: MNIST $ZOO_DATA, else ./data/mnist; Fashion-MNIST Debian's).")
    var data: String?
    @Option(help: "Also checkpoint every K steps.") var checkpointEvery: Int?
    @Option(help: "Checkpoints kept: the newest K whole, and final and aliased ones as weights (0: every one).")
    var keepCheckpoints: Int = Trainer.defaultKeptCheckpoints
    @Option(help: "Score the model on 2,000 samples every K epochs (stored: `zoo show` draws the curve).")
    var evalEvery: Int?
    @Option(help: "Classifier for --eval-every (default: the dataset's).") var classifier: String?
    @OptionGroup var registry: RegistryOptions

    func run() throws {
        let trainer = Trainer(store: try Locations.store(registry.path))
        trainer.keepCheckpoints = try TrainingSession.kept(keepCheckpoints)
        let dataset = try trainer.store.model(named: name).dataset
        try TrainingSession.attachEvaluator(
            trainer, every: evalEvery, classifier: classifier, dataset: dataset, data: data)
        let outcome = try TrainingSession.run(trainer) {
            try $0.resume(
                name, epochs: epochs,
                dataDirectory: (DatasetChoice(rawValue: dataset) ?? .mnist).directory(
                    given: data, mnistDefault: Locations.dataDirectory(nil)),
                checkpointEvery: checkpointEvery)
        }
        TrainingSession.summarise(outcome)
    }
}

/// `--lr RATE` (every network) or `--lr NETWORK=RATE`.
enum LearningRateOption {
    static func parse(_ values: [String]) throws -> [String: Float] {
        var rates: [String: Float] = [:]
        for value in values {
            let parts = value.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let network = parts.count == 2 ? parts[0] : ""
            guard let rate = Float(parts.last ?? ""), parts.count == 1 || !network.isEmpty else {
                throw UsageError("--lr \(value): give RATE or NETWORK=RATE, e.g. --lr 0.0002 or --lr generator=0.0004")
            }
            rates[network] = rate
        }
        return rates
    }
}

enum TrainingSession {
    /// `--keep-checkpoints`: 0 keeps every checkpoint.
    static func kept(_ k: Int) throws -> Int? {
        guard k >= 0 else { throw UsageError("--keep-checkpoints must be ≥ 0 (0: keep every checkpoint)") }
        return k == 0 ? nil : k
    }

    /// Sets up `--eval-every`: the evaluator loads before training starts, so a missing
    /// classifier or test set fails at once, not after the first K epochs.
    static func attachEvaluator(_ trainer: Trainer, every k: Int?, classifier: String?, dataset: String, data: String?)
        throws
    {
        guard let k else { return }
        guard (1...10_000).contains(k) else { throw UsageError("--eval-every must be in 1...10000") }
        let judge = classifier ?? Evaluator.defaultClassifier(for: dataset)
        let judgeDataset = (try? trainer.store.model(named: judge).dataset) ?? dataset
        let directory = judgeDataset == DatasetChoice.fashion.rawValue ? data : Locations.dataDirectory(data)
        trainer.evaluator = try Evaluator(store: trainer.store, classifier: judge, dataDirectory: directory)
        trainer.evaluateEvery = k
        trainer.evaluated = { epoch, result in
            switch result {
            case let .success(r):
                var line =
                    "  eval epoch \(epoch): score \(Format.number(r.score)), FD \(Format.number(r.frechetDistance)), classes \(r.classesCovered)"
                if let a = r.requestedAccuracy { line += ", requested \(Format.number(a * 100, digits: 1)) %" }
                FileHandle.standardError.write(line + " (n=\(r.samples))\n")
            case let .failure(error):
                FileHandle.standardError.write("  eval epoch \(epoch) failed, training goes on: \(error)\n")
            }
        }
    }

    static func run(_ trainer: Trainer, _ body: (Trainer) throws -> TrainingOutcome) throws -> TrainingOutcome {
        let printer = ProgressPrinter()
        trainer.progress = printer.report
        Interrupt.install()
        trainer.shouldStop = { Interrupt.requested != 0 }
        defer { printer.finish() }
        return try body(trainer)
    }

    static func summarise(_ o: TrainingOutcome) {
        if o.interrupted {
            print(
                "Stopped at step \(o.steps) (\(o.epochsCompleted) epochs complete); checkpoint saved. Continue with: zoo resume \(o.model)"
            )
        } else {
            let next = o.isClassifier ? "zoo evaluate \(o.model)" : "zoo generate \(o.model) --out \(o.model).png"
            print(
                "Trained \(o.model): \(o.epochsCompleted) epochs, \(o.steps) steps in \(Format.duration(o.seconds)). Try: \(next)"
            )
        }
    }
}

/// `--dataset` parsed by ArgumentParser: a wrong value is a usage error listing the choices.
extension DatasetChoice: ExpressibleByArgument {}
