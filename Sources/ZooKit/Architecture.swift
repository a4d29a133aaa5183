import ZooEngine
import ZooRegistry

/// What a plugin is, declared once, statically: the catalog, `zoo architectures` and the
/// registry's architectures table are all filled from this.
public struct ArchitectureDescriptor: Sendable {
    public enum Kind: String, Sendable { case gan, classifier }

    public let name: String
    public let title: String
    public let summary: String
    public let reference: String
    public let kind: Kind
    public let conditional: Bool
    public let version: Int
    public let latentSize: Int
    /// One sample: [channels, height, width].
    public let imageShape: [Int]
    public let classes: Int
    /// The named ways to train it; the first is what `zoo train` uses without `--recipe`.
    public let recipes: [Recipe]
    /// The first recipe's hyperparameters, its name filled in.
    public var defaults: Hyperparameters { recipes[0].hyperparameters }
    /// The networks it trains, each with its own learning rate (its default recipe's).
    public var trainedNetworks: Set<String> { Set(defaults.learningRates.keys) }
    /// Hyperparameter name → what it means, for `zoo architectures` and model cards.
    public let hyperparameterHelp: [(name: String, meaning: String)]
    /// Names of the figures a training step reports, in the order the CLI shows them
    /// (`StepResult.adversarialNames` for GANs; the classifier's "loss", "accuracy").
    public let stepMetricNames: [String]

    public init(
        name: String, title: String, summary: String, reference: String, kind: Kind,
        conditional: Bool, version: Int = 1, latentSize: Int, imageShape: [Int] = [1, 28, 28],
        classes: Int = 10, recipes: [Recipe],
        hyperparameterHelp: [(name: String, meaning: String)] = Hyperparameters.standardHelp,
        stepMetricNames: [String] = StepResult.adversarialNames
    ) {
        precondition(!recipes.isEmpty, "\(name): a descriptor needs at least one recipe")
        self.name = name; self.title = title; self.summary = summary; self.reference = reference
        self.kind = kind; self.conditional = conditional; self.version = version
        self.latentSize = latentSize; self.imageShape = imageShape; self.classes = classes
        self.recipes = recipes.map { recipe in
            var named = recipe
            named.hyperparameters.recipe = recipe.name
            return named
        }
        self.hyperparameterHelp = hyperparameterHelp
        self.stepMetricNames = stepMetricNames
    }
}

/// A named set of hyperparameters: the zoo's working recipe, or a seed's literal values
/// kept one flag away (`--recipe seed`) so the seed can be reproduced exactly.
public struct Recipe: Sendable {
    public let name: String
    /// One line: where the values come from and what they give.
    public let summary: String
    public var hyperparameters: Hyperparameters
    public init(_ name: String, _ summary: String, _ hyperparameters: Hyperparameters) {
        self.name = name; self.summary = summary; self.hyperparameters = hyperparameters
    }

    /// The recipe every architecture lists first.
    public static let defaultName = "default"
    /// A seed's own values.
    public static let seedName = "seed"
}

public extension ArchitectureDescriptor {
    /// The recipe of that name, or an error listing the ones there are.
    func recipe(named name: String) throws -> Recipe {
        guard let recipe = recipes.first(where: { $0.name == name }) else {
            throw ZooError.unknownRecipe(name, architecture: self.name, available: recipes.map(\.name))
        }
        return recipe
    }
}

public typealias StepMetric = ZooRegistry.StepMetric

/// What one training step reports, by name, in the architecture's order (its descriptor's
/// `stepMetricNames`): a GAN's D and G loss, the classifier's loss and accuracy.
public struct StepResult: Sendable, Equatable {
    public let metrics: [StepMetric]
    public init(_ metrics: [StepMetric]) { self.metrics = metrics }

    public static let adversarialNames = ["d_loss", "g_loss"]

    /// A GAN step's: D's loss and G's loss, each a mean over the batch.
    public static func adversarial(discriminatorLoss: Double, generatorLoss: Double) -> StepResult {
        StepResult([StepMetric("d_loss", discriminatorLoss), StepMetric("g_loss", generatorLoss)])
    }

    public subscript(_ name: String) -> Double? { metrics.first { $0.name == name }?.value }
    public var discriminatorLoss: Double { self["d_loss"] ?? .nan }
    public var generatorLoss: Double { self["g_loss"] ?? .nan }
}

/// A batch handed to a train step: images [N, C, H, W] in [-1, 1] and their labels.
public struct Batch {
    public let images: Tensor
    public let labels: [Int]
    public init(images: Tensor, labels: [Int]) { self.images = images; self.labels = labels }
}

/// An architecture plugin: builds its networks, trains one step on a batch.
/// Parameters are exposed per network so the registry can store them by path.
public protocol Architecture: AnyObject {
    static var descriptor: ArchitectureDescriptor { get }
    /// Builds fresh networks; every random draw (initializers, dropout masks) comes from `rng`.
    init(hyperparameters: Hyperparameters, rng: RandomSource) throws
    /// Networks by name ("generator", "discriminator", "classifier").
    var networks: [(name: String, network: Sequential)] { get }
    /// The shape of one input of each network's body (without the batch dimension), by
    /// network name: what the generic tests feed it.
    func inputShape(of network: String) -> [Int]?
    /// One optimizer per trained network, same names as `networks`.
    var optimizers: [(name: String, optimizer: Adam)] { get }
    /// One optimisation step; noise and dropout come from `rng`.
    func trainStep(_ batch: Batch, rng: RandomSource) -> StepResult
    /// Called before every `trainStep` with the run's position.
    func prepareStep(_ clock: TrainingClock)
    /// Stored state beside the networks' parameters (a generator's moving average), as
    /// (network, path, tensor); saved and loaded with every checkpoint.
    var auxiliaryTensors: [(network: String, path: String, tensor: Tensor)] { get }
}

public extension Architecture {
    /// The networks built without drawing initial weights: every parameter stays zero until
    /// a load overwrites it (`ModelStore.load`, which checks that every one it runs is loaded).
    /// The initializers draw nothing from `rng`.
    static func uninitialised(hyperparameters: Hyperparameters, rng: RandomSource) throws -> Self {
        try rng.withoutInitializers { try Self(hyperparameters: hyperparameters, rng: rng) }
    }
}

/// Where a run stands, handed to the architecture before each step (schedules of the
/// training aids read it).
public struct TrainingClock: Sendable {
    /// Steps taken before this one, over the whole run (resumes included).
    public var globalStep: Int
    public var stepsPerEpoch: Int
    public var epochs: Int
    public var aids: TrainingAids
    public init(globalStep: Int, stepsPerEpoch: Int, epochs: Int, aids: TrainingAids) {
        self.globalStep = globalStep; self.stepsPerEpoch = stepsPerEpoch; self.epochs = epochs; self.aids = aids
    }
}

/// A plugin that makes images.
public protocol ImageGenerating: Architecture {
    /// noise: [N, latent]; labels (conditional plugins only): N class indices.
    /// Returns [N, C, H, W] in [-1, 1], computed in inference mode.
    func generate(noise: Tensor, labels: [Int]?) -> Tensor
    /// Whether the model keeps a moving average of its generator's weights (generation uses it).
    var hasGeneratorAverage: Bool { get }
    /// Puts the average into the generator for good (a model loaded to draw from).
    func installGeneratorAverage()
    /// Runs `body` with the weights generation uses (the average when there is one) in place.
    func withGenerationWeights<T>(_ body: () throws -> T) rethrows -> T
    /// Where the noise it was trained on comes from; generation draws from the same.
    var latentPrior: LatentPrior { get }
}

public extension ImageGenerating {
    var hasGeneratorAverage: Bool { false }
    func installGeneratorAverage() {}
    func withGenerationWeights<T>(_ body: () throws -> T) rethrows -> T { try body() }
    var latentPrior: LatentPrior { .gaussian }
}

/// A plugin that classifies images; the evaluator uses its probabilities and its
/// penultimate-layer features.
public protocol ImageClassifying: Architecture {
    /// images: [N, C, H, W] → (probabilities [N, classes], features [N, F]), inference mode.
    func classify(_ images: Tensor) -> (probabilities: Tensor, features: Tensor)
}

public extension Architecture {
    var descriptor: ArchitectureDescriptor { Self.descriptor }

    func prepareStep(_ clock: TrainingClock) {}
    var auxiliaryTensors: [(network: String, path: String, tensor: Tensor)] { [] }

    /// Every stored tensor of the model: weights and BatchNorm statistics per network, then
    /// the auxiliary state.
    var namedTensors: [(network: String, path: String, tensor: Tensor)] {
        networks.flatMap { net in
            net.network.namedParameters.map { (network: net.name, path: $0.path, tensor: $0.parameter.value) }
        }
            + auxiliaryTensors
    }

    func trainableCount(of network: String) -> Int {
        networks.first { $0.name == network }?.network.trainableCount ?? 0
    }
}
