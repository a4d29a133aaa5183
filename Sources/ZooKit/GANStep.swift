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

    /// A copy sharing the body's parameter values, with its own gradients and caches
    /// (`Layer.replica`); nil when some layer of the body has no replica.
    public func replica() -> LabelledNetwork? {
        body.replica().map { LabelledNetwork($0, conditionalOn: classes > 0 ? classes : nil) }
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
    private let dFake = Tensor(shape: [0])
    private var passBuffers: [PassBuffers] = [PassBuffers()]
    /// Most images D processes in one pass (plugins with large convolutional Ds lower it
    /// to bound memory). A D with a layer that mixes images (BatchNorm) ignores it.
    public var discriminatorChunk = Int.max

    /// D's passes over the real and fake batch are cut into one slice of images per thread,
    /// each run through its own replica of D (shared weights, own gradients and caches,
    /// `Layer.replica`) with unsplit GEMMs; the replicas' gradients are then added into D's.
    /// Without it every GEMM of those passes is cut in two and both threads meet after
    /// each one (waits and twice-packed weights were ~1/8 of a conditional-GAN step's CPU
    /// time). Only for a D whose images are independent and whose layers all have replicas
    /// (no BatchNorm or Dropout); the D gradients then differ from one thread's by float
    /// rounding only (the slices' sums are added, not one sum taken).
    public var parallelDiscriminator = true
    /// When G's images are independent too and its layers have replicas (cgan), each thread
    /// takes its slice through the whole step (G forward, D's passes, G backward): one
    /// meeting of the threads a step.
    private var replicas: [LabelledNetwork] = []
    private var generatorReplicas: [LabelledNetwork] = []
    private var replicable: Bool?
    /// Steps whose D passes, and whose whole step, ran in parallel slices; the tests read them.
    internal private(set) var parallelDiscriminatorSteps = 0
    internal private(set) var parallelWholeSteps = 0

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
    private let realNoise = Tensor(shape: [0]), fakeNoise = Tensor(shape: [0])
    private let noisyReal = Tensor(shape: [0]), noisyFake = Tensor(shape: [0])

    public init(generator: LabelledNetwork, discriminator: LabelledNetwork, generatorOptimizer: Adam,
                discriminatorOptimizer: Adam, latentSize: Int, classes: Int) {
        self.generator = generator; self.discriminator = discriminator
        self.generatorOptimizer = generatorOptimizer; self.discriminatorOptimizer = discriminatorOptimizer
        self.latentSize = latentSize; self.classes = classes
    }

    private var conditional: Bool { discriminator.classes > 0 }

    /// Whether the step at `stepIndex` updates G (every `discriminatorSteps`-th step does).
    public var updatesGenerator: Bool { (stepIndex + 1) % max(1, discriminatorSteps) == 0 }

    /// One optimisation step: D always, G (and its average) on every `discriminatorSteps`-th
    /// step. Returns (D loss, G loss).
    public func step(_ batch: Batch, rng: RandomSource) -> StepResult {
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
    public func computeGradients(_ batch: Batch, rng: RandomSource, generator needsGenerator: Bool = true) -> StepResult {
        let n = batch.images.batch

        noise.resize([n, latentSize])
        rng.fillNormal(noise)
        // Fakes are asked for the real batch's labels, so D sees the same label mix twice.
        let labels = batchLabels(batch)
        let real = realImagesForD(batch, rng: rng)

        // D's passes go at most `discriminatorChunk` images at a time: with no BatchNorm in D
        // each image's loss terms are independent, so chunks sum to the same gradients
        // while D's activation caches shrink to a chunk.
        let perImage = !discriminator.body.mixesImages
        let most = perImage ? max(1, min(n, discriminatorChunk)) : n
        let inverseN = 1 / Float(n)
        var total = PassLosses()
        let parts = parallelParts(batch: n, perImage: perImage)
        if parts > 1 {
            // With G's replicas too, each thread runs its slice through the whole step.
            let wholeStep = generatorReplicas.count >= parts - 1
            let fake = wholeStep ? nil : withInstanceNoise(generatorForward(generator, noise: noise, labels: labels, real: real),
                                                           rows: 0..<n, into: noisyFake)
            // G's upstream; with G in slices, each takes its rows in its fakes' shape.
            dFake.resize(fake?.shape ?? real.shape)
            let slice = (n + parts - 1) / parts
            var results = [PassLosses](repeating: PassLosses(), count: parts)
            results.withUnsafeMutableBufferPointer { out in
                Threads.run(parts) { part in
                    let lo = min(n, part * slice), hi = min(n, lo + slice)
                    guard lo < hi else { return }
                    let rows = lo..<hi
                    let network = part == 0 ? discriminator : replicas[part - 1]
                    if let fake {
                        let passes = Passes(real: real, fake: fake, fakeFirstRow: 0, labels: labels, inverseN: inverseN,
                                            perImage: perImage, needsGenerator: needsGenerator)
                        out[part] = discriminatorPasses(network, rows: rows, most: most, passes, passBuffers[part])
                    } else {
                        let g = part == 0 ? generator : generatorReplicas[part - 1]
                        let fakes = withInstanceNoise(generatorForward(g, noise: noise.rows(rows), labels: labels?.rows(rows), real: real),
                                                      rows: rows, into: passBuffers[part].noisyFake)
                        let passes = Passes(real: real, fake: fakes, fakeFirstRow: lo, labels: labels, inverseN: inverseN,
                                            perImage: perImage, needsGenerator: needsGenerator)
                        out[part] = discriminatorPasses(network, rows: rows, most: most, passes, passBuffers[part])
                        if needsGenerator { g.backward(dFake.rows(rows).reshaped(fakes.shape), needs: .parameters) }
                    }
                }
            }
            for r in results { total.add(r) }   // in part order: the same sums every run
            for replica in replicas.prefix(parts - 1) { discriminator.body.takeGradients(of: replica.body) }
            parallelDiscriminatorSteps += 1
            if wholeStep {
                if needsGenerator {
                    for replica in generatorReplicas.prefix(parts - 1) { generator.body.takeGradients(of: replica.body) }
                }
                parallelWholeSteps += 1
            } else if needsGenerator {
                generator.backward(dFake, needs: .parameters)
            }
        } else {
            let fake = withInstanceNoise(generatorForward(generator, noise: noise, labels: labels, real: real), rows: 0..<n, into: noisyFake)
            dFake.resize(fake.shape)
            let passes = Passes(real: real, fake: fake, fakeFirstRow: 0, labels: labels, inverseN: inverseN,
                                perImage: perImage, needsGenerator: needsGenerator)
            total = discriminatorPasses(discriminator, rows: 0..<n, most: most, passes, passBuffers[0])
            if needsGenerator { generator.backward(dFake, needs: .parameters) }
        }
        sharedFakeBackwards += total.sharedBackwards
        return StepResult(total.d / Double(n), total.g / Double(n))
    }

    private func generatorForward(_ g: LabelledNetwork, noise: Tensor, labels: Tensor?, real: Tensor) -> Tensor {
        let fake = g.forward(noise, oneHot: labels, training: true)
        precondition(fake.perSample == real.perSample, "generator output \(fake.shape) does not match images \(real.shape)")
        return fake
    }

    /// The batch's one-hot labels for a conditional GAN (nil otherwise).
    private func batchLabels(_ batch: Batch) -> Tensor? {
        guard conditional else { return nil }
        oneHot(batch.labels, classes: classes, into: oneHotLabels)
        return oneHotLabels
    }

    /// The real images D sees. With instance noise on, the noise for the real and the fake
    /// batch is drawn here, in one order whatever the threads do later; D sees x + noise, and
    /// d(x + noise)/dx = 1 leaves G's upstream as it is.
    private func realImagesForD(_ batch: Batch, rng: RandomSource) -> Tensor {
        guard instanceNoise > 0 else { return batch.images }
        realNoise.resize(batch.images.shape)
        rng.fillNormal(realNoise, std: instanceNoise)
        fakeNoise.resize([batch.images.batch, batch.images.perSample])
        rng.fillNormal(fakeNoise, std: instanceNoise)
        return Self.add(batch.images, realNoise, into: noisyReal)
    }

    /// The fakes D sees: with instance noise on, `fake` plus the noise rows drawn for them
    /// (written into `buffer`, leaving G's output, which its backward reads, untouched).
    private func withInstanceNoise(_ fake: Tensor, rows: Range<Int>, into buffer: Tensor) -> Tensor {
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
    private struct Passes {
        let real: Tensor, fake: Tensor, fakeFirstRow: Int, labels: Tensor?
        let inverseN: Float
        let perImage: Bool
        /// false: D's step alone (D-steps > 1), so no gradient for G is made.
        let needsGenerator: Bool
    }

    /// Loss sums (not yet means) of some images' passes.
    private struct PassLosses {
        var d = 0.0, g = 0.0, sharedBackwards = 0
        mutating func add(_ other: PassLosses) { d += other.d; g += other.g; sharedBackwards += other.sharedBackwards }
    }

    /// One thread's upstream gradients of D's logits.
    private final class PassBuffers {
        let dLogitsReal = Tensor(shape: [0]), dLogitsFakeD = Tensor(shape: [0]), dLogitsFakeG = Tensor(shape: [0])
        let noisyFake = Tensor(shape: [0])
    }

    /// How many slices D's passes take (1: D itself, its GEMMs split over the threads);
    /// makes the replicas the first time.
    private func parallelParts(batch n: Int, perImage: Bool) -> Int {
        let parts = Threads.count
        guard parallelDiscriminator, perImage, parts > 1, n >= 2 * parts, !Threads.insidePart else { return 1 }
        if replicable == nil {
            while replicas.count < parts - 1, let copy = discriminator.replica() { replicas.append(copy) }
            replicable = replicas.count == parts - 1
            if !generator.body.mixesImages {
                while generatorReplicas.count < parts - 1, let copy = generator.replica() { generatorReplicas.append(copy) }
            }
        }
        guard replicable == true, replicas.count >= parts - 1 else { return 1 }
        while passBuffers.count < parts { passBuffers.append(PassBuffers()) }
        return parts
    }

    /// D on the real then the fake images `rows`, at most `most` at a time (balanced chunks):
    /// adds `network`'s parameter gradients of the D loss and writes G's upstream gradient
    /// (of the G loss) for those rows into dFake.
    private func discriminatorPasses(_ network: LabelledNetwork, rows: Range<Int>, most: Int, _ p: Passes,
                                     _ b: PassBuffers) -> PassLosses {
        let count = rows.count, chunks = (count + most - 1) / most
        let chunk = (count + chunks - 1) / chunks     // balanced: 256 by ≤ 48 → 43 × 5 + 41
        let inverseN = p.inverseN
        var losses = PassLosses()
        // BCE from logits, each half a mean over N (Keras reduction), summed for D.
        // With p = σ(z): BCE(z→1) = softplus(−z), d/dz = p − 1; BCE(z→0) = softplus(z), d/dz = p.
        // One-sided label smoothing makes the real target t = 1 − s:
        // BCE(z→t) = t·softplus(−z) + (1 − t)·softplus(z), d/dz = p − t.
        let realTarget = 1 - labelSmoothing
        var first = rows.lowerBound
        while first < rows.upperBound {
            let size = min(chunk, rows.upperBound - first), part = first..<(first + size)
            let logits = network.forward(p.real.rows(part), oneHot: p.labels?.rows(part), training: true)
            precondition(logits.count == size, "discriminator must output one logit per image")
            b.dLogitsReal.resize(logits.shape)
            for i in 0..<size {
                let z = logits.data[i]
                losses.d += realTarget == 1 ? Self.softplus(-z)
                    : Double(realTarget) * Self.softplus(-z) + Double(1 - realTarget) * Self.softplus(z)
                b.dLogitsReal.data[i] = (Self.sigmoid(z) - realTarget) * inverseN
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
            var shared = p.perImage && p.needsGenerator
            for i in 0..<size {
                let z = logits.data[i], pz = Self.sigmoid(z)
                losses.d += Self.softplus(z)
                losses.g += Self.softplus(-z)
                b.dLogitsFakeD.data[i] = pz * inverseN
                b.dLogitsFakeG.data[i] = (pz - 1) * inverseN
                if !(z >= sharedBackwardLowestLogit) { shared = false }   // NaN too
            }
            let target = dFake.data + first * perSample
            if !p.needsGenerator {
                network.backward(b.dLogitsFakeD, needs: .parameters)
            } else if shared {
                // dL_G/dx = dL_D/dx · (p − 1)/p per image; (p − 1)/p = −e^(−z) without cancellation.
                for i in 0..<size { b.dLogitsFakeG.data[i] = -exp(-logits.data[i]) }
                let dImages = network.backward(b.dLogitsFakeD, needs: .all)
                losses.sharedBackwards += 1
                let scales = b.dLogitsFakeG.data, source = dImages.data
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

    /// The Keras article's loop (`GANLoop.keras`), as its three `train_on_batch` calls:
    /// D on the real batch (target 1) and an Adam step; D on a fake batch drawn by
    /// `generator.predict` (inference mode) with its own noise (target 0) and a second Adam
    /// step; then G through the stacked model with fresh noise (target 1), D frozen. Returns
    /// (D's real + fake loss, G's loss), each a mean over the batch.
    func kerasStep(_ batch: Batch, rng: RandomSource) -> StepResult {
        let n = batch.images.batch, inverseN = 1 / Float(n)
        let labels = batchLabels(batch)
        let real = realImagesForD(batch, rng: rng)
        let b = passBuffers[0]
        let realTarget = 1 - labelSmoothing
        var dLoss = 0.0, gLoss = 0.0

        var logits = discriminator.forward(real, oneHot: labels, training: true)
        b.dLogitsReal.resize(logits.shape)
        for i in 0..<n {
            let z = logits.data[i]
            dLoss += Double(realTarget) * Self.softplus(-z) + Double(1 - realTarget) * Self.softplus(z)
            b.dLogitsReal.data[i] = (Self.sigmoid(z) - realTarget) * inverseN
        }
        discriminator.backward(b.dLogitsReal, needs: .parameters)
        discriminatorOptimizer.step()

        noise.resize([n, latentSize])
        rng.fillNormal(noise)
        let predicted = withInstanceNoise(generator.forward(noise, oneHot: labels, training: false), rows: 0..<n, into: noisyFake)
        logits = discriminator.forward(predicted, oneHot: labels, training: true)
        b.dLogitsFakeD.resize(logits.shape)
        for i in 0..<n {
            let z = logits.data[i]
            dLoss += Self.softplus(z)
            b.dLogitsFakeD.data[i] = Self.sigmoid(z) * inverseN
        }
        discriminator.backward(b.dLogitsFakeD, needs: .parameters)
        discriminatorOptimizer.step()

        rng.fillNormal(noise)
        let fake = generator.forward(noise, oneHot: labels, training: true)
        logits = discriminator.forward(withInstanceNoise(fake, rows: 0..<n, into: noisyFake), oneHot: labels, training: true)
        b.dLogitsFakeG.resize(logits.shape)
        for i in 0..<n {
            let z = logits.data[i]
            gLoss += Self.softplus(-z)
            b.dLogitsFakeG.data[i] = (Self.sigmoid(z) - 1) * inverseN
        }
        if updatesGenerator {
            let dImages = discriminator.backward(b.dLogitsFakeG, needs: .input)
            generator.backward(dImages.reshaped(fake.shape), needs: .parameters)
            generatorOptimizer.step()
            ema?.update(updates: generatorOptimizer.stepCount)
        }
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
    /// Wires two networks with their Adam optimizers from the hyperparameters, with the latent
    /// size and (for a conditional plugin) the class count its descriptor declares.
    convenience init(generator: Sequential, discriminator: Sequential, hyperparameters h: Hyperparameters,
                     descriptor d: ArchitectureDescriptor) {
        self.init(generator: generator, discriminator: discriminator, hyperparameters: h, latentSize: d.latentSize,
                  conditionalOn: d.conditional ? d.classes : nil)
    }

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
        labelSmoothing = h.aids.labelSmoothing
        discriminatorSteps = h.aids.discriminatorSteps
        loop = h.loop
        if h.aids.emaDecay > 0 { ema = GeneratorEMA(of: generator, decay: h.aids.emaDecay) }
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

    var auxiliaryTensors: [(network: String, path: String, tensor: Tensor)] { gan.ema?.namedTensors ?? [] }

    func prepareStep(_ clock: TrainingClock) {
        gan.stepIndex = clock.globalStep
        gan.instanceNoise = clock.aids.instanceNoiseSigma(step: clock.globalStep, stepsPerEpoch: clock.stepsPerEpoch,
                                                          epochs: clock.epochs)
    }

    var hasGeneratorAverage: Bool { gan.ema != nil }
    func installGeneratorAverage() { gan.ema?.install() }
    func withGenerationWeights<T>(_ body: () throws -> T) rethrows -> T {
        guard let ema = gan.ema else { return try body() }
        return try ema.withAverageWeights(body)
    }
}
