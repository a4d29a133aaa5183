import XCTest
import ZooCatalog
import ZooEngine
@testable import ZooKit

/// The adversarial step's gradients, checked against finite differences of its own losses:
/// G's gradient of the G loss and D's gradient of the D loss, through both networks.
final class GANStepTests: XCTestCase {
    func check(_ architecture: String, network: String) throws {
        let type = try builtinCatalog.lookup(architecture)
        let rng = RandomSource(seed: 5)
        var h = type.descriptor.defaults
        h.batchSize = 6
        guard let model = try type.init(hyperparameters: h, rng: rng) as? any AdversarialArchitecture else {
            return XCTFail("\(architecture) is not adversarial")
        }
        let images = Tensor(shape: [6, 1, 28, 28])
        rng.fillUniform(images, -1, 1)
        let batch = Batch(images: images, labels: [0, 1, 2, 3, 4, 5])
        let saved = rng.state
        let net = network == "generator" ? model.gan.generator.body : model.gan.discriminator.body
        func loss() -> Double {
            rng.state = saved
            let r = model.gan.computeGradients(batch, rng: rng)
            return network == "generator" ? r.second : r.first
        }
        model.gan.generator.body.zeroGradients()
        model.gan.discriminator.body.zeroGradients()
        _ = loss()
        let (numeric, analytic) = directionalDerivatives(net.trainableParameters, rng: rng, eps: 2e-4, loss: loss)
        XCTAssertEqual(numeric, analytic, accuracy: 0.05 * max(0.1, abs(analytic)), "\(architecture) \(network)")
        XCTAssertGreaterThan(abs(analytic), 1e-4, "\(architecture) \(network): gradient vanished")
    }

    func testGeneratorGradients() throws {
        for a in ["cgan", "dense-gan", "dcgan", "cdcgan"] { try check(a, network: "generator") }
    }

    func testDiscriminatorGradients() throws {
        for a in ["cgan", "dense-gan", "dcgan", "cdcgan"] { try check(a, network: "discriminator") }
    }

    /// D in chunks of 4 over a batch of 6 (one uneven chunk) gives the whole-batch losses and
    /// gradients. Dropout is off so both runs see the same D.
    func testDiscriminatorChunksSumToTheWholeBatch() throws {
        for architecture in ["dcgan", "cdcgan"] {
            var results: [(StepResult, [[Float]])] = []
            for chunk in [Int.max, 4] {
                let type = try builtinCatalog.lookup(architecture)
                var h = type.descriptor.defaults
                h.batchSize = 6
                h.extras["dropout"] = 0
                let rng = RandomSource(seed: 9)
                guard let model = try type.init(hyperparameters: h, rng: rng) as? any AdversarialArchitecture else {
                    return XCTFail("\(architecture) is not adversarial")
                }
                model.gan.discriminatorChunk = chunk
                let images = Tensor(shape: [6, 1, 28, 28])
                rng.fillUniform(images, -1, 1)
                let r = model.gan.computeGradients(Batch(images: images, labels: [0, 1, 2, 3, 4, 5]), rng: rng)
                let grads = (model.gan.generator.body.trainableParameters + model.gan.discriminator.body.trainableParameters)
                    .map { $0.grad.array }
                results.append((r, grads))
            }
            let (whole, chunked) = (results[0], results[1])
            XCTAssertEqual(whole.0.first, chunked.0.first, accuracy: 1e-5, "\(architecture) D loss")
            XCTAssertEqual(whole.0.second, chunked.0.second, accuracy: 1e-5, "\(architecture) G loss")
            for (a, b) in zip(whole.1, chunked.1) {
                let scale = a.map(abs).max() ?? 0
                XCTAssertGreaterThan(scale, 0, "\(architecture): a zero gradient proves nothing")
                for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-4 * max(scale, 1e-3)) }
            }
        }
    }

    /// The fake pass's one shared backward (G's input gradient rescaled from D's, image by
    /// image) gives the losses and gradients of two separate backwards, and a D with a
    /// BatchNorm layer, whose images are not independent, is never given it.
    func testSharedFakeBackwardMatchesTwoBackwards() throws {
        for architecture in ["cgan", "dense-gan", "dcgan", "cdcgan"] {
            var results: [(StepResult, [[Float]])] = []
            for lowest in [Float.infinity, -30] {
                let type = try builtinCatalog.lookup(architecture)
                var h = type.descriptor.defaults
                h.batchSize = 6
                let rng = RandomSource(seed: 11)
                guard let model = try type.init(hyperparameters: h, rng: rng) as? any AdversarialArchitecture else {
                    return XCTFail("\(architecture) is not adversarial")
                }
                XCTAssertFalse(model.gan.discriminator.body.mixesImages, architecture)
                model.gan.sharedBackwardLowestLogit = lowest
                let images = Tensor(shape: [6, 1, 28, 28])
                rng.fillUniform(images, -1, 1)
                // Same seed and draws in both runs: the same noise and the same dropout masks.
                let r = model.gan.computeGradients(Batch(images: images, labels: [0, 1, 2, 3, 4, 5]), rng: rng)
                XCTAssertEqual(model.gan.sharedFakeBackwards > 0, lowest < 0, "\(architecture): which backward ran")
                let grads = (model.gan.generator.body.trainableParameters + model.gan.discriminator.body.trainableParameters)
                    .map { $0.grad.array }
                results.append((r, grads))
            }
            let (two, shared) = (results[0], results[1])
            XCTAssertEqual(two.0.first, shared.0.first, accuracy: 1e-6, "\(architecture) D loss")
            XCTAssertEqual(two.0.second, shared.0.second, accuracy: 1e-6, "\(architecture) G loss")
            for (a, b) in zip(two.1, shared.1) {
                let scale = a.map(abs).max() ?? 0
                XCTAssertGreaterThan(scale, 0, "\(architecture): a zero gradient proves nothing")
                for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-4 * max(scale, 1e-3), architecture) }
            }
        }
        let withBatchNorm = Sequential([("dense", Dense(inputs: 4, outputs: 2, rng: RandomSource(seed: 1))),
                                        ("bn", BatchNorm(features: 2))])
        XCTAssertTrue(withBatchNorm.mixesImages)
    }
}
