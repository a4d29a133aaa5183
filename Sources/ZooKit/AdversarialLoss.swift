import Foundation
import ZooEngine

/// The seam between a GAN step and its adversarial loss. D outputs one logit (or critic
/// value) z per image; a loss gives, per image, each term and its slope d term / dz. The step
/// averages over the batch (Keras's reduction): it sums the terms and scales the slopes by 1/N.
///
/// D's loss is Σ real(z_real) + Σ fake(z_fake), G's is Σ generator(z_fake), all over N.
///
/// Losses that are functions of the logits only fit these three methods (non-saturating BCE,
/// hinge, least squares, Wasserstein). A loss that also needs D's input gradient (WGAN-GP's
/// penalty on ‖∇ₓD(x̂)‖ at interpolates) adds a `penalty`, which the step runs after D's passes.
public protocol AdversarialLoss: Sendable {
    /// The name a model's hyperparameters store ("bce", "hinge", "wasserstein-gp" …).
    var name: String { get }
    /// D's term on a real image and its slope; `realTarget` is 1 − the label smoothing
    /// (losses without a target ignore it).
    func real(_ z: Float, realTarget: Float) -> (term: Double, slope: Float)
    /// D's term on a fake image and its slope.
    func fake(_ z: Float) -> (term: Double, slope: Float)
    /// G's term on a fake image and its slope.
    func generator(_ z: Float) -> (term: Double, slope: Float)
    /// G's slope divided by D's fake slope at z, where that ratio is finite and well
    /// conditioned, else nil. When D's layers treat images independently, D's backward is
    /// linear in each image's upstream scalar, so one backward of D's fake slopes gives D's
    /// parameter gradients and, times this ratio image by image, G's input gradient: the step
    /// then saves a second backward through D.
    func sharedBackwardRatio(_ z: Float) -> Float?
    /// A regulariser of D computed from extra passes; nil for losses of the logits alone.
    var penalty: (any DiscriminatorPenalty)? { get }
}

public extension AdversarialLoss {
    var penalty: (any DiscriminatorPenalty)? { nil }
}

/// A term of D's loss that needs more than its logits, such as WGAN-GP's gradient penalty
/// λ·(‖∇ₓD(x̂)‖ − 1)² at x̂ = εx + (1 − ε)x̃. The step calls it once per D update, after D's
/// real and fake passes and before D's optimizer steps, serially on D itself (a step with a
/// penalty does not slice D over threads).
///
/// It must add ∂(penalty mean over the batch)/∂θ into D's parameter gradients (`grad`), and
/// return the penalty summed over the images (the step adds it to D's loss, over N).
/// For the gradient penalty that derivative is second order: ∂/∂θ of a norm of ∂D/∂x. It can be
/// computed exactly (a second-order backward of each layer D uses), or as a central difference
/// of two D backwards at x̂ ± h·∇ₓD(x̂)/‖∇ₓD(x̂)‖ scaled by λ·2(‖∇ₓD‖ − 1)/(2h), using that
/// ∂/∂θ ‖g(θ)‖ = Hₓθᵀ ĝ; D's caches are reused freely, since its passes are done.
public protocol DiscriminatorPenalty: Sendable {
    func accumulate(
        discriminator: LabelledNetwork, real: Tensor, fake: Tensor, labels: Tensor?,
        inverseN: Float, rng: RandomSource
    ) -> Double
}

/// The seeds' loss: binary cross-entropy on D's logits, G non-saturating (G's target is 1
/// on its fakes), as the TensorFlow tutorial writes it.
public struct NonSaturatingBCE: AdversarialLoss {
    public init() {}
    public var name: String { "bce" }

    @inline(__always) public func real(_ z: Float, realTarget: Float) -> (term: Double, slope: Float) {
        (BinaryCrossEntropy.term(logit: z, target: realTarget), BinaryCrossEntropy.slope(logit: z, target: realTarget))
    }

    @inline(__always) public func fake(_ z: Float) -> (term: Double, slope: Float) {
        (BinaryCrossEntropy.term(logit: z, target: 0), BinaryCrossEntropy.slope(logit: z, target: 0))
    }

    @inline(__always) public func generator(_ z: Float) -> (term: Double, slope: Float) {
        (BinaryCrossEntropy.term(logit: z, target: 1), BinaryCrossEntropy.slope(logit: z, target: 1))
    }

    /// (p − 1)/p with p = σ(z) is −e^(−z), computed without the cancellation. Far below zero
    /// D's slopes p/N are tiny (p < 1e-13 at −30) and gradients scaled by them would come
    /// close to float's subnormal range deep in D: the step's `sharedBackwardLowestLogit`
    /// takes two backwards there.
    @inline(__always) public func sharedBackwardRatio(_ z: Float) -> Float? { -exp(-z) }
}
