import XCTest
import ZooCatalog
import ZooEngine

@testable import ZooKit

/// The adversarial step's gradients, checked against finite differences of its own losses:
/// G's gradient of the G loss and D's gradient of the D loss, through both networks.
final class GANStepTests: XCTestCase {
    /// Every GAN of the catalog: a new plugin gets these checks by its catalog line alone.
    static let adversarial: [String] = testCatalog.entries.compactMap { type in
        guard let model = try? type.init(hyperparameters: type.descriptor.defaults, rng: RandomSource(seed: 1)),
            model is any AdversarialArchitecture
        else { return nil }
        return type.descriptor.name
    }

    func testTheCatalogsGANsAreAllChecked() {
        XCTAssertTrue(
            Set(Self.adversarial).isSuperset(of: [
                "cgan", "dense-gan", "dcgan", "cdcgan", "simple-gan", "dcgan-variant", "test-gan",
            ]),
            "\(Self.adversarial)")
        XCTAssertFalse(Self.adversarial.contains("classifier"))
    }

    func check(_ architecture: String, network: String, configure: (GANStep) -> Void = { _ in }) throws {
        let type = try testCatalog.lookup(architecture)
        let rng = RandomSource(seed: 5)
        var h = type.descriptor.defaults
        h.batchSize = 6
        guard let model = try type.init(hyperparameters: h, rng: rng) as? any AdversarialArchitecture else {
            return XCTFail("\(architecture) is not adversarial")
        }
        let images = Tensor(shape: [6, 1, 28, 28])
        rng.fillUniform(images, -1, 1)
        let batch = Batch(images: images, labels: [0, 1, 2, 3, 4, 5])
        // WGAN-GP's penalty is discontinuous in D's weights wherever a LeakyReLU of D flips at
        // an interpolate (‖∇ₓD‖ jumps), so a finite difference of D's whole loss means nothing;
        // D's Wasserstein terms are checked here, the penalty's gradient against the exact
        // value in GradientPenaltyTests.
        if network == "discriminator", model.gan.loss.penalty != nil, model.gan.loss is WassersteinLoss {
            model.gan.loss = WassersteinLoss()
        }
        configure(model.gan)
        let saved = rng.state
        let net = network == "generator" ? model.gan.generator.body : model.gan.discriminator.body
        func loss() -> Double {
            rng.state = saved
            let r = model.gan.computeGradients(batch, rng: rng)
            return network == "generator" ? r.generatorLoss : r.discriminatorLoss
        }
        model.gan.generator.body.zeroGradients()
        model.gan.discriminator.body.zeroGradients()
        _ = loss()
        let (numeric, analytic) = directionalDerivatives(net.trainableParameters, rng: rng, eps: 2e-4, loss: loss)
        XCTAssertEqual(
            numeric, analytic, accuracy: 0.05 * max(0.1, abs(analytic)),
            "\(architecture) \(network) \(model.gan.loss.name)")
        XCTAssertGreaterThan(abs(analytic), 1e-4, "\(architecture) \(network): gradient vanished")
    }

    func testGeneratorGradients() throws {
        for a in Self.adversarial { try check(a, network: "generator") }
    }

    func testDiscriminatorGradients() throws {
        for a in Self.adversarial { try check(a, network: "discriminator") }
    }

    /// D in chunks of 4 over a batch of 6 (one uneven chunk) gives the whole-batch losses and
    /// gradients. Dropout is off so both runs see the same D.
    func testDiscriminatorChunksSumToTheWholeBatch() throws {
        for architecture in ["dcgan", "cdcgan"] {
            let whole = try oneStep(architecture, seed: 9, dropout: 0) { $0.discriminatorChunk = .max }
            let chunked = try oneStep(architecture, seed: 9, dropout: 0) { $0.discriminatorChunk = 4 }
            assertSame(whole, chunked, lossAccuracy: 1e-5, architecture)
        }
    }

    /// The fake pass's one shared backward (G's input gradient rescaled from D's, image by
    /// image) gives the losses and gradients of two separate backwards, and a D with a
    /// BatchNorm layer, whose images are not independent, is never given it.
    func testSharedFakeBackwardMatchesTwoBackwards() throws {
        for architecture in Self.adversarial {
            // Same seed and draws in both runs: the same noise and the same dropout masks.
            let two = try oneStep(architecture, seed: 11) { gan in
                gan.sharedBackwardLowestLogit = .infinity
                XCTAssertFalse(gan.discriminator.body.mixesImages, architecture)
            }
            var auxiliary = false
            let shared = try oneStep(architecture, seed: 11) {
                $0.sharedBackwardLowestLogit = -30
                auxiliary = $0.auxiliaryClasses > 0
            }
            XCTAssertEqual(two.sharedPasses, 0, "\(architecture): the shared backward ran at +infinity")
            if auxiliary {
                // D's and G's upstreams differ in the class columns: never one backward.
                XCTAssertEqual(shared.sharedPasses, 0, "\(architecture): a class head took the shared backward")
            } else {
                XCTAssertGreaterThan(shared.sharedPasses, 0, "\(architecture): the shared backward did not run")
            }
            assertSame(two, shared, lossAccuracy: 1e-6, architecture)
        }
        let withBatchNorm = Sequential([
            ("dense", Dense(inputs: 4, outputs: 2, rng: RandomSource(seed: 1))),
            ("bn", BatchNorm(features: 2)),
        ])
        XCTAssertTrue(withBatchNorm.mixesImages)
    }

    /// D's passes in one slice per thread, each on a replica of D, give the losses and
    /// gradients of D's passes over the whole batch; a D with Dropout (whose masks come from
    /// the shared generator) or BatchNorm never takes them. Threads.count is 2 here (tests do
    /// not configure the pool, so the two slices run one after the other on this thread).
    func testParallelDiscriminatorMatchesWholeBatch() throws {
        XCTAssertGreaterThan(Threads.count, 1)
        for architecture in ["cgan", "dense-gan"] {
            let whole = try oneStep(architecture, seed: 13) { $0.parallelDiscriminator = false }
            let sliced = try oneStep(architecture, seed: 13) { $0.parallelDiscriminator = true }
            XCTAssertEqual(whole.parallelSteps, 0, architecture)
            XCTAssertEqual(sliced.parallelSteps, 1, "\(architecture): the parallel passes did not run")
            // cgan's G has replicas too (its whole step is sliced); dense-gan's G has BatchNorm.
            XCTAssertEqual(sliced.wholeSteps, architecture == "cgan" ? 1 : 0, architecture)
            assertSame(whole, sliced, lossAccuracy: 1e-6, architecture)
        }
        for architecture in ["dcgan", "cdcgan"] {
            let step = try oneStep(architecture, seed: 13) { $0.parallelDiscriminator = true }
            XCTAssertEqual(step.parallelSteps, 0, "\(architecture): a D with Dropout has no replica")
        }
    }

    /// The loss seam: every loss of the logits a later plugin may pick (least squares, hinge,
    /// Wasserstein) gives gradients that match finite differences of its own losses, through
    /// a plain and a conditional GAN, with one shared backward where its ratio allows it.
    func testOtherLossesThroughTheSeam() throws {
        let losses: [any AdversarialLoss] = [LeastSquaresLoss(), HingeLoss(), WassersteinLoss()]
        for loss in losses {
            for architecture in ["dense-gan", "cgan"] {
                for network in ["generator", "discriminator"] {
                    try check(architecture, network: network) { $0.loss = loss }
                }
                let two = try oneStep(architecture, seed: 11) {
                    $0.loss = loss; $0.sharedBackwardLowestLogit = .infinity
                }
                let shared = try oneStep(architecture, seed: 11) { $0.loss = loss }
                XCTAssertEqual(two.sharedPasses, 0)
                if loss is WassersteinLoss {
                    XCTAssertGreaterThan(shared.sharedPasses, 0, "\(loss.name): its ratio is always −1")
                }
                assertSame(two, shared, lossAccuracy: 1e-6, "\(architecture) \(loss.name)")
            }
        }
    }

    /// A penalty on the seam runs once per D update, serially on D, and its gradient and value
    /// join D's: the finite-difference check of D's loss covers it.
    func testAPenaltyJoinsTheDiscriminatorsLoss() throws {
        let penalty = SquaredLogitPenalty(weight: 0.5)
        for architecture in ["dense-gan", "cgan"] {
            try check(architecture, network: "discriminator") { $0.loss = PenalisedBCE(penalty: penalty) }
            let plain = try oneStep(architecture, seed: 3) { $0.parallelDiscriminator = false }
            let penalised = try oneStep(architecture, seed: 3) { $0.loss = PenalisedBCE(penalty: penalty) }
            XCTAssertEqual(penalised.parallelSteps, 0, "\(architecture): a penalty runs on D itself")
            XCTAssertEqual(
                penalised.losses.generatorLoss, plain.losses.generatorLoss, accuracy: 1e-9, "G's loss has no penalty")
            XCTAssertGreaterThan(
                penalised.losses.discriminatorLoss, plain.losses.discriminatorLoss,
                "\(architecture): the penalty joins D's loss")
        }
    }

    struct OneStep {
        let losses: StepResult
        let gradients: [[Float]]  // G's then D's trainable parameters
        let sharedPasses: Int
        let parallelSteps: Int
        let wholeSteps: Int
    }

    /// computeGradients once, on a batch of 6 uniform images, after `configure` sets up the step.
    func oneStep(
        _ architecture: String, seed: UInt64, dropout: Float? = nil,
        configure: (GANStep) -> Void
    ) throws -> OneStep {
        let type = try testCatalog.lookup(architecture)
        var h = type.descriptor.defaults
        h.batchSize = 6
        if let dropout { h.extras["dropout"] = Double(dropout) }
        let rng = RandomSource(seed: seed)
        guard let model = try type.init(hyperparameters: h, rng: rng) as? any AdversarialArchitecture else {
            XCTFail("\(architecture) is not adversarial")
            throw CocoaError(.featureUnsupported)
        }
        configure(model.gan)
        let images = Tensor(shape: [6, 1, 28, 28])
        rng.fillUniform(images, -1, 1)
        let losses = model.gan.computeGradients(Batch(images: images, labels: [0, 1, 2, 3, 4, 5]), rng: rng)
        let gradients =
            (model.gan.generator.body.trainableParameters + model.gan.discriminator.body.trainableParameters)
            .map { $0.grad.array }
        return OneStep(
            losses: losses, gradients: gradients, sharedPasses: model.gan.sharedFakeBackwards,
            parallelSteps: model.gan.parallelDiscriminatorSteps, wholeSteps: model.gan.parallelWholeSteps)
    }

    func assertSame(_ a: OneStep, _ b: OneStep, lossAccuracy: Double, _ architecture: String) {
        XCTAssertEqual(
            a.losses.discriminatorLoss, b.losses.discriminatorLoss, accuracy: lossAccuracy, "\(architecture) D loss")
        XCTAssertEqual(a.losses.generatorLoss, b.losses.generatorLoss, accuracy: lossAccuracy, "\(architecture) G loss")
        XCTAssertEqual(a.gradients.count, b.gradients.count, architecture)
        for (x, y) in zip(a.gradients, b.gradients) {
            let scale = x.map(abs).max() ?? 0
            XCTAssertGreaterThan(scale, 0, "\(architecture): a zero gradient proves nothing")
            for (u, v) in zip(x, y) { XCTAssertEqual(u, v, accuracy: 1e-4 * max(scale, 1e-3), architecture) }
        }
    }
}

/// weight · D(x)² on the real images (a drift term): a penalty that needs its own D pass.
struct SquaredLogitPenalty: DiscriminatorPenalty {
    let weight: Float
    func accumulate(
        discriminator: LabelledNetwork, real: Tensor, fake: Tensor, labels: Tensor?,
        inverseN: Float, rng: RandomSource
    ) -> Double {
        let logits = discriminator.forward(real, oneHot: labels, training: true)
        let upstream = Tensor(shape: logits.shape)
        var sum = 0.0
        for i in 0..<logits.count {
            let z = logits.data[i]
            sum += Double(weight * z * z)
            upstream.data[i] = 2 * weight * z * inverseN
        }
        discriminator.backward(upstream, needs: .parameters)
        return sum
    }
}

struct PenalisedBCE: AdversarialLoss {
    let penalty: (any DiscriminatorPenalty)?
    var name: String { "bce+penalty" }
    func real(_ z: Float, realTarget: Float) -> (term: Double, slope: Float) {
        NonSaturatingBCE().real(z, realTarget: realTarget)
    }
    func fake(_ z: Float) -> (term: Double, slope: Float) { NonSaturatingBCE().fake(z) }
    func generator(_ z: Float) -> (term: Double, slope: Float) { NonSaturatingBCE().generator(z) }
    func sharedBackwardRatio(_ z: Float) -> Float? { NonSaturatingBCE().sharedBackwardRatio(z) }
}
