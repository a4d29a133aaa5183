import ZooEngine
import ZooKit

/// WGAN-GP (Gulrajani et al. 2017) on DCGAN-shaped networks: a Wasserstein critic with the
/// gradient penalty, five critic updates per generator update. The critic has no BatchNorm
/// (the penalty is per image), no dropout and, like the paper's MNIST critic, no
/// normalisation at all: it is piecewise linear, so the penalty's gradient is exact
/// (`GradientPenalty`). The generator is the compact DCGAN one (dense
/// 7·7·128, two transposed convolutions) so an epoch takes minutes on two cores.
public final class WGANGP: AdversarialArchitecture {
    public static let descriptor = ArchitectureDescriptor(
        name: "wgan-gp", title: "WGAN-GP",
        summary:
            "Wasserstein GAN with gradient penalty (λ 10, 5 critic steps per G step): compact DCGAN generator, conv critic without normalisation.",
        reference: "Gulrajani et al. 2017, Improved Training of Wasserstein GANs",
        kind: .gan, conditional: false, latentSize: 100,
        recipes: [
            // The paper's Adam (1e-4, β1 0, β2 0.9) is for its 200k-iteration runs; 2e-4 with
            // β1 0.5 moves faster in the epochs a CPU affords.
            Recipe(
                Recipe.defaultName,
                "Adam 2e-4 (β1 0.5, β2 0.9), batch 64, 5 critic steps per G step, λ 10, generator EMA 0.999",
                Hyperparameters(
                    batchSize: 64, epochs: 40, generatorLearningRate: 2e-4, discriminatorLearningRate: 2e-4,
                    beta1: 0.5, beta2: 0.9, extras: ["leakyAlpha": 0.2, "gpWeight": 10],
                    aids: TrainingAids(discriminatorSteps: 5, emaDecay: 0.999))),
            Recipe(
                "paper", "the paper's values: Adam 1e-4 (β1 0, β2 0.9), batch 64, 5 critic steps, λ 10",
                Hyperparameters(
                    batchSize: 64, epochs: 40, generatorLearningRate: 1e-4, discriminatorLearningRate: 1e-4,
                    beta1: 0, beta2: 0.9, extras: ["leakyAlpha": 0.2, "gpWeight": 10],
                    aids: TrainingAids(discriminatorSteps: 5))),
        ],
        hyperparameterHelp: Hyperparameters.standardHelp + [
            ("extras.gpWeight", "λ, the gradient penalty's weight (in 0...1000)"),
            ("extras.leakyAlpha", "LeakyReLU slope"),
        ])

    public let gan: GANStep

    public init(hyperparameters h: Hyperparameters, rng: RandomSource) throws {
        let alpha = Float(h.extras["leakyAlpha"] ?? 0.2)
        let lambda = h.extras["gpWeight"] ?? 10
        guard lambda.isFinite, (0...1000).contains(lambda) else {
            throw ZooError.invalidHyperparameter("gpWeight \(lambda) must be in 0...1000 (the paper uses 10)")
        }
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
        // x: [N, 1, 28, 28] → critic value [N, 1]
        let critic = Sequential([
            ("conv1", Conv2D(inChannels: 1, outChannels: 64, kernel: 5, stride: 2, rng: rng)),
            ("act1", LeakyReLU(alpha: alpha)),
            ("conv2", Conv2D(inChannels: 64, outChannels: 128, kernel: 5, stride: 2, rng: rng)),
            ("act2", LeakyReLU(alpha: alpha)),
            ("flatten", Flatten()),
            ("critic", Dense(inputs: 128 * 7 * 7, outputs: 1, rng: rng)),
        ])
        gan = GANStep(
            generator: generator, discriminator: critic, hyperparameters: h, descriptor: Self.descriptor,
            loss: WassersteinLoss(penalty: GradientPenalty(weight: Float(lambda))))
    }
}
