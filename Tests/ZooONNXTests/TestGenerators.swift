import ZooEngine
import ZooKit

/// A one-layer discriminator for the test plugins, which are only ever exported (a
/// conditional D reads the flattened image ⊕ one-hot).
private func tinyDiscriminator(inputs: Int, _ rng: RandomSource) -> Sequential {
    Sequential([("logit", Dense(inputs: inputs, outputs: 1, rng: rng))])
}

private let quickRecipe = Recipe(
    Recipe.defaultName, "tests only",
    Hyperparameters(batchSize: 8, epochs: 1, generatorLearningRate: 1e-3, discriminatorLearningRate: 1e-3))

/// A generator with a Dropout layer, which the exporter has no mapping for.
final class DropoutGeneratorGAN: AdversarialArchitecture {
    static let descriptor = ArchitectureDescriptor(
        name: "test-dropout-gan", title: "Dropout generator", summary: "tests only", reference: "ZooONNXTests",
        kind: .gan, conditional: false, latentSize: 8, recipes: [quickRecipe])

    let gan: GANStep

    init(hyperparameters h: Hyperparameters, rng: RandomSource) {
        let generator = Sequential([
            ("dense", Dense(inputs: 8, outputs: 784, rng: rng)),
            ("drop", Dropout(rate: 0.5, rng: rng)),
            ("tanh", Tanh()),
            ("reshape", Reshape([1, 28, 28])),
        ])
        gan = GANStep(
            generator: generator, discriminator: tinyDiscriminator(inputs: 784, rng), hyperparameters: h,
            descriptor: Self.descriptor)
    }
}

/// Three transposed convolutions of the kernel sizes in `extras` ("k1" at stride 1, "k2" and
/// "k3" at stride 2, the last with a bias): even and odd kernels, kernels smaller than, equal
/// to and larger than the stride, so every case of the "same" padding mapping runs.
final class DeconvProbeGAN: AdversarialArchitecture {
    static let descriptor = ArchitectureDescriptor(
        name: "test-deconv-probe", title: "Transposed-convolution probe", summary: "tests only",
        reference: "ZooONNXTests", kind: .gan, conditional: true, latentSize: 6, recipes: [quickRecipe])

    let gan: GANStep

    init(hyperparameters h: Hyperparameters, rng: RandomSource) {
        let k1 = Int(h.extras["k1"] ?? 3), k2 = Int(h.extras["k2"] ?? 4), k3 = Int(h.extras["k3"] ?? 1)
        let d = Self.descriptor
        let generator = Sequential([
            ("dense", Dense(inputs: d.latentSize + d.classes, outputs: 4 * 7 * 7, rng: rng)),
            ("reshape", Reshape([4, 7, 7])),
            ("deconv1", Conv2DTranspose(inChannels: 4, outChannels: 3, kernel: k1, stride: 1, bias: false, rng: rng)),
            ("bn1", BatchNorm(features: 3, leakyAlpha: 0.2)),
            ("deconv2", Conv2DTranspose(inChannels: 3, outChannels: 2, kernel: k2, stride: 2, bias: false, rng: rng)),
            ("relu", ReLU()),
            ("deconv3", Conv2DTranspose(inChannels: 2, outChannels: 1, kernel: k3, stride: 2, rng: rng)),
            ("tanh", Tanh()),
        ])
        gan = GANStep(
            generator: generator, discriminator: tinyDiscriminator(inputs: 794, rng), hyperparameters: h,
            descriptor: Self.descriptor)
    }
}
