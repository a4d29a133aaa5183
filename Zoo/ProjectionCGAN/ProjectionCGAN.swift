import ZooEngine
import ZooKit

/// A projection-discriminator cGAN (Miyato & Koyama 2018): D(x, y) = ψ(φ(x)) + ⟨embed(y), φ(x)⟩,
/// the label entering as an inner product with the image's features rather than as an input;
/// spectral norm on D's weights and the hinge loss, as in the paper. G is the cDCGAN's
/// (noise ⊕ one-hot).
public final class ProjectionCGAN: AdversarialArchitecture {
    public static let descriptor = ArchitectureDescriptor(
        name: "projection-cgan", title: "Projection cGAN",
        summary:
            "Conditional GAN with a projection discriminator: cDCGAN-shaped G; spectrally normalised conv D whose output adds ⟨class embedding, features⟩; hinge loss.",
        reference: "Miyato & Koyama 2018, cGANs with Projection Discriminator",
        kind: .gan, conditional: true, latentSize: 100,
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
        let d = Self.descriptor
        // concat(z [N, 100], onehot [N, 10]) → [N, 1, 28, 28]
        let generator = Sequential([
            ("dense", Dense(inputs: d.latentSize + d.classes, outputs: 7 * 7 * 128, bias: false, rng: rng)),
            ("bn0", BatchNorm(features: 7 * 7 * 128, leakyAlpha: 0.2)),  // BN → LeakyReLU, fused
            ("reshape", Reshape([128, 7, 7])),
            ("deconv1", Conv2DTranspose(inChannels: 128, outChannels: 64, kernel: 5, stride: 2, bias: false, rng: rng)),
            ("bn1", BatchNorm(features: 64, leakyAlpha: 0.2)),
            ("deconv2", Conv2DTranspose(inChannels: 64, outChannels: 1, kernel: 5, stride: 2, bias: false, rng: rng)),
            ("tanh", Tanh()),
        ])
        // φ: x [N, 1, 28, 28] → features [N, 6272]
        let features = Sequential([
            ("conv1", SpectralNorm(Conv2D(inChannels: 1, outChannels: 64, kernel: 5, stride: 2, rng: rng), rng: rng)),
            ("act1", LeakyReLU(alpha: alpha)),
            (
                "conv2",
                SpectralNorm(Conv2D(inChannels: 64, outChannels: 128, kernel: 5, stride: 2, rng: rng), rng: rng)
            ),
            ("act2", LeakyReLU(alpha: alpha)),
            ("flatten", Flatten()),
        ])
        // concat(flatten(x) [N, 784], onehot [N, 10]) → logit [N, 1]
        let discriminator = Sequential([
            (
                "projection",
                LabelProjection(
                    features: features, featureCount: 128 * 7 * 7, imageShape: d.imageShape, classes: d.classes,
                    rng: rng)
            )
        ])
        gan = GANStep(
            generator: generator, discriminator: discriminator, hyperparameters: h, descriptor: d, loss: HingeLoss())
    }
}
