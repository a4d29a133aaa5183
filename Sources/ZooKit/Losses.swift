import Foundation
import ZooEngine

// The GAN family's adversarial losses on the seam (`AdversarialLoss`). Each is a function of
// D's output z per image; the step averages over the batch.

/// Hinge loss (Lim & Ye 2017; SNGAN, BigGAN): D minimises max(0, 1 − z_real) + max(0, 1 + z_fake),
/// G minimises −z_fake. Label smoothing does not apply (no target).
public struct HingeLoss: AdversarialLoss {
    public init() {}
    public var name: String { "hinge" }
    public func real(_ z: Float, realTarget: Float) -> (term: Double, slope: Float) {
        (Double(max(0, 1 - z)), z < 1 ? -1 : 0)
    }
    public func fake(_ z: Float) -> (term: Double, slope: Float) { (Double(max(0, 1 + z)), z > -1 ? 1 : 0) }
    public func generator(_ z: Float) -> (term: Double, slope: Float) { (Double(-z), -1) }
    /// G's slope −1 over D's +1 where D's fake term is active; where it is flat (z ≤ −1) D's
    /// backward carries nothing to rescale, so the step takes two backwards.
    public func sharedBackwardRatio(_ z: Float) -> Float? { z > -1 ? -1 : nil }
}

/// Least squares (Mao et al. 2017, LSGAN with a = 0, b = c = 1): D minimises
/// ½(z_real − 1)² + ½z_fake², G minimises ½(z_fake − 1)². One-sided label smoothing moves the
/// real target to 1 − s.
public struct LeastSquaresLoss: AdversarialLoss {
    public init() {}
    public var name: String { "least-squares" }
    public func real(_ z: Float, realTarget: Float) -> (term: Double, slope: Float) {
        let d = Double(z) - Double(realTarget)
        return (0.5 * d * d, z - realTarget)
    }
    public func fake(_ z: Float) -> (term: Double, slope: Float) { (0.5 * Double(z) * Double(z), z) }
    public func generator(_ z: Float) -> (term: Double, slope: Float) {
        let d = Double(z) - 1
        return (0.5 * d * d, z - 1)
    }
    /// (z − 1)/z, left to two backwards near z = 0 where it blows up.
    public func sharedBackwardRatio(_ z: Float) -> Float? { abs(z) > 1e-3 ? (z - 1) / z : nil }
}

/// The Wasserstein critic (Arjovsky et al. 2017): D minimises z_fake − z_real, G minimises
/// −z_fake; with `penalty` a `GradientPenalty` it is WGAN-GP (Gulrajani et al. 2017).
public struct WassersteinLoss: AdversarialLoss {
    public let penalty: (any DiscriminatorPenalty)?
    public init(penalty: (any DiscriminatorPenalty)? = nil) { self.penalty = penalty }
    public var name: String { penalty == nil ? "wasserstein" : "wasserstein-gp" }
    public func real(_ z: Float, realTarget: Float) -> (term: Double, slope: Float) { (Double(-z), -1) }
    public func fake(_ z: Float) -> (term: Double, slope: Float) { (Double(z), 1) }
    public func generator(_ z: Float) -> (term: Double, slope: Float) { (Double(-z), -1) }
    public func sharedBackwardRatio(_ z: Float) -> Float? { -1 }
}
