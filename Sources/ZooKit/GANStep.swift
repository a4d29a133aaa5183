import Foundation
import ZooEngine

/// A network that may see a class label: when conditional, its input is
/// concat(flatten(x), one-hot(label)) (DESIGN.md, conditional GAN); otherwise just x.
public final class LabelledNetwork {
    public let body: Sequential
    public let classes: Int
    private let concat: ConcatColumns?
    private var inputShape: [Int] = []

    public init(_ body: Sequential, conditionalOn classes: Int? = nil) {
        self.body = body
        self.classes = classes ?? 0
        self.concat = classes == nil ? nil : ConcatColumns()
    }

    /// x: [N, ...]; oneHot: [N, classes] when conditional.
    public func forward(_ x: Tensor, oneHot: Tensor?, training: Bool) -> Tensor {
        guard let concat else { return body.forward(x, training: training) }
        guard let oneHot else { preconditionFailure("conditional network called without labels") }
        inputShape = x.shape
        let joined = concat.forward(x.reshaped([x.batch, x.perSample]), oneHot)
        return body.forward(joined, training: training)
    }

    /// Returns dL/dx in x's shape (labels get no gradient).
    @discardableResult
    public func backward(_ dy: Tensor, needs: GradientNeeds) -> Tensor {
        guard let concat else { return body.backward(dy, needs: needs) }
        let dJoined = body.backward(dy, needs: needs)
        guard needs.contains(.input) else { return dJoined }
        return concat.backward(dJoined).0.reshaped(inputShape)
    }
}

/// The adversarial step shared by every GAN plugin, as in the seeds (TensorFlow DCGAN
/// tutorial): G makes fakes from N(0,1) noise; D sees the real and the fake batch;
/// D loss = BCE(real→1) + BCE(fake→0); G loss = BCE(D(G(z))→1); both nets step with Adam.
///
/// D runs on the real batch and then on the fake batch, as the tutorial calls it twice.
/// Each pass's backward follows its own forward, so D's activation caches are sized for
/// one pass (N images or a chunk), and the G loss's input gradient covers only the fakes.
/// Both losses come from the one fake pass, as in the tutorial's single GradientTape, and
/// usually from one backward through D as well (see `sharedBackwardLowestLogit`).
public final class GANStep {
    public let generator: LabelledNetwork
    public let discriminator: LabelledNetwork
    public let generatorOptimizer: Adam
    public let discriminatorOptimizer: Adam
    public let latentSize: Int
    public let classes: Int

    // Reused buffers: a steady-state step allocates nothing.
    private let noise = Tensor(shape: [0])
    private let oneHotLabels = Tensor(shape: [0])
    private let dLogitsReal = Tensor(shape: [0])
    private let dLogitsFakeD = Tensor(shape: [0])
    private let dLogitsFakeG = Tensor(shape: [0])
    private let dFake = Tensor(shape: [0])
    /// Most images D processes in one pass (plugins with large convolutional Ds lower it
    /// to bound memory). A D with a layer that mixes images (BatchNorm) ignores it.
    public var discriminatorChunk = Int.max

    /// The fake pass's two gradients, D's of the D loss (upstream p/N per image, p = σ(z))
    /// and G's of the G loss (upstream (p − 1)/N), differ only in that per-image upstream
    /// scalar. When no layer of D mixes images, the backward is linear in each image's
    /// scalar, so one backward with p/N gives D's parameter gradients and an input
    /// gradient that, times (p − 1)/p = −e^(−z) image by image, is G's. That saves the
    /// second backward through D (for the DCGAN, its conv2 input gradient: ~1/7 of conv2).
    /// Below this logit, p/N is small enough (p < 1e-13 at −30) that gradients scaled by it
    /// would come close to float's subnormal range deep in D, so the fake pass takes two
    /// backwards instead. +infinity always takes two (the tests compare both).
    public var sharedBackwardLowestLogit: Float = -30
    /// Fake passes (chunks) that took the shared backward; the tests read it.
    internal private(set) var sharedFakeBackwards = 0

    public init(generator: LabelledNetwork, discriminator: LabelledNetwork, generatorOptimizer: Adam,
                discriminatorOptimizer: Adam, latentSize: Int, classes: Int) {
        self.generator = generator; self.discriminator = discriminator
        self.generatorOptimizer = generatorOptimizer; self.discriminatorOptimizer = discriminatorOptimizer
        self.latentSize = latentSize; self.classes = classes
    }

    private var conditional: Bool { discriminator.classes > 0 }

    /// One optimisation step of both networks. Returns (D loss, G loss).
    public func step(_ batch: Batch, rng: RandomSource) -> StepResult {
        let losses = computeGradients(batch, rng: rng)
        discriminatorOptimizer.step()
        generatorOptimizer.step()
        return losses
    }

    /// Forward and backward passes only: accumulates D's gradient of the D loss and G's
    /// gradient of the G loss into the parameters' `grad`, without updating weights.
    public func computeGradients(_ batch: Batch, rng: RandomSource) -> StepResult {
        let real = batch.images
        let n = real.batch

        noise.resize([n, latentSize])
        rng.fillNormal(noise)
        var labels: Tensor? = nil
        if conditional {
            // Fakes are asked for the real batch's labels, so D sees the same label mix twice.
            oneHot(batch.labels, classes: classes, into: oneHotLabels)
            labels = oneHotLabels
        }

        let fake = generator.forward(noise, oneHot: labels, training: true)
        precondition(fake.perSample == real.perSample, "generator output \(fake.shape) does not match images \(real.shape)")

        // BCE from logits, each half a mean over N (Keras reduction), summed for D.
        // With p = σ(z): BCE(z→1) = softplus(−z), d/dz = p − 1; BCE(z→0) = softplus(z), d/dz = p.
        let inverseN = 1 / Float(n)
        var dLoss = 0.0, gLoss = 0.0

        // D's passes go at most `discriminatorChunk` images at a time: with no BatchNorm in D
        // each image's loss terms are independent, so chunks sum to the same gradients
        // while D's activation caches shrink to a chunk.
        let perImage = !discriminator.body.mixesImages
        let most = perImage ? max(1, min(n, discriminatorChunk)) : n
        let passes = (n + most - 1) / most
        let chunk = (n + passes - 1) / passes     // balanced: 256 by ≤ 48 → 43 × 5 + 41
        var first = 0
        while first < n {
            let count = min(chunk, n - first), rows = first..<(first + count)
            let logits = discriminator.forward(real.rows(rows), oneHot: labels?.rows(rows), training: true)
            precondition(logits.count == count, "discriminator must output one logit per image")
            dLogitsReal.resize(logits.shape)
            for i in 0..<count {
                let z = logits.data[i]
                dLoss += Self.softplus(-z)
                dLogitsReal.data[i] = (Self.sigmoid(z) - 1) * inverseN
            }
            discriminator.backward(dLogitsReal, needs: .parameters)
            first += count
        }

        dFake.resize(fake.shape)
        first = 0
        while first < n {
            let count = min(chunk, n - first), rows = first..<(first + count)
            let logits = discriminator.forward(fake.rows(rows), oneHot: labels?.rows(rows), training: true)
            dLogitsFakeD.resize(logits.shape)
            dLogitsFakeG.resize(logits.shape)
            var shared = perImage
            for i in 0..<count {
                let z = logits.data[i], p = Self.sigmoid(z)
                dLoss += Self.softplus(z)
                gLoss += Self.softplus(-z)
                dLogitsFakeD.data[i] = p * inverseN
                dLogitsFakeG.data[i] = (p - 1) * inverseN
                if !(z >= sharedBackwardLowestLogit) { shared = false }   // NaN too
            }
            let perSample = fake.perSample
            let target = dFake.data + first * perSample
            if shared {
                // dL_G/dx = dL_D/dx · (p − 1)/p per image; (p − 1)/p = −e^(−z) without cancellation.
                for i in 0..<count { dLogitsFakeG.data[i] = -exp(-logits.data[i]) }
                let dImages = discriminator.backward(dLogitsFakeD, needs: .all)
                sharedFakeBackwards += 1
                let scales = dLogitsFakeG.data, source = dImages.data
                Threads.parallelFor(count, minimum: max(1, Threads.parallelThreshold / perSample)) { rows in
                    for i in rows {
                        let scale = scales[i], from = source + i * perSample, to = target + i * perSample
                        for j in 0..<perSample { to[j] = from[j] * scale }
                    }
                }
            } else {
                discriminator.backward(dLogitsFakeD, needs: .parameters)
                let dImages = discriminator.backward(dLogitsFakeG, needs: .input)
                target.update(from: dImages.data, count: count * perSample)
            }
            first += count
        }
        generator.backward(dFake, needs: .parameters)
        return StepResult(dLoss / Double(n), gLoss / Double(n))
    }

    /// log(1 + eˣ) without overflow, in double for the loss sums.
    @inline(__always) private static func softplus(_ x: Float) -> Double {
        Double(max(x, 0)) + Double(log1p(exp(-abs(x))))
    }

    @inline(__always) private static func sigmoid(_ z: Float) -> Float { 1 / (1 + exp(-z)) }

    /// Inference-mode generation. noise: [N, latent] → [N, C, H, W].
    public func generate(noise: Tensor, labels: [Int]?) -> Tensor {
        var labelTensor: Tensor? = nil
        if conditional, let labels {
            oneHot(labels, classes: classes, into: oneHotLabels)
            labelTensor = oneHotLabels
        }
        return generator.forward(noise, oneHot: labelTensor, training: false)
    }
}

public extension GANStep {
    /// Wires two networks with their Adam optimizers from the hyperparameters;
    /// `conditionalOn` makes both networks see a one-hot label.
    convenience init(generator: Sequential, discriminator: Sequential, hyperparameters h: Hyperparameters,
                     latentSize: Int, conditionalOn classes: Int? = nil) {
        self.init(
            generator: LabelledNetwork(generator, conditionalOn: classes),
            discriminator: LabelledNetwork(discriminator, conditionalOn: classes),
            generatorOptimizer: Adam(parameters: generator.trainableParameters, learningRate: h.generatorLearningRate,
                                     beta1: h.beta1, beta2: h.beta2, epsilon: h.epsilon),
            discriminatorOptimizer: Adam(parameters: discriminator.trainableParameters, learningRate: h.discriminatorLearningRate,
                                         beta1: h.beta1, beta2: h.beta2, epsilon: h.epsilon),
            latentSize: latentSize, classes: classes ?? 0)
    }
}

/// A GAN plugin only builds its two networks into a `GANStep`; the rest is shared.
public protocol AdversarialArchitecture: ImageGenerating {
    var gan: GANStep { get }
}

public extension AdversarialArchitecture {
    var networks: [(name: String, network: Sequential)] {
        [("generator", gan.generator.body), ("discriminator", gan.discriminator.body)]
    }
    var optimizers: [(name: String, optimizer: Adam)] {
        [("generator", gan.generatorOptimizer), ("discriminator", gan.discriminatorOptimizer)]
    }
    func trainStep(_ batch: Batch, rng: RandomSource) -> StepResult { gan.step(batch, rng: rng) }
    func generate(noise: Tensor, labels: [Int]?) -> Tensor { gan.generate(noise: noise, labels: labels) }
}
