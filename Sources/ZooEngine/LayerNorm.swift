import Foundation

/// Layer normalisation over all of one sample's features (Ba et al. 2016; the WGAN-GP
/// paper's replacement for BatchNorm in a critic, whose gradient penalty is per image and
/// so cannot use batch statistics). Each image is normalised by its own mean and variance,
/// then scaled and shifted feature by feature.
/// x: [N, ...] with F = perSample → y: x's shape;  gamma, beta: [F]
/// Statistics in Double: F is a few thousand values and the step sums over all of them.
public final class LayerNorm: Layer {
    public let gamma: Parameter
    public let beta: Parameter
    public let epsilon: Float
    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    private let normalized = Tensor(shape: [0])  // cache: x̂ [N, F]
    private var reciprocalDeviations: [Float] = []  // cache: 1/√(var + ε) per image

    public init(features: Int, epsilon: Float = 1e-5) {
        gamma = Parameter("gamma", shape: [features])
        gamma.value.fill(1)
        beta = Parameter("beta", shape: [features])
        self.epsilon = epsilon
    }

    private init(sharing other: LayerNorm) {
        gamma = Parameter(sharingValueOf: other.gamma)
        beta = Parameter(sharingValueOf: other.beta)
        epsilon = other.epsilon
    }

    public func replica() -> Layer? { LayerNorm(sharing: self) }
    public var parameters: [Parameter] { [gamma, beta] }
    var features: Int { gamma.value.count }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let n = x.batch, f = features
        precondition(x.perSample == f, "LayerNorm expects \(f) features per sample, got \(x.shape)")
        output.resize(x.shape)
        normalized.resize([n, f])
        reciprocalDeviations = [Float](repeating: 0, count: n)
        let g = gamma.value.data, b = beta.value.data
        for i in 0..<n {
            let row = x.data + i * f, xhat = normalized.data + i * f, y = output.data + i * f
            var sum: Double = 0
            for j in 0..<f { sum += Double(row[j]) }
            let mean = sum / Double(f)
            var squares: Double = 0
            for j in 0..<f { let d = Double(row[j]) - mean; squares += d * d }
            let r = Float(1 / (squares / Double(f) + Double(epsilon)).squareRoot())
            reciprocalDeviations[i] = r
            let m = Float(mean)
            for j in 0..<f {
                xhat[j] = (row[j] - m) * r
                y[j] = g[j] * xhat[j] + b[j]
            }
        }
        return output
    }

    /// dx = r · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ ⊙ x̂)),  dx̂ = dy ⊙ γ.
    public func backward(_ dy: Tensor, needs: GradientNeeds) -> Tensor {
        let n = dy.batch, f = features
        precondition(normalized.batch == n, "LayerNorm.backward before forward")
        if needs.contains(.parameters) {
            let dg = gamma.grad.data, db = beta.grad.data
            for i in 0..<n {
                let g = dy.data + i * f, xhat = normalized.data + i * f
                for j in 0..<f {
                    dg[j] += g[j] * xhat[j]
                    db[j] += g[j]
                }
            }
        }
        gradInput.resize(dy.shape)
        guard needs.contains(.input) else { return gradInput }
        let gammas = gamma.value.data
        for i in 0..<n {
            let g = dy.data + i * f, xhat = normalized.data + i * f, dx = gradInput.data + i * f
            var meanD: Double = 0, meanDX: Double = 0
            for j in 0..<f {
                let d = Double(g[j] * gammas[j])
                meanD += d
                meanDX += d * Double(xhat[j])
            }
            let a = Float(meanD / Double(f)), c = Float(meanDX / Double(f)), r = reciprocalDeviations[i]
            for j in 0..<f { dx[j] = r * (g[j] * gammas[j] - a - xhat[j] * c) }
        }
        return gradInput
    }
}
