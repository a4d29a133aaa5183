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
/// D runs once on [real; fake] stacked into one 2N batch. For discriminators without
/// BatchNorm (all seeds) that equals two calls, and it keeps GEMMs large. Both losses
/// come from that one forward pass, as in the tutorial's single GradientTape.
public final class GANStep {
    public let generator: LabelledNetwork
    public let discriminator: LabelledNetwork
    public let generatorOptimizer: Adam
    public let discriminatorOptimizer: Adam
    public let latentSize: Int
    public let classes: Int

    // Reused buffers: a steady-state step allocates nothing.
    private let noise = Tensor(shape: [0])
    private let oneHotHalf = Tensor(shape: [0])
    private let oneHotBoth = Tensor(shape: [0])
    private let stacked = Tensor(shape: [0])
    private let dLogitsD = Tensor(shape: [0])
    private let dLogitsG = Tensor(shape: [0])
    private let dFake = Tensor(shape: [0])

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
        let perImage = real.perSample

        noise.resize([n, latentSize])
        rng.fillNormal(noise)
        var labelsForG: Tensor? = nil
        var labelsForD: Tensor? = nil
        if conditional {
            // Fakes are asked for the real batch's labels, so D sees the same label mix twice.
            oneHot(batch.labels, classes: classes, into: oneHotHalf)
            oneHot(batch.labels + batch.labels, classes: classes, into: oneHotBoth)
            labelsForG = oneHotHalf
            labelsForD = oneHotBoth
        }

        let fake = generator.forward(noise, oneHot: labelsForG, training: true)
        precondition(fake.perSample == perImage, "generator output \(fake.shape) does not match images \(real.shape)")

        stacked.resize([2 * n] + Array(real.shape.dropFirst()))
        stacked.data.update(from: real.data, count: n * perImage)
        (stacked.data + n * perImage).update(from: fake.data, count: n * perImage)

        let logits = discriminator.forward(stacked, oneHot: labelsForD, training: true)
        precondition(logits.count == 2 * n, "discriminator must output one logit per image")

        // BCE from logits, each half a mean over N (Keras reduction), summed for D.
        dLogitsD.resize(logits.shape)
        dLogitsG.resize(logits.shape)
        var dLoss = 0.0, gLoss = 0.0
        let inverseN = 1 / Float(n)
        for i in 0..<(2 * n) {
            let z = logits.data[i]
            let softplusNegAbs = Double(log1p(exp(-abs(z))))
            let p = 1 / (1 + exp(-z))
            if i < n {
                dLoss += Double(max(z, 0) - z) + softplusNegAbs       // target 1
                dLogitsD.data[i] = (p - 1) * inverseN
                dLogitsG.data[i] = 0
            } else {
                dLoss += Double(max(z, 0)) + softplusNegAbs           // target 0
                gLoss += Double(max(z, 0) - z) + softplusNegAbs       // target 1
                dLogitsD.data[i] = p * inverseN
                dLogitsG.data[i] = (p - 1) * inverseN
            }
        }

        discriminator.backward(dLogitsD, needs: .parameters)
        let dStacked = discriminator.backward(dLogitsG, needs: .input)
        dFake.resize(fake.shape)
        dFake.data.update(from: dStacked.data + n * perImage, count: n * perImage)
        generator.backward(dFake, needs: .parameters)
        return StepResult(dLoss / Double(n), gLoss / Double(n))
    }

    /// Inference-mode generation. noise: [N, latent] → [N, C, H, W].
    public func generate(noise: Tensor, labels: [Int]?) -> Tensor {
        var labelTensor: Tensor? = nil
        if conditional, let labels {
            oneHot(labels, classes: classes, into: oneHotHalf)
            labelTensor = oneHotHalf
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
