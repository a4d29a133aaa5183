import ArgumentParser
import Foundation
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
          zoo train classifier --name mnist-classifier
        """)

    @Argument(help: "Architecture (see `zoo architectures`).") var architecture: String
    @Option(help: "Name of the new model: [a-z0-9][a-z0-9._-]{0,63}.") var name: String
    @Option(help: "Epochs (default: the architecture's).") var epochs: Int?
    @Option(help: "Batch size (default: the architecture's).") var batchSize: Int?
    @Option(help: "Random seed for initial weights, noise and data order.") var seed: UInt64 = 1
    @Option(help: "Dataset: mnist or fashion.") var dataset: String = "mnist"
    @Option(help: "MNIST folder (default: $ZOO_DATA, else ./data/mnist).") var data: String?
    @Option(help: "Also checkpoint every K steps.") var checkpointEvery: Int?
    @Option(name: .customLong("generator-lr"), help: "Adam learning rate of the generator (classifier: its rate).") var generatorLR: Float?
    @Option(name: .customLong("discriminator-lr"), help: "Adam learning rate of the discriminator.") var discriminatorLR: Float?
    @Option(help: "Adam β1 (default: the architecture's; 0.9 for the seeds).") var beta1: Float?
    @Option(help: "Use only the first N training images (quick experiments).") var limit: Int?
    @Option(name: .customLong("description"), help: "A description stored with the model.") var modelDescription: String?
    @OptionGroup var registry: RegistryOptions

    func run() throws {
        guard let datasetChoice = DatasetChoice(rawValue: dataset) else { throw UsageError("--dataset must be mnist or fashion") }
        if let limit, limit < 1 { throw UsageError("--limit must be ≥ 1") }
        var request = TrainingRequest(architecture: architecture, name: name, dataDirectory: Locations.dataDirectory(data))
        request.dataset = datasetChoice
        request.epochs = epochs
        request.batchSize = batchSize
        request.seed = seed
        request.checkpointEvery = checkpointEvery
        request.limit = limit
        request.generatorLearningRate = generatorLR
        request.discriminatorLearningRate = discriminatorLR
        request.beta1 = beta1
        request.description = modelDescription
        let trainer = Trainer(store: try Locations.store(registry.path))
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
    @Option(help: "MNIST folder (default: $ZOO_DATA, else ./data/mnist).") var data: String?
    @Option(help: "Also checkpoint every K steps.") var checkpointEvery: Int?
    @OptionGroup var registry: RegistryOptions

    func run() throws {
        let trainer = Trainer(store: try Locations.store(registry.path))
        let outcome = try TrainingSession.run(trainer) {
            try $0.resume(name, epochs: epochs, dataDirectory: Locations.dataDirectory(data), checkpointEvery: checkpointEvery)
        }
        TrainingSession.summarise(outcome)
    }
}

enum TrainingSession {
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
            print("Stopped at step \(o.steps) (\(o.epochsCompleted) epochs complete); checkpoint saved. Continue with: zoo resume \(o.model)")
        } else {
            let next = o.isClassifier ? "zoo evaluate \(o.model)" : "zoo generate \(o.model) --out \(o.model).png"
            print("Trained \(o.model): \(o.epochsCompleted) epochs, \(o.steps) steps in \(Format.duration(o.seconds)). Try: \(next)")
        }
    }
}
