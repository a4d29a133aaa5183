import ZooEngine
import ZooKit

/// SNGAN (Miyato et al. 2018): spectral normalisation on every weight of D, hinge loss, one D
/// step per G step (the paper's "setting C" Adam). Compact DCGAN generator, conv D without
/// dropout or BatchNorm.
public final class SNGAN: AdversarialArchitecture {
    public static let descriptor = ArchitectureDescriptor(
        name: "sngan", title: "SNGAN",
        summary:
            "Spectrally normalised GAN: compact DCGAN generator, conv D with spectral norm on every layer, hinge loss.",
        reference: "Miyato et al. 2018, Spectral Normalization for Generative Adversarial Networks",
        kind: .gan, conditional: false, latentSize: 100,
        recipes: [
            Recipe(
                Recipe.defaultName,
                "Adam 2e-4 (β1 0.5, β2 0.999), batch 128, 30 epochs, hinge loss, generator EMA 0.999",
                Hyperparameters(
                    batchSize: 128, epochs: 30, generatorLearningRate: 2e-4, discriminatorLearningRate: 2e-4,
                    beta1: 0.5, extras: ["leakyAlpha": 0.1], aids: TrainingAids(emaDecay: 0.999)))
        ])

    public let gan: GANStep

    public init(hyperparameters h: Hyperparameters, rng: RandomSource) {
        let alpha = Float(h.extras["leakyAlpha"] ?? 0.1)
        let latent = Self.descriptor.latentSize
        // z: [N, 100] → [N, 1, 28, 28]
        let generator = Sequential([
            ("dense", Dense(inputs: latent, outputs: 7 * 7 * 128, bias: false, rng: rng)),
            ("bn0", BatchNorm(features: 7 * 7 * 128, leakyAlpha: 0.2)),  // BN → LeakyReLU, fused
            ("reshape", Reshape([128, 7, 7])),
            ("deconv1", Conv2DTranspose(inChannels: 128, outChannels: 64, kernel: 5, stride: 2, bias: false, rng: rng)),
            ("bn1", BatchNorm(features: 64, leakyAlpha: 0.2)),
            ("deconv2", Conv2DTranspose(inChannels: 64, outChannels: 1, kernel: 5, stride: 2, bias: false, rng: rng)),
            ("tanh", Tanh()),
        ])
        // x: [N, 1, 28, 28] → logit [N, 1]; every weight spectrally normalised.
        let discriminator = Sequential([
            ("conv1", SpectralNorm(Conv2D(inChannels: 1, outChannels: 64, kernel: 5, stride: 2, rng: rng), rng: rng)),
            ("act1", LeakyReLU(alpha: alpha)),
            (
                "conv2",
                SpectralNorm(Conv2D(inChannels: 64, outChannels: 128, kernel: 5, stride: 2, rng: rng), rng: rng)
            ),
            ("act2", LeakyReLU(alpha: alpha)),
            ("flatten", Flatten()),
            ("logit", SpectralNorm(Dense(inputs: 128 * 7 * 7, outputs: 1, rng: rng), rng: rng)),
        ])
        gan = GANStep(
            generator: generator, discriminator: discriminator, hyperparameters: h, descriptor: Self.descriptor,
            loss: HingeLoss())
    }
}
