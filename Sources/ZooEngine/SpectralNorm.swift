import Foundation

/// A layer whose weight is one kernel tensor (Dense, Conv2D): what `SpectralNorm` wraps.
public protocol KernelLayer: Layer {
    var kernel: Parameter { get }
    var bias: Parameter? { get }
}

extension Dense: KernelLayer {}
extension Conv2D: KernelLayer {}

/// Spectral normalisation (Miyato et al. 2018): the wrapped layer computes with W / σ(W),
/// σ the largest singular value of W seen as a matrix [shape[0], rest] (a Dense kernel
/// [in, out]; a Conv2D kernel [O, C·k·k], as PyTorch reshapes it; σ is the same for the
/// transpose). σ is estimated as uᵀWv from vectors u, v that one power iteration per training
/// step (`beginTrainingStep`) moves toward W's top singular pair.
///
/// u and v are stored state ("sn_u", "sn_v"), saved with every checkpoint: a resumed run
/// continues the power iteration where it stopped, bit for bit. Between iterations u and v are
/// constants, so every forward of a step (and a finite-difference test's) is the same function
/// of W, and its gradient is exact:
///   σ = uᵀWv,  dσ/dW = u vᵀ,  dL/dW = G/σ − ⟨G, W⟩/σ² · u vᵀ,   G = dL/d(W/σ).
///
/// The wrapped layer's own kernel holds W/σ (written before each forward); the raw W is this
/// layer's "kernel". x and y: the wrapped layer's shapes.
public final class SpectralNorm: Layer {
    public let layer: KernelLayer
    /// The raw weight W, in the wrapped kernel's shape.
    public let weight: Parameter
    public let u: Parameter, v: Parameter
    /// σ of the last forward.
    public private(set) var sigma: Float = 1
    let rows: Int, columns: Int

    /// Iterations run when the layer is built, so σ is a fair estimate from the first step on
    /// (PyTorch's parametrization runs 15).
    public static let initialIterations = 15

    public init(_ layer: KernelLayer, rng: RandomSource) {
        self.layer = layer
        let shape = layer.kernel.value.shape
        rows = shape[0]
        columns = shape.dropFirst().reduce(1, *)
        weight = Parameter("kernel", shape: shape)
        u = Parameter("sn_u", shape: [rows], trainable: false)
        v = Parameter("sn_v", shape: [columns], trainable: false)
        // A model about to be loaded draws nothing: W, u and v all come from the checkpoint.
        guard !rng.skipsInitializers else { return }
        weight.value.data.update(from: layer.kernel.value.data, count: weight.value.count)
        rng.fillNormal(u.value)
        Self.normalize(u.value.data, count: rows)
        for _ in 0..<Self.initialIterations { powerIteration() }
    }

    public var parameters: [Parameter] { [weight] + (layer.bias.map { [$0] } ?? []) + [u, v] }
    public var mixesImages: Bool { layer.mixesImages }

    public func beginTrainingStep() { powerIteration() }

    /// v ← Wᵀu / ‖Wᵀu‖, then u ← Wv / ‖Wv‖.
    func powerIteration() {
        let w = weight.value.data
        let vd = v.value.data, ud = u.value.data
        for j in 0..<columns { vd[j] = 0 }
        for i in 0..<rows {
            let ui = ud[i], row = w + i * columns
            for j in 0..<columns { vd[j] += ui * row[j] }
        }
        Self.normalize(vd, count: columns)
        for i in 0..<rows {
            let row = w + i * columns
            var sum: Float = 0
            for j in 0..<columns { sum += row[j] * vd[j] }
            ud[i] = sum
        }
        Self.normalize(ud, count: rows)
    }

    static func normalize(_ x: UnsafeMutablePointer<Float>, count: Int) {
        var sum: Double = 0
        for i in 0..<count { sum += Double(x[i]) * Double(x[i]) }
        let scale = Float(1 / max(sum.squareRoot(), 1e-12))
        for i in 0..<count { x[i] *= scale }
    }

    /// uᵀWv, kept away from zero (a zero W is then passed through as zero).
    func estimate() -> Float {
        let w = weight.value.data, vd = v.value.data, ud = u.value.data
        var sigma: Double = 0
        for i in 0..<rows {
            let row = w + i * columns
            var sum: Double = 0
            for j in 0..<columns { sum += Double(row[j]) * Double(vd[j]) }
            sigma += Double(ud[i]) * sum
        }
        return Float(max(sigma, 1e-12))
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        sigma = estimate()
        let scale = 1 / sigma, w = weight.value.data, normalized = layer.kernel.value.data
        for i in 0..<weight.value.count { normalized[i] = w[i] * scale }
        return layer.forward(x, training: training)
    }

    public func backward(_ dy: Tensor, needs: GradientNeeds) -> Tensor {
        guard needs.contains(.parameters) else { return layer.backward(dy, needs: needs) }
        // G = dL/d(W/σ) lands in the wrapped kernel's gradient (bias gradients are the layer's
        // own, listed here), then turns into dL/dW.
        let g = layer.kernel.grad
        g.fill(0)
        let dx = layer.backward(dy, needs: needs)
        let w = weight.value.data, gd = g.data, vd = v.value.data, ud = u.value.data
        var inner: Double = 0
        for i in 0..<weight.value.count { inner += Double(gd[i]) * Double(w[i]) }
        let s = sigma, projection = Float(inner / (Double(s) * Double(s)))
        let dw = weight.grad.data
        for i in 0..<rows {
            let coefficient = projection * ud[i], base = i * columns
            for j in 0..<columns { dw[base + j] += gd[base + j] / s - coefficient * vd[j] }
        }
        return dx
    }
}
