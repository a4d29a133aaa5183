import ZooEngine
import ZooKit

/// LSGAN (Mao et al. 2017): least-squares loss (a = 0, b = c = 1) on DCGAN-shaped networks.
/// Its D has neither BatchNorm nor dropout, so its passes run in one slice per thread.
public final class LSGAN: AdversarialArchitecture {
    public static let descriptor = ArchitectureDescriptor(
        name: "lsgan", title: "LSGAN",
        summary: "Least-squares GAN: compact DCGAN generator, conv D, D and G fit least-squares targets.",
        reference: "Mao et al. 2017, Least Squares Generative Adversarial Networks",
        kind: .gan, conditional: false, latentSize: 100,
        recipes: [
            Recipe(
                Recipe.defaultName, "Adam 2e-4 (β1 0.5), batch 128, 30 epochs, least-squares loss, generator EMA 0.999",
                Hyperparameters(
                    batchSize: 128, epochs: 30, generatorLearningRate: 2e-4, discriminatorLearningRate: 2e-4,
                    beta1: 0.5, extras: ["leakyAlpha": 0.2], aids: TrainingAids(emaDecay: 0.999)))
        ])

    public let gan: GANStep

    public init(hyperparameters h: Hyperparameters, rng: RandomSource) {
        let alpha = Float(h.extras["leakyAlpha"] ?? 0.2)
        let latent = Self.descriptor.latentSize
        // z: [N, 100] → [N, 1, 28, 28]
        let generator = Sequential([
            ("dense", Dense(inputs: latent, outputs: 7 * 7 * 128, bias: false, rng: rng)),
            ("bn0", BatchNorm(features: 7 * 7 * 128, leakyAlpha: alpha)),  // BN → LeakyReLU, fused
            ("reshape", Reshape([128, 7, 7])),
            ("deconv1", Conv2DTranspose(inChannels: 128, outChannels: 64, kernel: 5, stride: 2, bias: false, rng: rng)),
            ("bn1", BatchNorm(features: 64, leakyAlpha: alpha)),
            ("deconv2", Conv2DTranspose(inChannels: 64, outChannels: 1, kernel: 5, stride: 2, bias: false, rng: rng)),
            ("tanh", Tanh()),
        ])
        // x: [N, 1, 28, 28] → output [N, 1]
        let discriminator = Sequential([
            ("conv1", Conv2D(inChannels: 1, outChannels: 64, kernel: 5, stride: 2, rng: rng)),
            ("act1", LeakyReLU(alpha: alpha)),
            ("conv2", Conv2D(inChannels: 64, outChannels: 128, kernel: 5, stride: 2, rng: rng)),
            ("act2", LeakyReLU(alpha: alpha)),
            ("flatten", Flatten()),
            ("output", Dense(inputs: 128 * 7 * 7, outputs: 1, rng: rng)),
        ])
        gan = GANStep(
            generator: generator, discriminator: discriminator, hyperparameters: h, descriptor: Self.descriptor,
            loss: LeastSquaresLoss())
        gan.discriminatorChunk = 48
    }
}
