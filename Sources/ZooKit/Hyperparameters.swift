import Foundation

/// The knobs a training run is made with; stored as JSON with each model.
public struct Hyperparameters: Codable, Equatable, Sendable {
    public var batchSize: Int
    public var epochs: Int
    /// Adam's learning rate for each network the architecture trains, by the network's name
    /// ("generator" and "discriminator" for a GAN, "classifier" for the classifier).
    public var learningRates: [String: Float]
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    /// Plugin-specific extras (e.g. dropout rate), by name.
    public var extras: [String: Double]
    /// The named recipe these values came from (`zoo architectures` lists them); nil for
    /// models trained before recipes existed.
    public var recipe: String?
    /// GAN training aids. Each is off at its default, so a model stored before they existed
    /// decodes to the run it was.
    public var aids: TrainingAids
    /// How a GAN step updates the two networks (the seeds differ; see `GANLoop`).
    public var loop: GANLoop
    /// Where G's noise comes from (the seeds': N(0, I)); generation draws from the same.
    public var latentPrior: LatentPrior = .gaussian

    public init(
        batchSize: Int = 256, epochs: Int, learningRates: [String: Float],
        beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7, extras: [String: Double] = [:],
        recipe: String? = nil, aids: TrainingAids = TrainingAids(), loop: GANLoop = .joint,
        latentPrior: LatentPrior = .gaussian
    ) {
        self.batchSize = batchSize; self.epochs = epochs
        self.learningRates = learningRates
        self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon; self.extras = extras
        self.recipe = recipe; self.aids = aids; self.loop = loop; self.latentPrior = latentPrior
    }

    /// A GAN's: the generator's and the discriminator's rates.
    public init(
        batchSize: Int = 256, epochs: Int, generatorLearningRate: Float, discriminatorLearningRate: Float,
        beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7, extras: [String: Double] = [:],
        recipe: String? = nil, aids: TrainingAids = TrainingAids(), loop: GANLoop = .joint,
        latentPrior: LatentPrior = .gaussian
    ) {
        self.init(
            batchSize: batchSize, epochs: epochs,
            learningRates: ["generator": generatorLearningRate, "discriminator": discriminatorLearningRate],
            beta1: beta1, beta2: beta2, epsilon: epsilon, extras: extras, recipe: recipe, aids: aids, loop: loop,
            latentPrior: latentPrior)
    }

    /// A copy with `change` applied: a recipe written as another recipe's variant.
    public func modified(_ change: (inout Hyperparameters) -> Void) -> Hyperparameters {
        var copy = self
        change(&copy)
        return copy
    }

    /// The rate of one network. Present for every network the architecture trains once the
    /// values passed `validate(networks:)` (decoding and training check it).
    public func learningRate(of network: String) -> Float { learningRates[network] ?? 0 }

    /// Networks in the order people read them: generator, discriminator, then by name.
    public var learningRatesInOrder: [(network: String, rate: Float)] {
        let rank = ["generator": 0, "discriminator": 1]
        return learningRates.sorted { (rank[$0.key] ?? 2, $0.key) < (rank[$1.key] ?? 2, $1.key) }.map {
            ($0.key, $0.value)
        }
    }

    private enum CodingKeys: String, CodingKey {
        case batchSize, epochs, learningRates, beta1, beta2, epsilon, extras, recipe, aids, loop, latentPrior
        // Before per-network rates: a GAN's two, and a classifier's one stored as the generator's.
        case generatorLearningRate, discriminatorLearningRate
    }

    /// Set while decoding a model whose architecture is known (`decode(json:model:networks:)`):
    /// which networks a legacy JSON's rates belong to.
    private static let legacyNetworksKey = CodingUserInfoKey(rawValue: "zoo.legacyNetworks")!

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        batchSize = try c.decode(Int.self, forKey: .batchSize)
        epochs = try c.decode(Int.self, forKey: .epochs)
        if let rates = try c.decodeIfPresent([String: Float].self, forKey: .learningRates) {
            learningRates = rates
        } else {
            let generator = try c.decode(Float.self, forKey: .generatorLearningRate)
            let discriminator = try c.decode(Float.self, forKey: .discriminatorLearningRate)
            // A classifier (one network) kept its rate in the generator's field.
            let networks = decoder.userInfo[Self.legacyNetworksKey] as? Set<String>
            if let networks, networks.count == 1, let only = networks.first {
                learningRates = [only: generator]
            } else {
                learningRates = ["generator": generator, "discriminator": discriminator]
            }
        }
        beta1 = try c.decode(Float.self, forKey: .beta1)
        beta2 = try c.decode(Float.self, forKey: .beta2)
        epsilon = try c.decode(Float.self, forKey: .epsilon)
        extras = try c.decodeIfPresent([String: Double].self, forKey: .extras) ?? [:]
        recipe = try c.decodeIfPresent(String.self, forKey: .recipe)
        aids = try c.decodeIfPresent(TrainingAids.self, forKey: .aids) ?? TrainingAids()
        loop = try c.decodeIfPresent(GANLoop.self, forKey: .loop) ?? .joint
        latentPrior = try c.decodeIfPresent(LatentPrior.self, forKey: .latentPrior) ?? .gaussian
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(batchSize, forKey: .batchSize)
        try c.encode(epochs, forKey: .epochs)
        try c.encode(learningRates, forKey: .learningRates)
        try c.encode(beta1, forKey: .beta1)
        try c.encode(beta2, forKey: .beta2)
        try c.encode(epsilon, forKey: .epsilon)
        try c.encode(extras, forKey: .extras)
        // Written only when set: a model without them keeps the JSON it always had.
        try c.encodeIfPresent(recipe, forKey: .recipe)
        if aids != TrainingAids() { try c.encode(aids, forKey: .aids) }
        if loop != .joint { try c.encode(loop, forKey: .loop) }
        if !latentPrior.isGaussian { try c.encode(latentPrior, forKey: .latentPrior) }
    }

    public static let standardHelp: [(name: String, meaning: String)] =
        [
            ("batchSize", "images per training step"),
            ("epochs", "passes over the training set"),
            (
                "learningRates",
                "Adam learning rate of each network (--lr NETWORK=RATE; --generator-lr, --discriminator-lr)"
            ),
            ("beta1, beta2, epsilon", "Adam moment decay rates and epsilon (Keras defaults)"),
            (
                "latentPrior",
                "G's noise: N(0, I), or K Gaussians N(s·e_c, I) (--latent-mixture K, --latent-mixture-scale s)"
            ),
        ] + TrainingAids.help

    /// The ranges a run accepts. The messages name the flags; stored values (a model from
    /// someone else's file) are held to the same ranges when they are decoded.
    /// `networks`: the networks the architecture trains, when known; each must have a rate and
    /// no other may.
    public func validate(networks: Set<String>? = nil) throws {
        guard (1...8192).contains(batchSize) else {
            throw ZooError.invalidHyperparameter("--batch-size \(batchSize) must be in 1...8192")
        }
        guard (1...10_000).contains(epochs) else {
            throw ZooError.invalidHyperparameter("--epochs \(epochs) must be in 1...10000")
        }
        for (network, rate) in learningRatesInOrder {
            guard rate.isFinite, rate >= 0, rate < 1 else {
                throw ZooError.invalidHyperparameter("--lr \(network)=\(rate): a learning rate must be in [0, 1)")
            }
        }
        if let networks, Set(learningRates.keys) != networks {
            throw ZooError.invalidHyperparameter(
                "learning rates are given for \(learningRates.keys.sorted().joined(separator: ", ")) but the "
                    + "networks trained are \(networks.sorted().joined(separator: ", "))")
        }
        for (flag, beta) in [("--beta1", beta1), ("beta2", beta2)] {
            guard beta.isFinite, beta >= 0, beta < 1 else {
                throw ZooError.invalidHyperparameter("\(flag) \(beta) must be in [0, 1)")
            }
        }
        guard epsilon.isFinite, epsilon > 0, epsilon < 1 else {
            throw ZooError.invalidHyperparameter("epsilon \(epsilon) must be in (0, 1)")
        }
        // The extras the plugins read have their layers' ranges (a Dropout refuses a rate of
        // 1 or more); any other is at least a finite, moderate number.
        let ranges: [String: (range: ClosedRange<Double>, text: String)] = [
            "dropout": (0...0.99, "[0, 0.99]"), "leakyAlpha": (0...1, "[0, 1]"),
        ]
        for (name, value) in extras.sorted(by: { $0.key < $1.key }) {
            let range = ranges[name] ?? (-1e6...1e6, "[-1e6, 1e6]")
            guard value.isFinite, range.range.contains(value) else {
                throw ZooError.invalidHyperparameter("\(name) \(value) must be in \(range.text)")
            }
        }
        try aids.validate()
        try latentPrior.validate()
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(self), let text = String(data: data, encoding: .utf8) else { return "{}" }
        return text
    }

    /// Decodes and validates a model's stored hyperparameters. `networks` (the networks its
    /// architecture trains, `ArchitectureDescriptor.trainedNetworks`) places the rates of JSON
    /// written before per-network rates, and is checked against the rates given.
    public static func decode(json: String, model: String, networks: Set<String>? = nil) throws -> Hyperparameters {
        let decoded: Hyperparameters
        do {
            let decoder = JSONDecoder()
            if let networks { decoder.userInfo[legacyNetworksKey] = networks }
            decoded = try decoder.decode(Hyperparameters.self, from: Data(json.utf8))
        } catch {
            throw ZooError.corruptModel(model, "its hyperparameters JSON does not parse (\(error))")
        }
        do { try decoded.validate(networks: networks) } catch {
            throw ZooError.corruptModel(model, "its stored hyperparameters are out of range (\(error))")
        }
        return decoded
    }
}

/// The order of a GAN step's updates.
public enum GANLoop: String, Codable, Sendable, CaseIterable {
    /// The TensorFlow tutorial's: one noise batch, D sees the real and the fake batch, both
    /// gradients from that one pass, then both networks step.
    case joint
    /// The Keras article's (seed 004's simple GAN): `train_on_batch` on D with the real batch,
    /// a D update; again with a fake batch, a second D update; then G through the stacked
    /// model with fresh noise, D frozen.
    case keras
}

/// Seed 004's "tips for stable training" and StudioGAN's generator EMA, as stored numbers.
public struct TrainingAids: Codable, Equatable, Sendable {
    /// D updates per G update (1: the seeds' alternation). With k > 1, G steps on every k-th batch.
    public var discriminatorSteps: Int
    /// One-sided label smoothing: D's target for real images is 1 − this (0: off).
    public var labelSmoothing: Float
    /// Standard deviation of Gaussian noise added to every image D sees, real and fake, at
    /// the first step; it falls linearly to zero at `instanceNoiseEpochs` (0: off).
    public var instanceNoise: Float
    /// Epochs over which the instance noise anneals to zero (0: the whole run).
    public var instanceNoiseEpochs: Int
    /// Decay of the generator's exponential moving average (0: no EMA). The average is a
    /// network of its own ("generator_ema") in every checkpoint; generation uses it.
    public var emaDecay: Float

    public init(
        discriminatorSteps: Int = 1, labelSmoothing: Float = 0, instanceNoise: Float = 0,
        instanceNoiseEpochs: Int = 0, emaDecay: Float = 0
    ) {
        self.discriminatorSteps = discriminatorSteps; self.labelSmoothing = labelSmoothing
        self.instanceNoise = instanceNoise; self.instanceNoiseEpochs = instanceNoiseEpochs; self.emaDecay = emaDecay
    }

    private enum CodingKeys: String, CodingKey {
        case discriminatorSteps, labelSmoothing, instanceNoise, instanceNoiseEpochs, emaDecay
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        discriminatorSteps = try c.decodeIfPresent(Int.self, forKey: .discriminatorSteps) ?? 1
        labelSmoothing = try c.decodeIfPresent(Float.self, forKey: .labelSmoothing) ?? 0
        instanceNoise = try c.decodeIfPresent(Float.self, forKey: .instanceNoise) ?? 0
        instanceNoiseEpochs = try c.decodeIfPresent(Int.self, forKey: .instanceNoiseEpochs) ?? 0
        emaDecay = try c.decodeIfPresent(Float.self, forKey: .emaDecay) ?? 0
    }

    static let help: [(name: String, meaning: String)] = [
        ("aids.discriminatorSteps", "D updates per G update (--d-steps)"),
        ("aids.labelSmoothing", "one-sided label smoothing: D's target for real images is 1 − s (--label-smoothing)"),
        ("aids.instanceNoise", "σ of Gaussian noise on D's inputs, annealed linearly to 0 (--instance-noise)"),
        ("aids.instanceNoiseEpochs", "epochs over which the instance noise reaches 0; 0 = the whole run"),
        ("aids.emaDecay", "decay of the generator's moving average used for generation; 0 = none (--ema)"),
    ]

    /// Checks the values against their meaning; names the flag to change.
    public func validate() throws {
        guard (1...100).contains(discriminatorSteps) else {
            throw ZooError.invalidHyperparameter("--d-steps \(discriminatorSteps) must be in 1...100")
        }
        guard labelSmoothing.isFinite, labelSmoothing >= 0, labelSmoothing < 0.5 else {
            throw ZooError.invalidHyperparameter("--label-smoothing \(labelSmoothing) must be in [0, 0.5)")
        }
        guard instanceNoise.isFinite, instanceNoise >= 0, instanceNoise <= 2 else {
            throw ZooError.invalidHyperparameter("--instance-noise \(instanceNoise) must be in [0, 2]")
        }
        guard (0...10_000).contains(instanceNoiseEpochs) else {
            throw ZooError.invalidHyperparameter("--instance-noise-epochs \(instanceNoiseEpochs) must be in 0...10000")
        }
        guard emaDecay.isFinite, emaDecay >= 0, emaDecay < 1 else {
            throw ZooError.invalidHyperparameter("--ema \(emaDecay) must be in [0, 1) (0: no moving average)")
        }
    }

    /// The instance noise's σ at `step` of a run (steps counted from 0).
    public func instanceNoiseSigma(step: Int, stepsPerEpoch: Int, epochs: Int) -> Float {
        guard instanceNoise > 0 else { return 0 }
        let span = Double(max(1, (instanceNoiseEpochs > 0 ? instanceNoiseEpochs : epochs) * stepsPerEpoch))
        return instanceNoise * Float(max(0, 1 - Double(step) / span))
    }
}
