/// The references of the C elementwise kernels (CConvKernels/elementwise.c: zoo_leaky,
/// zoo_adam_update), which the layers and Adam run; ElementwiseKernelTests compares the two
/// bit for bit at every vector level. Written on SIMD16 values, as they ran before the C
/// kernels: as plain loops over pointers they stayed scalar and the `x > 0 ? a : b` selects
/// became branches that mispredict on activations. Each function does the same arithmetic,
/// in the same order, as the scalar tail it ends with, so results are identical.
typealias Float16x = SIMD16<Float>

@inline(__always) func load16(_ p: UnsafePointer<Float>) -> Float16x {
    UnsafeRawPointer(p).loadUnaligned(as: Float16x.self)
}

@inline(__always) func store16(_ v: Float16x, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Float16x.self)
}

/// ys[i] = xs[i] > 0 ? xs[i] : slope·xs[i] over `range`; slope 0 is ReLU and gives +0, not
/// 0·x (which is −0 for negative x), as max(x, 0) did.
@inline(__always)
func leakyForward(_ xs: UnsafePointer<Float>, _ ys: UnsafeMutablePointer<Float>, slope: Float, _ range: Range<Int>) {
    var i = range.lowerBound
    while i + 16 <= range.upperBound {
        let v = load16(xs + i)
        let low = slope == 0 ? Float16x.zero : slope * v
        store16(low.replacing(with: v, where: v .> 0), ys + i)
        i += 16
    }
    while i < range.upperBound { let v = xs[i]; ys[i] = v > 0 ? v : (slope == 0 ? 0 : slope * v); i += 1 }
}

/// gs[i] = keys[i] > 0 ? ds[i] : slope·ds[i] over `range` (slope 0: +0).
@inline(__always)
func leakyBackward(
    _ keys: UnsafePointer<Float>, _ ds: UnsafePointer<Float>, _ gs: UnsafeMutablePointer<Float>,
    slope: Float, _ range: Range<Int>
) {
    var i = range.lowerBound
    while i + 16 <= range.upperBound {
        let d = load16(ds + i)
        let low = slope == 0 ? Float16x.zero : slope * d
        store16(low.replacing(with: d, where: load16(keys + i) .> 0), gs + i)
        i += 16
    }
    while i < range.upperBound { gs[i] = keys[i] > 0 ? ds[i] : (slope == 0 ? 0 : slope * ds[i]); i += 1 }
}

/// to[i] += from[i], from[i] = 0 over `range` (a replica's gradients taken into the network's).
@inline(__always)
func addAndClear(_ to: UnsafeMutablePointer<Float>, _ from: UnsafeMutablePointer<Float>, _ range: Range<Int>) {
    var i = range.lowerBound
    while i + 16 <= range.upperBound {
        store16(load16(to + i) + load16(from + i), to + i)
        store16(.zero, from + i)
        i += 16
    }
    while i < range.upperBound { to[i] += from[i]; from[i] = 0; i += 1 }
}

/// One Adam update over `range`: m, v, w updated in place, g zeroed (see Adam.step).
@inline(__always)
func adamUpdate(
    w: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>,
    v: UnsafeMutablePointer<Float>, b1: Float, b2: Float, alpha: Float, eps: Float, _ range: Range<Int>
) {
    var i = range.lowerBound
    while i + 16 <= range.upperBound {
        let gi = load16(g + i)
        let mi = b1 * load16(m + i) + (1 - b1) * gi
        let vi = b2 * load16(v + i) + (1 - b2) * gi * gi
        store16(mi, m + i)
        store16(vi, v + i)
        store16(load16(w + i) - alpha * mi / (vi.squareRoot() + eps), w + i)
        store16(.zero, g + i)
        i += 16
    }
    while i < range.upperBound {
        let gi = g[i]
        m[i] = b1 * m[i] + (1 - b1) * gi
        v[i] = b2 * v[i] + (1 - b2) * gi * gi
        w[i] -= alpha * m[i] / (v[i].squareRoot() + eps)
        g[i] = 0
        i += 1
    }
}
