import Foundation

/// A learned vector per class, picked by a one-hot label: e = onehot · E.
/// x: [N, K] (one-hot rows; any rows work, as the product) → y: [N, F];  embedding: [K, F]
/// Written as the product rather than a lookup so a row that is not one-hot still has a
/// defined output and gradient (the finite-difference tests perturb it).
public final class ClassEmbedding: Layer {
    public let embedding: Parameter
    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    private var input: Tensor?

    /// Initialised N(0, 0.02²)-small, so the projection term starts near zero.
    public init(classes: Int, features: Int, rng: RandomSource) {
        embedding = Parameter("embedding", shape: [classes, features])
        if !rng.skipsInitializers { rng.fillNormal(embedding.value, std: 0.02) }
    }

    private init(sharing other: ClassEmbedding) { embedding = Parameter(sharingValueOf: other.embedding) }
    public func replica() -> Layer? { ClassEmbedding(sharing: self) }
    public var parameters: [Parameter] { [embedding] }
    var classes: Int { embedding.value.shape[0] }
    var features: Int { embedding.value.shape[1] }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let n = x.batch, k = classes, f = features
        precondition(x.perSample == k, "ClassEmbedding expects [N, \(k)] labels, got \(x.shape)")
        input = x
        output.resize([n, f])
        output.fill(0)
        let e = embedding.value.data
        for i in 0..<n {
            let y = output.data + i * f
            for c in 0..<k where x.data[i * k + c] != 0 {
                let weight = x.data[i * k + c], row = e + c * f
                for j in 0..<f { y[j] += weight * row[j] }
            }
        }
        return output
    }

    /// dE += xᵀ·dy; dx = dy·Eᵀ.
    public func backward(_ dy: Tensor, needs: GradientNeeds) -> Tensor {
        guard let x = input else { preconditionFailure("ClassEmbedding.backward before forward") }
        let n = x.batch, k = classes, f = features
        if needs.contains(.parameters) {
            let de = embedding.grad.data
            for i in 0..<n {
                let g = dy.data + i * f
                for c in 0..<k where x.data[i * k + c] != 0 {
                    let weight = x.data[i * k + c], row = de + c * f
                    for j in 0..<f { row[j] += weight * g[j] }
                }
            }
        }
        gradInput.resize([n, k])
        guard needs.contains(.input) else { return gradInput }
        let e = embedding.value.data
        for i in 0..<n {
            let g = dy.data + i * f
            for c in 0..<k {
                var sum: Float = 0
                for j in 0..<f { sum += g[j] * e[c * f + j] }
                gradInput.data[i * k + c] = sum
            }
        }
        return gradInput
    }
}

/// The projection discriminator's head (Miyato & Koyama 2018): a conditional D whose output is
/// ψ(φ(x)) + ⟨embed(y), φ(x)⟩ — a linear critic of the image's features plus their inner
/// product with the label's learned vector, instead of the label fed in as an input.
/// `features` is φ: image [N, C, H, W] → [N, F]. Input rows are "flattened image ⊕ one-hot"
/// (what a conditional `LabelledNetwork` feeds its body).
/// x: [N, C·H·W + K] → y: [N, 1]
/// Its parameters are φ's, ψ's and the embedding's under their paths inside it
/// ("conv1.kernel", "linear.kernel", "embedding.embedding").
public final class LabelProjection: Layer {
    public let features: Sequential
    public let linear: Dense
    public let embedding: ClassEmbedding
    public let imageShape: [Int]
    public let classes: Int
    private let images = Tensor(shape: [0])
    private let labels = Tensor(shape: [0])
    private let output = Tensor(shape: [0])
    private let dFeatures = Tensor(shape: [0])
    private let dProducts = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    private var phi: Tensor?
    private let listed: [Parameter]

    public init(features: Sequential, featureCount: Int, imageShape: [Int], classes: Int, rng: RandomSource) {
        precondition(imageShape.count == 3, "imageShape is [C, H, W]")
        self.features = features
        self.imageShape = imageShape
        self.classes = classes
        linear = Dense(inputs: featureCount, outputs: 1, rng: rng)
        embedding = ClassEmbedding(classes: classes, features: featureCount, rng: rng)
        listed =
            features.namedParameters.map { Parameter($0.parameter, renamed: $0.path) }
            + linear.parameters.map { Parameter($0, renamed: "linear.\($0.name)") }
            + [Parameter(embedding.embedding, renamed: "embedding.embedding")]
    }

    public var parameters: [Parameter] { listed }
    public var mixesImages: Bool { features.mixesImages }
    public func beginTrainingStep() { features.beginTrainingStep() }
    public func holdActivationPattern(_ hold: Bool) { features.holdActivationPattern(hold) }
    var pixels: Int { imageShape.reduce(1, *) }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let n = x.batch, p = pixels, k = classes
        precondition(x.perSample == p + k, "LabelProjection expects \(p + k) columns, got \(x.shape)")
        images.resize([n] + imageShape)
        labels.resize([n, k])
        for i in 0..<n {
            (images.data + i * p).update(from: x.data + i * (p + k), count: p)
            (labels.data + i * k).update(from: x.data + i * (p + k) + p, count: k)
        }
        let phi = features.forward(images, training: training)
        precondition(phi.batch == n, "LabelProjection's features must give one row per image")
        self.phi = phi
        let f = phi.perSample
        let psi = linear.forward(phi, training: training)
        let e = embedding.forward(labels, training: training)
        output.resize([n, 1])
        for i in 0..<n {
            var dot: Float = 0
            let a = phi.data + i * f, b = e.data + i * f
            for j in 0..<f { dot += a[j] * b[j] }
            output.data[i] = psi.data[i] + dot
        }
        return output
    }

    /// dφ = dy·(ψ's weights) + dy·e;  d(embedding output) = dy·φ.
    public func backward(_ dy: Tensor, needs: GradientNeeds) -> Tensor {
        guard let phi else { preconditionFailure("LabelProjection.backward before forward") }
        let n = dy.batch, f = phi.perSample, p = pixels, k = classes
        // Both of these read φ and e from their caches, so they go before φ's backward.
        // G's pass asks for the input gradient alone: no parameter gradient may be added then.
        let inner: GradientNeeds = needs.contains(.parameters) ? .all : .input
        let fromLinear = linear.backward(dy, needs: inner)
        dProducts.resize([n, f])
        for i in 0..<n {
            let a = phi.data + i * f, out = dProducts.data + i * f, g = dy.data[i]
            for j in 0..<f { out[j] = g * a[j] }
        }
        let embeddingOutput = embedding.forward(labels, training: false)
        dFeatures.resize([n, f])
        for i in 0..<n {
            let g = dy.data[i], e = embeddingOutput.data + i * f, fromPsi = fromLinear.data + i * f
            let out = dFeatures.data + i * f
            for j in 0..<f { out[j] = fromPsi[j] + g * e[j] }
        }
        let dLabels = embedding.backward(dProducts, needs: needs)
        let dImages = features.backward(dFeatures.reshaped(phi.shape), needs: needs)
        gradInput.resize([n, p + k])
        guard needs.contains(.input) else { return gradInput }
        for i in 0..<n {
            (gradInput.data + i * (p + k)).update(from: dImages.data + i * p, count: p)
            (gradInput.data + i * (p + k) + p).update(from: dLabels.data + i * k, count: k)
        }
        return gradInput
    }
}
