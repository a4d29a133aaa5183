import ZooEngine
import ZooKit

/// The seed "Generative Adversarial Networks" article's DCGAN (DESIGN.md), which differs
/// from the TensorFlow tutorial's: G's dense layer has a bias and no BatchNorm or activation,
/// every convolution has a bias, and D has no dropout. LeakyReLU at Keras's default slope 0.3.
public final class DCGANVariant: AdversarialArchitecture {
    static let mixtureDefaults = Hyperparameters(
        batchSize: 128, epochs: 30, generatorLearningRate: 2e-4, discriminatorLearningRate: 2e-4,
        beta1: 0.5, extras: ["leakyAlpha": 0.3], aids: TrainingAids(emaDecay: 0.999),
        latentPrior: LatentPrior(components: 10, scale: LatentPrior.defaultScale))

    public static let descriptor = ArchitectureDescriptor(
        name: "dcgan-variant", title: "DCGAN (article variant)",
        summary:
            "The article's DCGAN: dense 7·7·256 (bias, no BN) + 3 transposed convolutions with bias, BN on two; conv D without dropout.",
        reference: "seed \"Generative Adversarial Networks\" article (Radford et al. 2015)",
        kind: .gan, conditional: false, latentSize: 100,
        recipes: [
            Recipe(
                Recipe.defaultName,
                "Adam 2e-4 (β1 0.5), batch 128, 30 epochs, generator EMA 0.999, noise from a mixture of 10 Gaussians; "
                    + "the joint step",
                mixtureDefaults),
            Recipe(
                "gaussian", "the default before the latent mixture: N(0, I) noise, otherwise the same",
                mixtureDefaults.modified { $0.latentPrior = .gaussian }),
            Recipe(
                Recipe.seedName,
                "the article's loop: batches of 32, D on a real then a fake batch (two updates), then G; Keras Adam 1e-3",
                Hyperparameters(
                    batchSize: 32, epochs: 30, generatorLearningRate: 1e-3, discriminatorLearningRate: 1e-3,
                    extras: ["leakyAlpha": 0.3], loop: .keras)),
        ])

    public let gan: GANStep

    public init(hyperparameters h: Hyperparameters, rng: RandomSource) {
        let alpha = Float(h.extras["leakyAlpha"] ?? 0.3)
        // z: [N, 100] → [N, 1, 28, 28]
        let generator = Sequential([
            ("dense", Dense(inputs: Self.descriptor.latentSize, outputs: 7 * 7 * 256, rng: rng)),
            ("reshape", Reshape([256, 7, 7])),
            ("deconv1", Conv2DTranspose(inChannels: 256, outChannels: 128, kernel: 5, stride: 1, rng: rng)),
            ("bn1", BatchNorm(features: 128, leakyAlpha: alpha)),  // BN → LeakyReLU, fused
            ("deconv2", Conv2DTranspose(inChannels: 128, outChannels: 64, kernel: 5, stride: 2, rng: rng)),
            ("bn2", BatchNorm(features: 64, leakyAlpha: alpha)),  // BN → LeakyReLU, fused
            ("deconv3", Conv2DTranspose(inChannels: 64, outChannels: 1, kernel: 5, stride: 2, rng: rng)),
            ("tanh", Tanh()),
        ])
        // x: [N, 1, 28, 28] → logit [N, 1]
        let discriminator = Sequential([
            ("conv1", Conv2D(inChannels: 1, outChannels: 64, kernel: 5, stride: 2, rng: rng)),
            ("act1", LeakyReLU(alpha: alpha)),
            ("conv2", Conv2D(inChannels: 64, outChannels: 128, kernel: 5, stride: 2, rng: rng)),
            ("act2", LeakyReLU(alpha: alpha)),
            ("flatten", Flatten()),
            ("logit", Dense(inputs: 128 * 7 * 7, outputs: 1, rng: rng)),
        ])
        gan = GANStep(
            generator: generator, discriminator: discriminator, hyperparameters: h, descriptor: Self.descriptor)
        // As the DCGAN: D's passes in chunks of at most 48 images bound its activation memory.
        gan.discriminatorChunk = 48
    }
}
