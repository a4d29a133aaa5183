import ZooEngine
import ZooKit

/// ACGAN (Odena et al. 2017): G draws the digit it is asked for (noise ⊕ one-hot, as the
/// cDCGAN's); D sees the image alone and outputs, beside its real/fake logit, 10 class
/// logits (the auxiliary classifier head). D learns to classify real and fake images; G is
/// rewarded when its fakes are classified as asked.
public final class ACGAN: AdversarialArchitecture {
    public static let descriptor = ArchitectureDescriptor(
        name: "acgan", title: "ACGAN",
        summary:
            "Auxiliary-classifier GAN: cDCGAN-shaped G(noise ⊕ one-hot); conv D on the image alone with a real/fake logit and a 10-class head.",
        reference: "Odena et al. 2017, Conditional Image Synthesis with Auxiliary Classifier GANs",
        kind: .gan, conditional: true, latentSize: 100,
        recipes: [
            Recipe(
                Recipe.defaultName,
                "Adam 2e-4 (β1 0.5), batch 128, 30 epochs, class loss weight 1, generator EMA 0.999",
                Hyperparameters(
                    batchSize: 128, epochs: 30, generatorLearningRate: 2e-4, discriminatorLearningRate: 2e-4,
                    beta1: 0.5, extras: ["dropout": 0.3, "leakyAlpha": 0.2, "auxiliaryWeight": 1],
                    aids: TrainingAids(emaDecay: 0.999)))
        ],
        hyperparameterHelp: Hyperparameters.standardHelp + [
            ("extras.auxiliaryWeight", "weight of the class cross-entropy in D's and G's losses (in 0...100)")
        ])

    public let gan: GANStep

    public init(hyperparameters h: Hyperparameters, rng: RandomSource) throws {
        let alpha = Float(h.extras["leakyAlpha"] ?? 0.2)
        let dropout = Float(h.extras["dropout"] ?? 0.3)
        let weight = h.extras["auxiliaryWeight"] ?? 1
        guard weight.isFinite, (0...100).contains(weight) else {
            throw ZooError.invalidHyperparameter("auxiliaryWeight \(weight) must be in 0...100")
        }
        let d = Self.descriptor
        // concat(z [N, 100], onehot [N, 10]) → [N, 1, 28, 28]
        let generator = Sequential([
            ("dense", Dense(inputs: d.latentSize + d.classes, outputs: 7 * 7 * 128, bias: false, rng: rng)),
            ("bn0", BatchNorm(features: 7 * 7 * 128, leakyAlpha: alpha)),  // BN → LeakyReLU, fused
            ("reshape", Reshape([128, 7, 7])),
            ("deconv1", Conv2DTranspose(inChannels: 128, outChannels: 64, kernel: 5, stride: 2, bias: false, rng: rng)),
            ("bn1", BatchNorm(features: 64, leakyAlpha: alpha)),
            ("deconv2", Conv2DTranspose(inChannels: 64, outChannels: 1, kernel: 5, stride: 2, bias: false, rng: rng)),
            ("tanh", Tanh()),
        ])
        // x: [N, 1, 28, 28] → [N, 1 + 10]: the real/fake logit, then the class logits.
        let discriminator = Sequential([
            ("conv1", Conv2D(inChannels: 1, outChannels: 64, kernel: 5, stride: 2, rng: rng)),
            ("act1", LeakyReLU(alpha: alpha)),
            ("drop1", Dropout(rate: dropout, rng: rng)),
            ("conv2", Conv2D(inChannels: 64, outChannels: 128, kernel: 5, stride: 2, rng: rng)),
            ("act2", LeakyReLU(alpha: alpha)),
            ("drop2", Dropout(rate: dropout, rng: rng)),
            ("flatten", Flatten()),
            ("heads", Dense(inputs: 128 * 7 * 7, outputs: 1 + d.classes, rng: rng)),
        ])
        gan = GANStep(
            generator: generator, discriminator: discriminator, hyperparameters: h, descriptor: d,
            auxiliaryClasses: d.classes)
        gan.auxiliaryWeight = Float(weight)
        gan.discriminatorChunk = 48
    }
}
