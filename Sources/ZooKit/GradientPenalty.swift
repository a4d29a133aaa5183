import Foundation
import ZooEngine

/// WGAN-GP's gradient penalty (Gulrajani et al. 2017): λ·(‖∇ₓD(x̂)‖ − 1)² per image, at
/// x̂ = εx + (1 − ε)x̃ with ε ~ U(0, 1) per image, averaged over the batch.
///
/// Its θ-gradient is second order: ∂/∂θ ‖g‖ with g = ∇ₓD(x̂). This computes it as a central
/// difference of two extra D backwards along ĝ = g/‖g‖:
///   ∂‖g‖/∂θ = (∂g/∂θ)ᵀ ĝ = ∂/∂θ [ĝ · ∇ₓD(x̂)] ≈ [∇θD(x̂ + hĝ) − ∇θD(x̂ − hĝ)] / 2h,
/// so each image's two passes carry upstream ±λ·2(‖g‖ − 1)/(2h·N). The two passes hold D's
/// activation pattern at x̂ (`Layer.holdActivationPattern`): D is then exactly affine along ĝ,
/// and for a piecewise-linear critic (Dense, Conv2D, LeakyReLU) the difference is the exact
/// derivative (the one a double backward gives, with the pattern fixed where it is
/// differentiable), whatever h, up to float rounding; a smooth layer such as LayerNorm adds an
/// O(h²) error. Why not a double backward: every layer a critic can use (Dense, Conv2D with its
/// Winograd and im2col paths, LeakyReLU, LayerNorm) would need a second-order backward and its
/// own tests, for the value this gives. `GradientPenaltyTests` measures the error against the
/// exact value computed in double on small critics. Cost: three D passes (x̂, x̂ ± hĝ) per D
/// update.
///
/// D must treat images independently (no BatchNorm: the penalty is per image) and draw nothing
/// at random in its forward (no Dropout: the three passes must be one function).
public struct GradientPenalty: DiscriminatorPenalty {
    /// λ: 10 in the paper.
    public let weight: Float
    /// h, in the units of D's input ([-1, 1] pixels).
    public let step: Float

    public init(weight: Float = 10, step: Float = 1e-2) {
        self.weight = weight
        self.step = step
    }

    public func accumulate(
        discriminator: LabelledNetwork, real: Tensor, fake: Tensor, labels: Tensor?,
        inverseN: Float, rng: RandomSource
    ) -> Double {
        precondition(!discriminator.body.mixesImages, "the gradient penalty needs a D that treats images independently")
        let n = real.batch, size = real.perSample
        precondition(fake.count == real.count, "fakes \(fake.shape) for images \(real.shape)")
        // x̂, in the real images' shape.
        let mixed = Tensor(shape: real.shape)
        for i in 0..<n {
            let e = rng.uniform()
            let x = real.data + i * size, f = fake.data + i * size, out = mixed.data + i * size
            for j in 0..<size { out[j] = e * x[j] + (1 - e) * f[j] }
        }
        let logits = discriminator.forward(mixed, oneHot: labels, training: true)
        precondition(logits.count == n, "a Wasserstein critic outputs one value per image")
        let ones = Tensor(shape: logits.shape, repeating: 1)
        let gradient = discriminator.backward(ones, needs: .input)

        // ĝ per image, the penalty, and each image's upstream for the two passes.
        let direction = Tensor(shape: real.shape)
        let upstream = Tensor(shape: logits.shape)
        var total = 0.0
        for i in 0..<n {
            let g = gradient.data + i * size
            var squares = 0.0
            for j in 0..<size { squares += Double(g[j]) * Double(g[j]) }
            let norm = squares.squareRoot()
            total += Double(weight) * (norm - 1) * (norm - 1)
            // A zero gradient has no direction; its penalty λ is then flat in θ to first order.
            guard norm > 1e-12 else { continue }
            let out = direction.data + i * size, scale = Float(1 / norm)
            for j in 0..<size { out[j] = g[j] * scale }
            upstream.data[i] = Float(Double(weight) * 2 * (norm - 1) / (2 * Double(step))) * inverseN
        }
        discriminator.body.holdActivationPattern(true)
        defer { discriminator.body.holdActivationPattern(false) }
        for sign: Float in [1, -1] {
            let shifted = Tensor(shape: real.shape)
            let h = sign * step
            for j in 0..<mixed.count { shifted.data[j] = mixed.data[j] + h * direction.data[j] }
            _ = discriminator.forward(shifted, oneHot: labels, training: true)
            let signed = Tensor(shape: upstream.shape)
            for i in 0..<n { signed.data[i] = sign * upstream.data[i] }
            discriminator.backward(signed, needs: .parameters)
        }
        return total
    }
}
