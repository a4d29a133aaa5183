import ZooEngine

public extension GANStep {
    /// Wires two networks with their Adam optimizers from the hyperparameters, with the latent
    /// size and (for a conditional plugin) the class count its descriptor declares, scored by
    /// `loss` (the seeds' BCE unless the plugin picks another).
    convenience init(
        generator: Sequential, discriminator: Sequential, hyperparameters h: Hyperparameters,
        descriptor d: ArchitectureDescriptor, loss: any AdversarialLoss = NonSaturatingBCE()
    ) {
        self.init(
            generator: generator, discriminator: discriminator, hyperparameters: h, latentSize: d.latentSize,
            conditionalOn: d.conditional ? d.classes : nil, loss: loss)
    }

    /// Wires two networks with their Adam optimizers from the hyperparameters;
    /// `conditionalOn` makes both networks see a one-hot label.
    convenience init(
        generator: Sequential, discriminator: Sequential, hyperparameters h: Hyperparameters,
        latentSize: Int, conditionalOn classes: Int? = nil, loss: any AdversarialLoss = NonSaturatingBCE()
    ) {
        self.init(
            generator: LabelledNetwork(generator, conditionalOn: classes),
            discriminator: LabelledNetwork(discriminator, conditionalOn: classes),
            generatorOptimizer: Adam(
                parameters: generator.trainableParameters, learningRate: h.learningRate(of: "generator"),
                beta1: h.beta1, beta2: h.beta2, epsilon: h.epsilon),
            discriminatorOptimizer: Adam(
                parameters: discriminator.trainableParameters, learningRate: h.learningRate(of: "discriminator"),
                beta1: h.beta1, beta2: h.beta2, epsilon: h.epsilon),
            latentSize: latentSize, classes: classes ?? 0, loss: loss)
        labelSmoothing = h.aids.labelSmoothing
        discriminatorSteps = h.aids.discriminatorSteps
        loop = h.loop
        if h.aids.emaDecay > 0 { ema = GeneratorEMA(of: generator, decay: h.aids.emaDecay) }
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
    /// G's body takes the noise (⊕ one-hot label), D's the image (conditional: flattened ⊕ one-hot).
    func inputShape(of network: String) -> [Int]? {
        let d = Self.descriptor
        let classes = d.conditional ? d.classes : 0
        switch network {
        case "generator": return [d.latentSize + classes]
        case "discriminator": return d.conditional ? [d.imageShape.reduce(1, *) + classes] : d.imageShape
        default: return nil
        }
    }
    var optimizers: [(name: String, optimizer: Adam)] {
        [("generator", gan.generatorOptimizer), ("discriminator", gan.discriminatorOptimizer)]
    }
    func trainStep(_ batch: Batch, rng: RandomSource) -> StepResult { gan.step(batch, rng: rng) }
    func generate(noise: Tensor, labels: [Int]?) -> Tensor { gan.generate(noise: noise, labels: labels) }

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
