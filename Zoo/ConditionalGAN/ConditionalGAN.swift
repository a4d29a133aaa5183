import ZooEngine
import ZooKit

/// The seed "Generative Adversarial Networks" article's conditional GAN (DESIGN.md):
/// both networks see the digit as a one-hot concatenated to their input.
public final class ConditionalGAN: AdversarialArchitecture {
    public static let descriptor = ArchitectureDescriptor(
        name: "cgan", title: "Conditional GAN",
        summary: "Label-conditioned dense GAN: G(noise ⊕ one-hot) 110→128→784, D(image ⊕ one-hot) 794→256→128→1.",
        reference: "Mirza & Osindero 2014; seed \"Generative Adversarial Networks\" article",
        kind: .gan, conditional: true, latentSize: 100,
        recipes: [
            Recipe(
                Recipe.defaultName,
                "Adam 2e-4 (β1 0.5), batch 256, 150 epochs, generator EMA 0.999 (the seed's 1e-3 does not train)",
                Hyperparameters(
                    batchSize: 256, epochs: 150, generatorLearningRate: 2e-4, discriminatorLearningRate: 2e-4,
                    beta1: 0.5, aids: TrainingAids(emaDecay: 0.999))),
            Recipe(
                Recipe.seedName, "the seed article's values: Adam 1e-3 (β1 0.9), batch 256, 20 epochs",
                Hyperparameters(
                    batchSize: 256, epochs: 20, generatorLearningRate: 1e-3, discriminatorLearningRate: 1e-3)),
        ])

    public let gan: GANStep

    public init(hyperparameters h: Hyperparameters, rng: RandomSource) {
        // concat(z [N, 100], onehot [N, 10]) → [N, 1, 28, 28]
        let generator = Sequential([
            ("dense1", Dense(inputs: Self.descriptor.latentSize + Self.descriptor.classes, outputs: 128, rng: rng)),
            ("relu1", ReLU()),
            ("dense2", Dense(inputs: 128, outputs: 784, rng: rng)), ("tanh", Tanh()),
            ("reshape", Reshape([1, 28, 28])),
        ])
        // concat(flatten(x) [N, 784], onehot [N, 10]) → logit [N, 1]
        let discriminator = Sequential([
            ("dense1", Dense(inputs: 794, outputs: 256, rng: rng)), ("relu1", ReLU()),
            ("dense2", Dense(inputs: 256, outputs: 128, rng: rng)), ("relu2", ReLU()),
            ("logit", Dense(inputs: 128, outputs: 1, rng: rng)),
        ])
        gan = GANStep(
            generator: generator, discriminator: discriminator, hyperparameters: h, descriptor: Self.descriptor)
    }
}
