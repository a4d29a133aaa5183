import CConvKernels
import Foundation

/// Elementwise layers. Each caches what its derivative needs (input or output).
/// x: any shape → y: same shape

public final class LeakyReLU: Layer {
    public let alpha: Float
    private let output = Tensor(shape: [0]), gradInput = Tensor(shape: [0])
    private var input: Tensor?
    /// The input whose signs a held pattern keeps (`holdActivationPattern`).
    private let heldSigns = Tensor(shape: [0])
    private var holding = false
    public init(alpha: Float) { self.alpha = alpha }
    public func replica() -> Layer? { LeakyReLU(alpha: alpha) }

    public func holdActivationPattern(_ hold: Bool) {
        if hold, let x = input {
            heldSigns.resize(x.shape)
            heldSigns.data.update(from: x.data, count: x.count)
        }
        holding = hold
    }

    /// Where the slope is 1 or α: the input's signs, or the held ones.
    private func signs(for x: Tensor) -> Tensor {
        guard holding else { return x }
        precondition(heldSigns.count == x.count, "LeakyReLU: a held pattern of \(heldSigns.shape) for \(x.shape)")
        return heldSigns
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        input = x
        output.resize(x.shape)
        let ss = signs(for: x).data, xs = x.data, ys = output.data, a = alpha
        Threads.parallelFor(x.count) { r in
            zoo_leaky(ss + r.lowerBound, xs + r.lowerBound, ys + r.lowerBound, a, r.count)
        }
        return output
    }

    public func backward(_ dy: Tensor, needs: GradientNeeds) -> Tensor {
        guard needs.contains(.input), let x = input else { return gradInput }
        gradInput.resize(x.shape)
        let ss = signs(for: x).data, ds = dy.data, gs = gradInput.data, a = alpha
        Threads.parallelFor(x.count) { r in
            zoo_leaky(ss + r.lowerBound, ds + r.lowerBound, gs + r.lowerBound, a, r.count)
        }
        return gradInput
    }
}

public final class ReLU: Layer {
    private let output = Tensor(shape: [0]), gradInput = Tensor(shape: [0])
    public init() {}
    public func replica() -> Layer? { ReLU() }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        output.resize(x.shape)
        let xs = x.data, ys = output.data
        Threads.parallelFor(x.count) { r in
            zoo_leaky(xs + r.lowerBound, xs + r.lowerBound, ys + r.lowerBound, 0, r.count)
        }
        return output
    }

    public func backward(_ dy: Tensor, needs: GradientNeeds) -> Tensor {
        guard needs.contains(.input) else { return gradInput }
        gradInput.resize(output.shape)
        let ys = output.data, ds = dy.data, gs = gradInput.data
        Threads.parallelFor(output.count) { r in
            zoo_leaky(ys + r.lowerBound, ds + r.lowerBound, gs + r.lowerBound, 0, r.count)
        }
        return gradInput
    }
}

/// tanh as Eigen's rational minimax approximation (generic_fast_tanh_float): within
/// 4e-7 of the true value, |result| ≤ 1, and branch-light so loops vectorize. glibc's
/// tanhf (via expm1f) was 18% of a conditional-GAN training step.
@inline(__always)
public func fastTanh(_ value: Float) -> Float {
    if abs(value) < 0.0004 { return value }
    let x = min(max(value, -7.90531110763549805), 7.90531110763549805)
    let x2 = x * x
    var p: Float = -2.76076847742355e-16
    p = p * x2 + 2.00018790482477e-13
    p = p * x2 - 8.60467152213735e-11
    p = p * x2 + 5.12229709037114e-08
    p = p * x2 + 1.48572235717979e-05
    p = p * x2 + 6.37261928875436e-04
    p = p * x2 + 4.89352455891786e-03
    var q: Float = 1.19825839466702e-06
    q = q * x2 + 1.18534705686654e-04
    q = q * x2 + 2.26843463243900e-03
    q = q * x2 + 4.89352518554385e-03
    return x * p / q
}

public final class Tanh: Layer {
    private let output = Tensor(shape: [0]), gradInput = Tensor(shape: [0])
    public init() {}
    public func replica() -> Layer? { Tanh() }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        output.resize(x.shape)
        let xs = x.data, ys = output.data
        Threads.parallelFor(x.count) { r in zoo_tanh(xs + r.lowerBound, ys + r.lowerBound, r.count) }
        return output
    }

    public func backward(_ dy: Tensor, needs: GradientNeeds) -> Tensor {
        guard needs.contains(.input) else { return gradInput }
        gradInput.resize(output.shape)
        let ys = output.data, ds = dy.data, gs = gradInput.data
        Threads.parallelFor(output.count) { r in
            zoo_tanh_backward(ys + r.lowerBound, ds + r.lowerBound, gs + r.lowerBound, r.count)
        }
        return gradInput
    }
}

public final class Sigmoid: Layer {
    private let output = Tensor(shape: [0]), gradInput = Tensor(shape: [0])
    public init() {}
    public func replica() -> Layer? { Sigmoid() }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        output.resize(x.shape)
        let xs = x.data, ys = output.data
        Threads.parallelFor(x.count) { r in for i in r { ys[i] = 1 / (1 + expf(-xs[i])) } }
        return output
    }

    public func backward(_ dy: Tensor, needs: GradientNeeds) -> Tensor {
        guard needs.contains(.input) else { return gradInput }
        gradInput.resize(output.shape)
        let ys = output.data, ds = dy.data, gs = gradInput.data
        Threads.parallelFor(output.count) { r in for i in r { gs[i] = ds[i] * ys[i] * (1 - ys[i]) } }
        return gradInput
    }
}

/// Inverted dropout: in training, each element is zeroed with probability `rate` and the
/// rest scaled by 1/(1 − rate); identity at inference. The mask comes from the shared
/// RandomSource (16 bits per element, 4 per draw), so it is checkpointed with it.
public final class Dropout: Layer {
    public let rate: Float
    let rng: RandomSource
    private let output = Tensor(shape: [0]), gradInput = Tensor(shape: [0]), mask = Tensor(shape: [0])
    private let words = Tensor(shape: [0])  // the draws, as raw 64-bit words
    private var active = false

    public init(rate: Float, rng: RandomSource) {
        precondition(rate >= 0 && rate < 1, "dropout rate must be in [0, 1)")
        self.rate = rate; self.rng = rng
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        active = training && rate > 0
        guard active else { return x }
        output.resize(x.shape)
        mask.resize(x.shape)
        // The draws come first, one thread (they are the stream's next words); turning them
        // into the mask and the output is split over the threads.
        let wordCount = (x.count + 3) / 4
        words.resize([2 * wordCount])  // a word is two floats' bytes
        let bits = UnsafeMutableRawPointer(words.data).bindMemory(to: UInt64.self, capacity: wordCount)
        rng.fill(words: bits, count: wordCount)
        let threshold = Self.threshold(rate), keep = 1 / (1 - rate)
        let values = UnsafeRawPointer(bits).assumingMemoryBound(to: UInt16.self)
        let xs = x.data, ys = output.data, ms = mask.data
        Threads.parallelFor(x.count) { r in
            zoo_dropout_mask(
                values + r.lowerBound, Int32(threshold), keep, xs + r.lowerBound, ms + r.lowerBound,
                ys + r.lowerBound, r.count)
        }
        return output
    }

    /// The 16-bit draw at or above which an element is kept (65536 for a rate within 2⁻¹⁷ of 1: none).
    static func threshold(_ rate: Float) -> Int { Int((rate * 65536).rounded()) }

    /// The mask the forward draws, computed the plain way (the reference for
    /// zoo_dropout_mask): element i keeps when its 16 bits (bits 16·(i mod 4) of the stream's
    /// word i / 4) are at least the threshold.
    static func referenceMask(count: Int, rate: Float, rng: RandomSource) -> [Float] {
        let threshold = UInt64(Self.threshold(rate)), keep = 1 / (1 - rate)
        var mask = [Float](repeating: 0, count: count)
        var i = 0
        while i < count {
            var bits = rng.next()
            for _ in 0..<4 where i < count {
                mask[i] = (bits & 0xFFFF) >= threshold ? keep : 0
                bits >>= 16
                i += 1
            }
        }
        return mask
    }

    public func backward(_ dy: Tensor, needs: GradientNeeds) -> Tensor {
        guard active else { return dy }
        guard needs.contains(.input) else { return gradInput }
        gradInput.resize(dy.shape)
        let ds = dy.data, gs = gradInput.data, ms = mask.data
        Threads.parallelFor(dy.count) { r in
            zoo_multiply(ds + r.lowerBound, ms + r.lowerBound, gs + r.lowerBound, r.count)
        }
        return gradInput
    }
}
