import XCTest
import ZooCatalog
import ZooEngine

@testable import ZooKit

/// Seed 004's two networks as the article writes them, and its Keras training loop.
final class SeedArticleTests: XCTestCase {
    /// Keras's parameter counts (DESIGN.md), trainable and with BatchNorm's moving statistics.
    func testParameterCountsAreKeras() throws {
        let expected: [(String, generator: Int, generatorAll: Int, discriminator: Int)] = [
            ("simple-gan", 247_440, 247_440, 233_985),
            ("dcgan-variant", 2_293_121, 2_293_505, 212_865),
        ]
        for (name, g, gAll, d) in expected {
            let type = try builtinCatalog.lookup(name)
            let model = try type.init(hyperparameters: type.descriptor.defaults, rng: RandomSource(seed: 1))
            XCTAssertEqual(model.trainableCount(of: "generator"), g, name)
            XCTAssertEqual(model.networks.first { $0.name == "generator" }?.network.totalCount, gAll, name)
            XCTAssertEqual(model.trainableCount(of: "discriminator"), d, name)
        }
    }

    func tinyGAN(_ loop: GANLoop) -> GANStep {
        let rng = RandomSource(seed: 21)
        let generator = Sequential([
            ("dense", Dense(inputs: 3, outputs: 784, rng: rng)), ("tanh", Tanh()), ("reshape", Reshape([1, 28, 28])),
        ])
        let discriminator = Sequential([
            ("flatten", Flatten()), ("dense", Dense(inputs: 784, outputs: 4, rng: rng)), ("relu", ReLU()),
            ("logit", Dense(inputs: 4, outputs: 1, rng: rng)),
        ])
        let h = Hyperparameters(
            batchSize: 5, epochs: 1, generatorLearningRate: 1e-3, discriminatorLearningRate: 1e-3, loop: loop)
        return GANStep(generator: generator, discriminator: discriminator, hyperparameters: h, latentSize: 3)
    }

    /// The Keras loop is the article's three calls, done here by hand with the same pieces:
    /// D on the real batch and a step; D on G's inference-mode fakes from a first noise draw
    /// and a step; G on a second noise draw through the updated, frozen D and a step.
    func testKerasLoopIsTheArticlesThreeCalls() throws {
        let images = Tensor(shape: [5, 1, 28, 28])
        RandomSource(seed: 2).fillUniform(images, -1, 1)
        let batch = Batch(images: images, labels: [0, 1, 2, 3, 4])

        let gan = tinyGAN(.keras)
        XCTAssertEqual(gan.loop, .keras)
        let rng = RandomSource(seed: 9)
        let result = gan.step(batch, rng: rng)

        let manual = tinyGAN(.joint)
        let rngManual = RandomSource(seed: 9)
        func bce(_ logits: Tensor, target: Float) -> (loss: Double, grad: Tensor) {
            let grad = Tensor(shape: logits.shape)
            var loss = 0.0
            for i in 0..<logits.count {
                let z = Double(logits.data[i]), p = 1 / (1 + exp(-z))
                loss += -(Double(target) * log(p) + (1 - Double(target)) * log(1 - p))
                grad.data[i] = Float(p - Double(target)) / Float(logits.count)
            }
            return (loss / Double(logits.count), grad)
        }
        let real = bce(manual.discriminator.forward(images, oneHot: nil, training: true), target: 1)
        manual.discriminator.backward(real.grad, needs: .parameters)
        manual.discriminatorOptimizer.step()
        let noise = Tensor(shape: [5, 3])
        rngManual.fillNormal(noise)
        let predicted = manual.generator.forward(noise, oneHot: nil, training: false)
        let fake = bce(manual.discriminator.forward(predicted, oneHot: nil, training: true), target: 0)
        manual.discriminator.backward(fake.grad, needs: .parameters)
        manual.discriminatorOptimizer.step()
        rngManual.fillNormal(noise)
        let g = manual.generator.forward(noise, oneHot: nil, training: true)
        let gLoss = bce(manual.discriminator.forward(g, oneHot: nil, training: true), target: 1)
        let dImages = manual.discriminator.backward(gLoss.grad, needs: .input)
        manual.generator.backward(dImages.reshaped(g.shape), needs: .parameters)
        manual.generatorOptimizer.step()

        XCTAssertEqual(result.discriminatorLoss, real.loss + fake.loss, accuracy: 1e-5)
        XCTAssertEqual(result.generatorLoss, gLoss.loss, accuracy: 1e-5)
        XCTAssertEqual(gan.discriminatorOptimizer.stepCount, 2, "two D updates a step")
        XCTAssertEqual(gan.generatorOptimizer.stepCount, 1)
        XCTAssertEqual(rng.state, rngManual.state, "two noise draws a step")
        for (a, b) in zip(
            gan.generator.body.trainableParameters + gan.discriminator.body.trainableParameters,
            manual.generator.body.trainableParameters + manual.discriminator.body.trainableParameters)
        {
            for (x, y) in zip(a.value.array, b.value.array) { XCTAssertEqual(x, y, accuracy: 1e-6) }
        }
        // The joint step is something else: one D update a step.
        let joint = tinyGAN(.joint)
        _ = joint.step(batch, rng: RandomSource(seed: 9))
        XCTAssertEqual(joint.discriminatorOptimizer.stepCount, 1)
    }

    /// `--recipe seed` of the article's plugins trains with its loop and batch of 32.
    func testSeedRecipesUseTheArticlesLoop() throws {
        for name in ["simple-gan", "dcgan-variant"] {
            let d = try builtinCatalog.lookup(name).descriptor
            let seed = try d.recipe(named: "seed").hyperparameters
            XCTAssertEqual(seed.loop, .keras, name)
            XCTAssertEqual(seed.batchSize, 32, name)
            XCTAssertEqual(
                [seed.learningRate(of: "generator"), seed.learningRate(of: "discriminator"), seed.beta1],
                [1e-3, 1e-3, 0.9], name)
            XCTAssertEqual(d.defaults.loop, .joint, name)
        }
    }
}
