import ZooCatalog
import ZooEngine
import ZooKit

/// A GAN that exists only in the tests, listed in `testCatalog` after the built-in plugins.
/// No test names it: the generic suites (CatalogSuiteTests, GANStepTests) iterate the catalog,
/// and `testTheTestOnlyPluginIsCheckedByEveryGenericSuite` proves they reach it, as they
/// would reach a new plugin given its catalog line.
final class TinyTestGAN: AdversarialArchitecture {
    static let descriptor = ArchitectureDescriptor(
        name: "test-gan", title: "Test-only GAN", summary: "Dense conditional GAN, tests only.",
        reference: "ZooKitTests",
        kind: .gan, conditional: true, latentSize: 8,
        recipes: [
            Recipe(
                Recipe.defaultName, "small and quick",
                Hyperparameters(
                    batchSize: 8, epochs: 1, generatorLearningRate: 1e-3, discriminatorLearningRate: 1e-3, beta1: 0.5))
        ])

    let gan: GANStep

    init(hyperparameters h: Hyperparameters, rng: RandomSource) {
        // z ⊕ one-hot: [N, 18] → [N, 1, 28, 28]
        let generator = Sequential([
            ("dense", Dense(inputs: 18, outputs: 784, rng: rng)),
            ("tanh", Tanh()),
            ("reshape", Reshape([1, 28, 28])),
        ])
        // flatten(x) ⊕ one-hot: [N, 794] → logit [N, 1]
        let discriminator = Sequential([
            ("dense", Dense(inputs: 794, outputs: 16, rng: rng)),
            ("act", LeakyReLU(alpha: 0.2)),
            ("logit", Dense(inputs: 16, outputs: 1, rng: rng)),
        ])
        gan = GANStep(
            generator: generator, discriminator: discriminator, hyperparameters: h, descriptor: Self.descriptor)
    }
}

/// The built-in catalog plus the test-only plugin: what the generic suites iterate.
let testCatalog = Catalog(builtinCatalog.entries + [TinyTestGAN.self])
