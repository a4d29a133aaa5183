import Foundation
import ZooEngine

/// The adversarial step shared by every GAN plugin, as in the seeds (TensorFlow DCGAN
/// tutorial): G makes fakes from N(0,1) noise; D sees the real and the fake batch; the
/// adversarial loss (`loss`, the seeds' BCE unless a plugin picks another) scores D's logits;
/// both nets step with Adam.
///
/// D runs on the real batch and then on the fake batch, as the tutorial calls it twice.
/// Each pass's backward follows its own forward, so D's activation caches are sized for
/// one pass (N images or a chunk), and the G loss's input gradient covers only the fakes.
/// Both losses come from the one fake pass, as in the tutorial's single GradientTape, and
/// usually from one backward through D as well (see `sharedBackwardLowestLogit`).
///
/// This file is the step as it reads on one thread. GANStep+Parallel.swift cuts D's passes
/// (and, where G allows, the whole step) into one slice per thread; GANStep+Keras.swift is the
/// Keras article's three-call loop.
public final class GANStep {
    public let generator: LabelledNetwork
    public let discriminator: LabelledNetwork
    public let generatorOptimizer: Adam
    public let discriminatorOptimizer: Adam
    public let latentSize: Int
    public let classes: Int
    /// What D's logits are scored with.
    public var loss: any AdversarialLoss
    /// An auxiliary classifier head (ACGAN): D outputs 1 + this many values per image, the
    /// adversarial logit then class logits, and both D (on real and fake images) and G (on its
    /// fakes) add `auxiliaryWeight` × the class cross-entropy toward the batch's labels.
    public var auxiliaryClasses = 0
    public var auxiliaryWeight: Float = 1

    // Reused buffers: a steady-state step allocates nothing.
    let noise = Tensor(shape: [0])
    let oneHotLabels = Tensor(shape: [0])
    /// G's upstream gradient, in the fakes' shape.
    let dFake = Tensor(shape: [0])
    var passBuffers: [PassBuffers] = [PassBuffers()]
    /// Most images D processes in one pass (plugins with large convolutional Ds lower it
    /// to bound memory). A D with a layer that mixes images (BatchNorm) ignores it.
    public var discriminatorChunk = Int.max

    /// Cut D's passes into one slice per thread where D allows it (GANStep+Parallel.swift).
    public var parallelDiscriminator = true
    var replicas: [LabelledNetwork] = []
    var generatorReplicas: [LabelledNetwork] = []
    var replicable: Bool?
    /// Steps whose D passes, and whose whole step, ran in parallel slices; the tests read them.
    internal var parallelDiscriminatorSteps = 0
    internal var parallelWholeSteps = 0

    /// Below this logit the fake pass takes two backwards instead of one shared one (see
    /// `AdversarialLoss.sharedBackwardRatio`): at −30, BCE's D slopes p/N are below 1e-13 and
    /// gradients scaled by them near float's subnormal range. +infinity always takes two
    /// (the tests compare both).
    public var sharedBackwardLowestLogit: Float = -30
    /// Fake passes (chunks) that took the shared backward; the tests read it.
    internal private(set) var sharedFakeBackwards = 0

    // Training aids (`TrainingAids`), set from the hyperparameters; all off by default.
    /// D's target for real images is 1 − labelSmoothing.
    public var labelSmoothing: Float = 0
    /// D updates per G update: G steps on every k-th call of `step`, counted by `stepIndex`.
    public var discriminatorSteps = 1
    /// σ of the Gaussian noise added to D's inputs this step (the trainer anneals it).
    public var instanceNoise: Float = 0
    /// The run's global step of the next `step` call (the trainer sets it; it is stored
    /// with every checkpoint, so resumed runs schedule G's updates as unbroken ones).
    public var stepIndex = 0
    /// The generator's moving average, when the hyperparameters ask for one.
    public var ema: GeneratorEMA?
    /// The order of the updates (the tutorial's joint step, or the Keras article's three calls).
    public var loop: GANLoop = .joint
    /// Where G's noise comes from (`LatentPrior`; the seeds': N(0, I)).
    public var latentPrior = LatentPrior.gaussian
    let realNoise = Tensor(shape: [0]), fakeNoise = Tensor(shape: [0])
    let noisyReal = Tensor(shape: [0]), noisyFake = Tensor(shape: [0])

    public init(
        generator: LabelledNetwork, discriminator: LabelledNetwork, generatorOptimizer: Adam,
        discriminatorOptimizer: Adam, latentSize: Int, classes: Int, loss: any AdversarialLoss = NonSaturatingBCE()
    ) {
        self.generator = generator; self.discriminator = discriminator
        self.generatorOptimizer = generatorOptimizer; self.discriminatorOptimizer = discriminatorOptimizer
        self.latentSize = latentSize; self.classes = classes
        self.loss = loss
    }

    /// G is asked for classes (D may see them as input, or classify them: ACGAN).
    var conditional: Bool { generator.classes > 0 }

    /// Whether the step at `stepIndex` updates G (every `discriminatorSteps`-th step does).
    public var updatesGenerator: Bool { (stepIndex + 1) % max(1, discriminatorSteps) == 0 }

    /// One optimisation step: D always, G (and its average) on every `discriminatorSteps`-th
    /// step. Returns D's and G's loss.
    public func step(_ batch: Batch, rng: RandomSource) -> StepResult {
        generator.body.beginTrainingStep()
        discriminator.body.beginTrainingStep()
        if loop == .keras {
            defer { stepIndex += 1 }
            return kerasStep(batch, rng: rng)
        }
        let withGenerator = updatesGenerator
        let losses = computeGradients(batch, rng: rng, generator: withGenerator)
        discriminatorOptimizer.step()
        if withGenerator {
            generatorOptimizer.step()
            ema?.update(updates: generatorOptimizer.stepCount)
        }
        stepIndex += 1
        return losses
    }

    /// Forward and backward passes only: accumulates D's gradient of the D loss and, when
    /// `generator` is true, G's gradient of the G loss into the parameters' `grad`, without
    /// updating weights.
    public func computeGradients(_ batch: Batch, rng: RandomSource, generator needsGenerator: Bool = true) -> StepResult
    {
        let n = batch.images.batch

        noise.resize([n, latentSize])
        latentPrior.fill(noise, rng: rng)
        // Fakes are asked for the real batch's labels, so D sees the same label mix twice.
        let labels = batchLabels(batch)
        let real = realImagesForD(batch, rng: rng)

        // D's passes go at most `discriminatorChunk` images at a time: with no BatchNorm in D
        // each image's loss terms are independent, so chunks sum to the same gradients
        // while D's activation caches shrink to a chunk.
        let perImage = !discriminator.body.mixesImages
        let most = perImage ? max(1, min(n, discriminatorChunk)) : n
        let inverseN = 1 / Float(n)
        var total: PassLosses
        let parts = parallelParts(batch: n, perImage: perImage)
        if parts > 1 {
            total = slicedPasses(
                parts: parts, real: real, labels: labels, classLabels: batch.labels, most: most, inverseN: inverseN,
                perImage: perImage, needsGenerator: needsGenerator)
        } else {
            let fake = withInstanceNoise(
                generatorForward(generator, noise: noise, labels: labels, real: real), rows: 0..<n, into: noisyFake)
            dFake.resize(fake.shape)
            let passes = Passes(
                real: real, fake: fake, fakeFirstRow: 0, labels: labels, classLabels: batch.labels,
                inverseN: inverseN, perImage: perImage, needsGenerator: needsGenerator)
            total = discriminatorPasses(discriminator, rows: 0..<n, most: most, passes, passBuffers[0])
            if let penalty = loss.penalty {
                total.d += penalty.accumulate(
                    discriminator: discriminator, real: real, fake: fake, labels: labels,
                    inverseN: inverseN, rng: rng)
            }
            if needsGenerator { generator.backward(dFake, needs: .parameters) }
        }
        sharedFakeBackwards += total.sharedBackwards
        return .adversarial(discriminatorLoss: total.d / Double(n), generatorLoss: total.g / Double(n))
    }

    func generatorForward(_ g: LabelledNetwork, noise: Tensor, labels: Tensor?, real: Tensor) -> Tensor {
        let fake = g.forward(noise, oneHot: labels, training: true)
        precondition(
            fake.perSample == real.perSample, "generator output \(fake.shape) does not match images \(real.shape)")
        return fake
    }

    /// The batch's one-hot labels for a conditional GAN (nil otherwise).
    func batchLabels(_ batch: Batch) -> Tensor? {
        guard conditional else { return nil }
        oneHot(batch.labels, classes: classes, into: oneHotLabels)
        return oneHotLabels
    }

    /// The real images D sees. With instance noise on, the noise for the real and the fake
    /// batch is drawn here, in one order whatever the threads do later; D sees x + noise, and
    /// d(x + noise)/dx = 1 leaves G's upstream as it is.
    func realImagesForD(_ batch: Batch, rng: RandomSource) -> Tensor {
        guard instanceNoise > 0 else { return batch.images }
        realNoise.resize(batch.images.shape)
        rng.fillNormal(realNoise, std: instanceNoise)
        fakeNoise.resize([batch.images.batch, batch.images.perSample])
        rng.fillNormal(fakeNoise, std: instanceNoise)
        return Self.add(batch.images, realNoise, into: noisyReal)
    }

    /// The fakes D sees: with instance noise on, `fake` plus the noise rows drawn for them
    /// (written into `buffer`, leaving G's output, which its backward reads, untouched).
    func withInstanceNoise(_ fake: Tensor, rows: Range<Int>, into buffer: Tensor) -> Tensor {
        guard instanceNoise > 0 else { return fake }
        return Self.add(fake, fakeNoise.rows(rows).reshaped(fake.shape), into: buffer)
    }

    /// buffer ← a + b, in a's shape.
    private static func add(_ a: Tensor, _ b: Tensor, into buffer: Tensor) -> Tensor {
        precondition(a.count == b.count, "noise \(b.shape) for images \(a.shape)")
        buffer.resize(a.shape)
        let x = a.data, y = b.data, out = buffer.data
        Threads.parallelFor(a.count, minimum: Threads.parallelThreshold) { range in
            for i in range { out[i] = x[i] + y[i] }
        }
        return buffer
    }

    /// What D's passes read: the batch, the fakes (row 0 of `fake` is image `fakeFirstRow`
    /// of the batch), the labels, 1/N of the whole batch.
    struct Passes {
        let real: Tensor, fake: Tensor, fakeFirstRow: Int, labels: Tensor?
        /// The batch's class indices (read by an auxiliary classifier head).
        let classLabels: [Int]
        let inverseN: Float
        let perImage: Bool
        /// false: D's step alone (D-steps > 1), so no gradient for G is made.
        let needsGenerator: Bool
    }

    /// Loss sums (not yet means) of some images' passes.
    struct PassLosses {
        var d = 0.0, g = 0.0, sharedBackwards = 0
        mutating func add(_ other: PassLosses) { d += other.d; g += other.g; sharedBackwards += other.sharedBackwards }
    }

    /// One thread's upstream gradients of D's logits.
    final class PassBuffers {
        let dLogitsReal = Tensor(shape: [0]), dLogitsFakeD = Tensor(shape: [0]), dLogitsFakeG = Tensor(shape: [0])
        /// G's slope ÷ D's fake slope per image, for the shared backward.
        let ratios = Tensor(shape: [0])
        let noisyFake = Tensor(shape: [0])
    }

    /// D on the real then the fake images `rows`, at most `most` at a time (balanced chunks):
    /// adds `network`'s parameter gradients of the D loss and writes G's upstream gradient
    /// (of the G loss) for those rows into dFake.
    func discriminatorPasses(
        _ network: LabelledNetwork, rows: Range<Int>, most: Int, _ p: Passes,
        _ b: PassBuffers
    ) -> PassLosses {
        let count = rows.count, chunks = (count + most - 1) / most
        let chunk = (count + chunks - 1) / chunks  // balanced: 256 by ≤ 48 → 43 × 5 + 41
        let inverseN = p.inverseN
        let loss = self.loss
        var losses = PassLosses()
        // Each half a mean over N (Keras reduction), summed for D; one-sided label smoothing
        // makes the real target 1 − s.
        let realTarget = 1 - labelSmoothing
        let width = 1 + auxiliaryClasses, auxiliaryScale = auxiliaryWeight * inverseN
        var first = rows.lowerBound
        while first < rows.upperBound {
            let size = min(chunk, rows.upperBound - first), part = first..<(first + size)
            let logits = network.forward(p.real.rows(part), oneHot: p.labels?.rows(part), training: true)
            precondition(logits.count == size * width, "discriminator must output \(width) value(s) per image")
            b.dLogitsReal.resize(logits.shape)
            for i in 0..<size {
                let real = loss.real(logits.data[i * width], realTarget: realTarget)
                losses.d += real.term
                b.dLogitsReal.data[i * width] = real.slope * inverseN
                if width > 1 {
                    losses.d +=
                        Double(auxiliaryWeight)
                        * CategoricalCrossEntropy.row(
                            logits.data + i * width + 1, count: auxiliaryClasses, label: p.classLabels[first + i],
                            slopes: b.dLogitsReal.data + i * width + 1, scale: auxiliaryScale)
                }
            }
            network.backward(b.dLogitsReal, needs: .parameters)
            first += size
        }

        first = rows.lowerBound
        let perSample = p.fake.perSample
        while first < rows.upperBound {
            let size = min(chunk, rows.upperBound - first), part = first..<(first + size)
            let fakeRows = (part.lowerBound - p.fakeFirstRow)..<(part.upperBound - p.fakeFirstRow)
            let logits = network.forward(p.fake.rows(fakeRows), oneHot: p.labels?.rows(part), training: true)
            b.dLogitsFakeD.resize(logits.shape)
            b.dLogitsFakeG.resize(logits.shape)
            b.ratios.resize(logits.shape)
            // With class logits beside the adversarial one, D's and G's upstreams are not one
            // scalar apart: two backwards.
            var shared = p.perImage && p.needsGenerator && width == 1
            for i in 0..<size {
                let z = logits.data[i * width]
                let fake = loss.fake(z), generator = loss.generator(z)
                losses.d += fake.term
                losses.g += generator.term
                b.dLogitsFakeD.data[i * width] = fake.slope * inverseN
                b.dLogitsFakeG.data[i * width] = generator.slope * inverseN
                if width > 1 {
                    // Both want the fake classified as the class it was drawn for.
                    let term =
                        Double(auxiliaryWeight)
                        * CategoricalCrossEntropy.row(
                            logits.data + i * width + 1, count: auxiliaryClasses, label: p.classLabels[first + i],
                            slopes: b.dLogitsFakeD.data + i * width + 1, scale: auxiliaryScale)
                    losses.d += term
                    losses.g += term
                    (b.dLogitsFakeG.data + i * width + 1).update(
                        from: b.dLogitsFakeD.data + i * width + 1, count: auxiliaryClasses)
                }
                if shared, z >= sharedBackwardLowestLogit, let ratio = loss.sharedBackwardRatio(z) {  // NaN fails too
                    b.ratios.data[i] = ratio
                } else {
                    shared = false
                }
            }
            let target = dFake.data + first * perSample
            if !p.needsGenerator {
                network.backward(b.dLogitsFakeD, needs: .parameters)
            } else if shared {
                // dL_G/dx = dL_D/dx · ratio, image by image.
                let dImages = network.backward(b.dLogitsFakeD, needs: .all)
                losses.sharedBackwards += 1
                let scales = b.ratios.data, source = dImages.data
                Threads.parallelFor(size, minimum: max(1, Threads.parallelThreshold / perSample)) { rows in
                    for i in rows {
                        let scale = scales[i], from = source + i * perSample, to = target + i * perSample
                        for j in 0..<perSample { to[j] = from[j] * scale }
                    }
                }
            } else {
                network.backward(b.dLogitsFakeD, needs: .parameters)
                let dImages = network.backward(b.dLogitsFakeG, needs: .input)
                target.update(from: dImages.data, count: size * perSample)
            }
            first += size
        }
        return losses
    }

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
