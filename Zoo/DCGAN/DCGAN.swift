import ZooEngine
import ZooKit

/// The TensorFlow DCGAN tutorial's networks (DESIGN.md), NCHW.
public final class DCGAN: AdversarialArchitecture {
    static let mixtureDefaults = Hyperparameters(
        batchSize: 128, epochs: 50, generatorLearningRate: 2e-4, discriminatorLearningRate: 2e-4,
        beta1: 0.5, extras: ["dropout": 0.3, "leakyAlpha": 0.3], aids: TrainingAids(emaDecay: 0.999),
        latentPrior: LatentPrior(components: 10, scale: LatentPrior.defaultScale))

    public static let descriptor = ArchitectureDescriptor(
        name: "dcgan", title: "DCGAN",
        summary:
            "Deep convolutional GAN: dense + 3 transposed convolutions with BatchNorm; conv discriminator with dropout.",
        reference: "TensorFlow DCGAN tutorial (Radford et al. 2015)",
        kind: .gan, conditional: false, latentSize: 100,
        recipes: [
            Recipe(
                Recipe.defaultName,
                "Radford et al.'s Adam (2e-4, β1 0.5) at batch 128, generator EMA 0.999, noise from a mixture of 10 "
                    + "Gaussians",
                mixtureDefaults),
            Recipe(
                "gaussian", "the default before the latent mixture: N(0, I) noise, otherwise the same",
                mixtureDefaults.modified { $0.latentPrior = .gaussian }),
            Recipe(
                Recipe.seedName, "the TensorFlow tutorial exactly: Adam 1e-4 (β1 0.9), batch 256, 50 epochs",
                Hyperparameters(
                    batchSize: 256, epochs: 50, generatorLearningRate: 1e-4, discriminatorLearningRate: 1e-4,
                    extras: ["dropout": 0.3, "leakyAlpha": 0.3])),
        ])

    public let gan: GANStep

    public init(hyperparameters h: Hyperparameters, rng: RandomSource) {
        let alpha = Float(h.extras["leakyAlpha"] ?? 0.3)
        let dropout = Float(h.extras["dropout"] ?? 0.3)
        // z: [N, 100] → [N, 1, 28, 28]
        let generator = Sequential([
            ("dense", Dense(inputs: Self.descriptor.latentSize, outputs: 7 * 7 * 256, bias: false, rng: rng)),
            ("bn0", BatchNorm(features: 7 * 7 * 256, leakyAlpha: alpha)),  // BN → LeakyReLU, fused
            ("reshape", Reshape([256, 7, 7])),
            (
                "deconv1",
                Conv2DTranspose(inChannels: 256, outChannels: 128, kernel: 5, stride: 1, bias: false, rng: rng)
            ),
            ("bn1", BatchNorm(features: 128, leakyAlpha: alpha)),  // BN → LeakyReLU, fused
            ("deconv2", Conv2DTranspose(inChannels: 128, outChannels: 64, kernel: 5, stride: 2, bias: false, rng: rng)),
            ("bn2", BatchNorm(features: 64, leakyAlpha: alpha)),  // BN → LeakyReLU, fused
            ("deconv3", Conv2DTranspose(inChannels: 64, outChannels: 1, kernel: 5, stride: 2, bias: false, rng: rng)),
            ("tanh", Tanh()),
        ])
        // x: [N, 1, 28, 28] → logit [N, 1]
        let discriminator = Sequential([
            ("conv1", Conv2D(inChannels: 1, outChannels: 64, kernel: 5, stride: 2, rng: rng)),
            ("act1", LeakyReLU(alpha: alpha)),
            ("drop1", Dropout(rate: dropout, rng: rng)),
            ("conv2", Conv2D(inChannels: 64, outChannels: 128, kernel: 5, stride: 2, rng: rng)),
            ("act2", LeakyReLU(alpha: alpha)),
            ("drop2", Dropout(rate: dropout, rng: rng)),
            ("flatten", Flatten()),
            ("logit", Dense(inputs: 128 * 7 * 7, outputs: 1, rng: rng)),
        ])
        gan = GANStep(
            generator: generator, discriminator: discriminator, hyperparameters: h, descriptor: Self.descriptor)
        // D's 14×14×64 activations for 256 images are ~13 MB per buffer; passes of at most 48
        // images keep training memory down, and conv2's columns (78,400 floats an image) then
        // fit one column chunk, which its backward reuses instead of rebuilding.
        gan.discriminatorChunk = 48
    }
}
