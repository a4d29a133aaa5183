import ZooEngine

public extension GANStep {
    /// Wires two networks with their Adam optimizers from the hyperparameters, with the latent
    /// size and (for a conditional plugin) the class count its descriptor declares, scored by
    /// `loss` (the seeds' BCE unless the plugin picks another).
    ///
    /// A conditional plugin's D sees the label as input unless it classifies instead
    /// (`auxiliaryClasses`, ACGAN: D sees the image alone and outputs 1 + classes values).
    convenience init(
        generator: Sequential, discriminator: Sequential, hyperparameters h: Hyperparameters,
        descriptor d: ArchitectureDescriptor, loss: any AdversarialLoss = NonSaturatingBCE(),
        auxiliaryClasses: Int = 0
    ) {
        let classes = d.conditional ? d.classes : nil
        self.init(
            generator: LabelledNetwork(generator, conditionalOn: classes),
            discriminator: LabelledNetwork(discriminator, conditionalOn: auxiliaryClasses > 0 ? nil : classes),
            hyperparameters: h, latentSize: d.latentSize, loss: loss)
        self.auxiliaryClasses = auxiliaryClasses
        auxiliaryWeight = Float(h.extras["auxiliaryWeight"] ?? 1)
    }

    /// Wires two labelled networks with their Adam optimizers and the training aids from the
    /// hyperparameters.
    convenience init(
        generator: LabelledNetwork, discriminator: LabelledNetwork, hyperparameters h: Hyperparameters,
        latentSize: Int, loss: any AdversarialLoss
    ) {
        self.init(
            generator: generator, discriminator: discriminator,
            generatorOptimizer: Adam(
                parameters: generator.body.trainableParameters, learningRate: h.learningRate(of: "generator"),
                beta1: h.beta1, beta2: h.beta2, epsilon: h.epsilon),
            discriminatorOptimizer: Adam(
                parameters: discriminator.body.trainableParameters,
                learningRate: h.learningRate(of: "discriminator"), beta1: h.beta1, beta2: h.beta2,
                epsilon: h.epsilon),
            latentSize: latentSize, classes: generator.classes, loss: loss)
        labelSmoothing = h.aids.labelSmoothing
        discriminatorSteps = h.aids.discriminatorSteps
        loop = h.loop
        latentPrior = h.latentPrior
        if h.aids.emaDecay > 0 { ema = GeneratorEMA(of: generator.body, decay: h.aids.emaDecay) }
    }

    /// Wires two networks with their Adam optimizers from the hyperparameters;
    /// `conditionalOn` makes both networks see a one-hot label.
    convenience init(
        generator: Sequential, discriminator: Sequential, hyperparameters h: Hyperparameters,
        latentSize: Int, conditionalOn classes: Int? = nil, loss: any AdversarialLoss = NonSaturatingBCE()
    ) {
        self.init(
            generator: LabelledNetwork(generator, conditionalOn: classes),
            discriminator: LabelledNetwork(discriminator, conditionalOn: classes), hyperparameters: h,
            latentSize: latentSize, loss: loss)
    }
}

/// A GAN plugin only builds its two networks into a `GANStep`; the rest is shared.
public protocol AdversarialArchitecture: ImageGenerating {
    var gan: GANStep { get }
}

public extension AdversarialArchitecture {
    var networks: [(name: String, network: Sequential)] {
        [("generator", gan.generator.body), ("discriminator", gan.discriminator.body)]
    }
    /// G's body takes the noise (⊕ one-hot label), D's the image (when it sees the label:
    /// flattened ⊕ one-hot).
    func inputShape(of network: String) -> [Int]? {
        let d = Self.descriptor
        let seen = gan.discriminator.classes
        switch network {
        case "generator": return [d.latentSize + gan.generator.classes]
        case "discriminator": return seen > 0 ? [d.imageShape.reduce(1, *) + seen] : d.imageShape
        default: return nil
        }
    }
    var optimizers: [(name: String, optimizer: Adam)] {
        [("generator", gan.generatorOptimizer), ("discriminator", gan.discriminatorOptimizer)]
    }
    func trainStep(_ batch: Batch, rng: RandomSource) -> StepResult { gan.step(batch, rng: rng) }
    func generate(noise: Tensor, labels: [Int]?) -> Tensor { gan.generate(noise: noise, labels: labels) }
    var latentPrior: LatentPrior { gan.latentPrior }

    var auxiliaryTensors: [(network: String, path: String, tensor: Tensor)] { gan.ema?.namedTensors ?? [] }

    func prepareStep(_ clock: TrainingClock) {
        gan.stepIndex = clock.globalStep
        gan.instanceNoise = clock.aids.instanceNoiseSigma(
            step: clock.globalStep, stepsPerEpoch: clock.stepsPerEpoch,
            epochs: clock.epochs)
    }

    var hasGeneratorAverage: Bool { gan.ema != nil }
    func installGeneratorAverage() { gan.ema?.install() }
    func withGenerationWeights<T>(_ body: () throws -> T) rethrows -> T {
        guard let ema = gan.ema else { return try body() }
        return try ema.withAverageWeights(body)
    }
}
