import ZooEngine
import ZooKit

/// The seed "Generative Adversarial Networks" article's first listing (DESIGN.md): a small
/// dense GAN with ReLU layers. D ends in a logit: its sigmoid and the BCE are one
/// BCE-from-logits, the same function without float saturation.
public final class SimpleGAN: AdversarialArchitecture {
    public static let descriptor = ArchitectureDescriptor(
        name: "simple-gan", title: "Simple GAN",
        summary: "The article's first GAN: G 100→128→256→784 (ReLU, tanh), D 784→256→128→1 (ReLU); no BatchNorm.",
        reference: "seed \"Generative Adversarial Networks\" article, first listing (Goodfellow et al. 2014)",
        kind: .gan, conditional: false, latentSize: 100,
        recipes: [
            // Two time scales: with one rate for both (2e-4) the samples stay speckled and the
            // score levels off near 6.7; G at 4e-4 and D at 1e-4 passes 8 by epoch 50.
            Recipe(
                Recipe.defaultName,
                "Adam G 4e-4, D 1e-4 (β1 0.5), batch 64, 100 epochs, label smoothing 0.1, generator EMA 0.999; the joint step",
                Hyperparameters(
                    batchSize: 64, epochs: 100, generatorLearningRate: 4e-4, discriminatorLearningRate: 1e-4,
                    beta1: 0.5, aids: TrainingAids(labelSmoothing: 0.1, emaDecay: 0.999))),
            Recipe(
                Recipe.seedName,
                "the article's loop: batches of 32, D on a real then a fake batch (two updates), then G; Keras Adam 1e-3",
                Hyperparameters(
                    batchSize: 32, epochs: 30, generatorLearningRate: 1e-3, discriminatorLearningRate: 1e-3,
                    loop: .keras)),
        ])

    public let gan: GANStep

    public init(hyperparameters h: Hyperparameters, rng: RandomSource) {
        // z: [N, 100] → [N, 1, 28, 28]
        let generator = Sequential([
            ("dense1", Dense(inputs: Self.descriptor.latentSize, outputs: 128, rng: rng)), ("relu1", ReLU()),
            ("dense2", Dense(inputs: 128, outputs: 256, rng: rng)), ("relu2", ReLU()),
            ("dense3", Dense(inputs: 256, outputs: 784, rng: rng)), ("tanh", Tanh()),
            ("reshape", Reshape([1, 28, 28])),
        ])
        // x: [N, 1, 28, 28] → logit [N, 1]
        let discriminator = Sequential([
            ("flatten", Flatten()),
            ("dense1", Dense(inputs: 784, outputs: 256, rng: rng)), ("relu1", ReLU()),
            ("dense2", Dense(inputs: 256, outputs: 128, rng: rng)), ("relu2", ReLU()),
            ("logit", Dense(inputs: 128, outputs: 1, rng: rng)),
        ])
        gan = GANStep(
            generator: generator, discriminator: discriminator, hyperparameters: h, descriptor: Self.descriptor)
    }
}
