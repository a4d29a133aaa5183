import ZooEngine
import ZooKit

/// The seed "GANs module" dense GAN (DESIGN.md). D ends in a logit: sigmoid + BCE is
/// computed as BCE-from-logits, the same function without float saturation.
public final class DenseGAN: AdversarialArchitecture {
    static let mixtureDefaults = Hyperparameters(
        batchSize: 128, epochs: 40, generatorLearningRate: 2e-4, discriminatorLearningRate: 2e-4,
        beta1: 0.5, extras: ["leakyAlpha": 0.2], aids: TrainingAids(labelSmoothing: 0.1, emaDecay: 0.999),
        latentPrior: LatentPrior(components: 10, scale: LatentPrior.defaultScale))

    public static let descriptor = ArchitectureDescriptor(
        name: "dense-gan", title: "Dense GAN",
        summary: "Fully connected GAN: 100→256→512→1024→784 generator with BatchNorm, 784→512→256→1 discriminator.",
        reference: "Goodfellow et al. 2014; seed \"GANs module\"",
        kind: .gan, conditional: false, latentSize: 100,
        recipes: [
            Recipe(
                Recipe.defaultName,
                "Adam 2e-4 (β1 0.5), batch 128, 40 epochs, label smoothing 0.1, generator EMA 0.999, noise from a mixture "
                    + "of 10 Gaussians (the seed's 1e-3 does not train)",
                mixtureDefaults),
            Recipe(
                "gaussian",
                "the default before the latent mixture: N(0, I) noise, 100 epochs, otherwise the same",
                mixtureDefaults.modified {
                    $0.latentPrior = .gaussian; $0.epochs = 100
                }),
            Recipe(
                Recipe.seedName, "the seed module's values: Adam 1e-3 (β1 0.9), batch 256, 20 epochs",
                Hyperparameters(
                    batchSize: 256, epochs: 20, generatorLearningRate: 1e-3, discriminatorLearningRate: 1e-3,
                    extras: ["leakyAlpha": 0.2])),
        ])

    public let gan: GANStep

    public init(hyperparameters h: Hyperparameters, rng: RandomSource) {
        let alpha = Float(h.extras["leakyAlpha"] ?? 0.2)
        // z: [N, 100] → [N, 1, 28, 28]
        let generator = Sequential([
            ("dense1", Dense(inputs: Self.descriptor.latentSize, outputs: 256, rng: rng)),
            ("act1", LeakyReLU(alpha: alpha)), ("bn1", BatchNorm(features: 256)),
            ("dense2", Dense(inputs: 256, outputs: 512, rng: rng)), ("act2", LeakyReLU(alpha: alpha)),
            ("bn2", BatchNorm(features: 512)),
            ("dense3", Dense(inputs: 512, outputs: 1024, rng: rng)), ("act3", LeakyReLU(alpha: alpha)),
            ("bn3", BatchNorm(features: 1024)),
            ("dense4", Dense(inputs: 1024, outputs: 784, rng: rng)), ("tanh", Tanh()),
            ("reshape", Reshape([1, 28, 28])),
        ])
        // x: [N, 1, 28, 28] → logit [N, 1]
        let discriminator = Sequential([
            ("flatten", Flatten()),
            ("dense1", Dense(inputs: 784, outputs: 512, rng: rng)), ("act1", LeakyReLU(alpha: alpha)),
            ("dense2", Dense(inputs: 512, outputs: 256, rng: rng)), ("act2", LeakyReLU(alpha: alpha)),
            ("logit", Dense(inputs: 256, outputs: 1, rng: rng)),
        ])
        gan = GANStep(
            generator: generator, discriminator: discriminator, hyperparameters: h, descriptor: Self.descriptor)
    }
}
