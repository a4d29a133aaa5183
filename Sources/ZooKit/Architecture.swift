import ZooEngine

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
    public let defaults: Hyperparameters
    /// Hyperparameter name → what it means, for `zoo architectures` and model cards.
    public let hyperparameterHelp: [(name: String, meaning: String)]
    /// Names of the two numbers a training step reports, e.g. ("d_loss", "g_loss").
    public let stepMetricNames: (String, String)

    public init(name: String, title: String, summary: String, reference: String, kind: Kind,
                conditional: Bool, version: Int = 1, latentSize: Int, imageShape: [Int] = [1, 28, 28],
                classes: Int = 10, defaults: Hyperparameters,
                hyperparameterHelp: [(name: String, meaning: String)] = Hyperparameters.standardHelp,
                stepMetricNames: (String, String) = ("d_loss", "g_loss")) {
        self.name = name; self.title = title; self.summary = summary; self.reference = reference
        self.kind = kind; self.conditional = conditional; self.version = version
        self.latentSize = latentSize; self.imageShape = imageShape; self.classes = classes
        self.defaults = defaults; self.hyperparameterHelp = hyperparameterHelp
        self.stepMetricNames = stepMetricNames
    }
}

/// The two numbers one training step reports (GANs: D and G loss; classifier: loss and accuracy).
public struct StepResult: Sendable {
    public var first: Double
    public var second: Double
    public init(_ first: Double, _ second: Double) { self.first = first; self.second = second }
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
    /// One optimizer per trained network, same names as `networks`.
    var optimizers: [(name: String, optimizer: Adam)] { get }
    /// One optimisation step; noise and dropout come from `rng`.
    func trainStep(_ batch: Batch, rng: RandomSource) -> StepResult
}

/// A plugin that makes images.
public protocol ImageGenerating: Architecture {
    /// noise: [N, latent]; labels (conditional plugins only): N class indices.
    /// Returns [N, C, H, W] in [-1, 1], computed in inference mode.
    func generate(noise: Tensor, labels: [Int]?) -> Tensor
}

/// A plugin that classifies images; the evaluator uses its probabilities and its
/// penultimate-layer features.
public protocol ImageClassifying: Architecture {
    /// images: [N, C, H, W] → (probabilities [N, classes], features [N, F]), inference mode.
    func classify(_ images: Tensor) -> (probabilities: Tensor, features: Tensor)
}

public extension Architecture {
    var descriptor: ArchitectureDescriptor { Self.descriptor }

    /// Every stored tensor of the model: weights and BatchNorm statistics per network.
    var namedTensors: [(network: String, path: String, tensor: Tensor)] {
        networks.flatMap { net in net.network.namedParameters.map { (network: net.name, path: $0.path, tensor: $0.parameter.value) } }
    }

    func trainableCount(of network: String) -> Int {
        networks.first { $0.name == network }?.network.trainableCount ?? 0
    }
}
