import CConvKernels
import Foundation

/// Batch normalization over the channel axis, Keras semantics (momentum 0.99, ε 1e-3,
/// biased batch variance for both normalising and the moving average).
/// x: [N, F] (dense) or [N, C, H, W] (conv; statistics over N·H·W per channel) → y: same
/// Caches: xhat (normalised input; training only), invStd per channel, and in inference the
/// input itself: generation never runs a backward, and not writing x̂ spares a cold
/// `zoo generate` a buffer per BatchNorm (fresh pages cost ~3 µs each on a small VM). A
/// backward after an inference forward rebuilds x̂ from that input.
/// With `leakyAlpha`, a LeakyReLU is fused after the affine step: the output buffer holds
/// the activation and the backward reads its slope from the output's sign, so a separate
/// activation layer's output and gradient buffers (13 MB each in the DCGAN at batch 256)
/// are not needed.
public final class BatchNorm: Layer {
    public let gamma: Parameter, beta: Parameter
    public let movingMean: Parameter, movingVariance: Parameter
    public let momentum: Float, epsilon: Float
    /// Slope for negative outputs when a LeakyReLU is fused (1: none).
    public let negativeSlope: Float
    let features: Int
    private let output = Tensor(shape: [0])
    private let xhat = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    private var invStd: [Float]
    private var trainingForward = true
    private var inferenceInput: Tensor?

    public init(features: Int, momentum: Float = 0.99, epsilon: Float = 1e-3, leakyAlpha: Float? = nil) {
        self.features = features; self.momentum = momentum; self.epsilon = epsilon
        negativeSlope = leakyAlpha ?? 1
        gamma = Parameter("gamma", shape: [features]); gamma.value.fill(1)
        beta = Parameter("beta", shape: [features])
        movingMean = Parameter("moving_mean", shape: [features], trainable: false)
        movingVariance = Parameter("moving_variance", shape: [features], trainable: false)
        movingVariance.value.fill(1)
        invStd = [Float](repeating: 1, count: features)
    }

    public var parameters: [Parameter] { [gamma, beta, movingMean, movingVariance] }
    public var mixesImages: Bool { true }  // training normalises with the batch's statistics

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.shape.count >= 2 && x.shape[1] == features, "BatchNorm(\(features)) got \(x.shape)")
        let n = x.shape[0], c = features, plane = x.count / (n * c)
        output.resize(x.shape)
        if training { xhat.resize(x.shape) }
        trainingForward = training
        inferenceInput = training ? nil : x
        let xs = x.data, ys = output.data, hs: UnsafeMutablePointer<Float>? = training ? xhat.data : nil
        let g = gamma.value.data, b = beta.value.data
        let mm = movingMean.value.data, mv = movingVariance.value.data
        let count = Double(n * plane)
        if plane == 1 {
            forwardDense(xs, ys, hs, n: n, training: training)
            return output
        }
        invStd.withUnsafeMutableBufferPointer { inv in
            let invs = inv.baseAddress!
            Threads.parallelFor(c, minimum: 2) { channels in
                for ch in channels {
                    var mean: Float, variance: Float
                    if training {
                        var sum = 0.0
                        for s in 0..<n { let p = xs + (s * c + ch) * plane; for i in 0..<plane { sum += Double(p[i]) } }
                        let m = sum / count
                        var sq = 0.0
                        for s in 0..<n {
                            let p = xs + (s * c + ch) * plane;
                            for i in 0..<plane { let d = Double(p[i]) - m; sq += d * d }
                        }
                        mean = Float(m); variance = Float(sq / count)
                        mm[ch] = momentum * mm[ch] + (1 - momentum) * mean
                        mv[ch] = momentum * mv[ch] + (1 - momentum) * variance
                    } else {
                        mean = mm[ch]; variance = mv[ch]
                    }
                    let inverse = 1 / (variance + epsilon).squareRoot()
                    invs[ch] = inverse
                    let scale = g[ch], shift = b[ch], slope = self.negativeSlope
                    for s in 0..<n {
                        let offset = (s * c + ch) * plane
                        for i in 0..<plane {
                            let h = (xs[offset + i] - mean) * inverse
                            hs?[offset + i] = h
                            let y = scale * h + shift
                            ys[offset + i] = y > 0 ? y : slope * y
                        }
                    }
                }
            }
        }
        return output
    }

    public func backward(_ dy: Tensor, needs: GradientNeeds) -> Tensor {
        if let x = inferenceInput { rebuildNormalized(from: x) }
        let shape = xhat.shape
        let n = shape[0], c = features, plane = xhat.count / (n * c)
        let m = Float(n * plane)
        gradInput.resize(shape)
        let dys = dy.data, hs = xhat.data, dxs = gradInput.data, ys = output.data
        let g = gamma.value.data, dg = gamma.grad.data, db = beta.grad.data
        let training = trainingForward, slope = negativeSlope
        if plane == 1 {
            backwardDense(dys, hs, dxs, n: n, needs: needs)
            return gradInput
        }
        invStd.withUnsafeBufferPointer { inv in
            let invs = inv.baseAddress!
            Threads.parallelFor(c, minimum: 2) { channels in
                for ch in channels {
                    // d: dL/d(affine output), through the fused activation's slope.
                    var sumDy = 0.0, sumDyH = 0.0
                    for s in 0..<n {
                        let offset = (s * c + ch) * plane
                        for i in 0..<plane {
                            let d = ys[offset + i] > 0 ? dys[offset + i] : slope * dys[offset + i]
                            sumDy += Double(d); sumDyH += Double(d * hs[offset + i])
                        }
                    }
                    if needs.contains(.parameters) {
                        dg[ch] += Float(sumDyH)
                        db[ch] += Float(sumDy)
                    }
                    guard needs.contains(.input) else { continue }
                    let k = g[ch] * invs[ch]
                    if training {
                        // dx = γ/σ · (dy − mean(dy) − x̂·mean(dy·x̂))
                        let meanDy = Float(sumDy) / m, meanDyH = Float(sumDyH) / m
                        for s in 0..<n {
                            let offset = (s * c + ch) * plane
                            for i in 0..<plane {
                                let d = ys[offset + i] > 0 ? dys[offset + i] : slope * dys[offset + i]
                                dxs[offset + i] = k * (d - meanDy - hs[offset + i] * meanDyH)
                            }
                        }
                    } else {
                        for s in 0..<n {
                            let offset = (s * c + ch) * plane
                            for i in 0..<plane {
                                dxs[offset + i] = k * (ys[offset + i] > 0 ? dys[offset + i] : slope * dys[offset + i])
                            }
                        }
                    }
                }
            }
        }
        return gradInput
    }

    /// [N, F] inputs: features are contiguous within a row, so statistics are gathered
    /// row by row over a range of features per thread (a per-feature loop would stride
    /// through memory F floats at a time).
    private func forwardDense(
        _ xs: UnsafeMutablePointer<Float>, _ ys: UnsafeMutablePointer<Float>,
        _ hs: UnsafeMutablePointer<Float>?, n: Int, training: Bool
    ) {
        let c = features
        let g = gamma.value.data, b = beta.value.data
        let mm = movingMean.value.data, mv = movingVariance.value.data
        invStd.withUnsafeMutableBufferPointer { inv in
            let invs = inv.baseAddress!
            let slope = negativeSlope
            Threads.parallelFor(c, minimum: 256) { r in
                if usesVectorKernels {
                    forwardDenseBlock(xs, ys, hs, n: n, features: r, training: training, invs: invs)
                    return
                }
                let width = r.count
                var mean = [Float](repeating: 0, count: width), variance = [Float](repeating: 0, count: width)
                if training {
                    var sum = [Double](repeating: 0, count: width)
                    for s in 0..<n {
                        let row = xs + s * c + r.lowerBound; for j in 0..<width { sum[j] += Double(row[j]) }
                    }
                    for j in 0..<width { mean[j] = Float(sum[j] / Double(n)) }
                    var sq = [Double](repeating: 0, count: width)
                    for s in 0..<n {
                        let row = xs + s * c + r.lowerBound
                        for j in 0..<width { let d = Double(row[j] - mean[j]); sq[j] += d * d }
                    }
                    for j in 0..<width {
                        variance[j] = Float(sq[j] / Double(n))
                        let ch = r.lowerBound + j
                        mm[ch] = momentum * mm[ch] + (1 - momentum) * mean[j]
                        mv[ch] = momentum * mv[ch] + (1 - momentum) * variance[j]
                    }
                } else {
                    for j in 0..<width { mean[j] = mm[r.lowerBound + j]; variance[j] = mv[r.lowerBound + j] }
                }
                for j in 0..<width { invs[r.lowerBound + j] = 1 / (variance[j] + epsilon).squareRoot() }
                for s in 0..<n {
                    let offset = s * c + r.lowerBound
                    for j in 0..<width {
                        let ch = r.lowerBound + j
                        let h = (xs[offset + j] - mean[j]) * invs[ch]
                        hs?[offset + j] = h
                        let y = g[ch] * h + b[ch]
                        ys[offset + j] = y > 0 ? y : slope * y
                    }
                }
            }
        }
    }

    /// x̂ = (x − moving mean) · invStd, as the inference forward computed it.
    private func rebuildNormalized(from x: Tensor) {
        xhat.resize(x.shape)
        let n = x.shape[0], c = features, plane = x.count / (n * c)
        let mm = movingMean.value.data
        for s in 0..<n {
            for ch in 0..<c {
                let offset = (s * c + ch) * plane
                for i in 0..<plane { xhat.data[offset + i] = (x.data[offset + i] - mm[ch]) * invStd[ch] }
            }
        }
        inferenceInput = nil
    }

    private func backwardDense(
        _ dys: UnsafeMutablePointer<Float>, _ hs: UnsafeMutablePointer<Float>,
        _ dxs: UnsafeMutablePointer<Float>, n: Int, needs: GradientNeeds
    ) {
        let c = features
        let g = gamma.value.data, dg = gamma.grad.data, db = beta.grad.data
        let training = trainingForward, slope = negativeSlope, ys = output.data
        invStd.withUnsafeBufferPointer { inv in
            let invs = inv.baseAddress!
            Threads.parallelFor(c, minimum: 256) { r in
                if usesVectorKernels {
                    backwardDenseBlock(dys, hs, dxs, n: n, features: r, needs: needs, invs: invs)
                    return
                }
                let width = r.count
                var sumDy = [Double](repeating: 0, count: width), sumDyH = [Double](repeating: 0, count: width)
                for s in 0..<n {
                    let offset = s * c + r.lowerBound
                    for j in 0..<width {
                        let d = ys[offset + j] > 0 ? dys[offset + j] : slope * dys[offset + j]
                        sumDy[j] += Double(d)
                        sumDyH[j] += Double(d * hs[offset + j])
                    }
                }
                if needs.contains(.parameters) {
                    for j in 0..<width {
                        dg[r.lowerBound + j] += Float(sumDyH[j]); db[r.lowerBound + j] += Float(sumDy[j])
                    }
                }
                guard needs.contains(.input) else { return }
                let m = Float(n)
                for s in 0..<n {
                    let offset = s * c + r.lowerBound
                    for j in 0..<width {
                        let ch = r.lowerBound + j
                        let k = g[ch] * invs[ch]
                        let d = ys[offset + j] > 0 ? dys[offset + j] : slope * dys[offset + j]
                        dxs[offset + j] =
                            training
                            ? k * (d - Float(sumDy[j]) / m - hs[offset + j] * Float(sumDyH[j]) / m)
                            : k * d
                    }
                }
            }
        }
    }

    /// The dense path through the C kernels (zoo_bn_*, vectorized across features); the Swift
    /// loops beside it are their reference, and the tests switch this off to compare.
    var usesVectorKernels = true

    /// forwardDense for the features `r`: the same sums in the same order as its Swift loops.
    private func forwardDenseBlock(
        _ xs: UnsafeMutablePointer<Float>, _ ys: UnsafeMutablePointer<Float>,
        _ hs: UnsafeMutablePointer<Float>?, n: Int, features r: Range<Int>, training: Bool,
        invs: UnsafeMutablePointer<Float>
    ) {
        let c = features, width = r.count, j0 = r.lowerBound
        let mm = movingMean.value.data + j0, mv = movingVariance.value.data + j0
        var mean = [Float](repeating: 0, count: width), variance = [Float](repeating: 0, count: width)
        if training {
            var sum = [Double](repeating: 0, count: width), sq = [Double](repeating: 0, count: width)
            zoo_bn_sums(xs + j0, c, Int32(n), Int32(width), &sum)
            for j in 0..<width { mean[j] = Float(sum[j] / Double(n)) }
            zoo_bn_squares(xs + j0, c, Int32(n), Int32(width), mean, &sq)
            for j in 0..<width {
                variance[j] = Float(sq[j] / Double(n))
                mm[j] = momentum * mm[j] + (1 - momentum) * mean[j]
                mv[j] = momentum * mv[j] + (1 - momentum) * variance[j]
            }
        } else {
            for j in 0..<width { mean[j] = mm[j]; variance[j] = mv[j] }
        }
        for j in 0..<width { invs[j0 + j] = 1 / (variance[j] + epsilon).squareRoot() }
        zoo_bn_normalize(
            xs + j0, c, Int32(n), Int32(width), mean, invs + j0, gamma.value.data + j0, beta.value.data + j0,
            negativeSlope, hs.map { $0 + j0 }, ys + j0)
    }

    /// backwardDense for the features `r`, through the C kernels.
    private func backwardDenseBlock(
        _ dys: UnsafeMutablePointer<Float>, _ hs: UnsafeMutablePointer<Float>,
        _ dxs: UnsafeMutablePointer<Float>, n: Int, features r: Range<Int>, needs: GradientNeeds,
        invs: UnsafePointer<Float>
    ) {
        let c = features, width = r.count, j0 = r.lowerBound, ys = output.data + j0
        var sumDy = [Double](repeating: 0, count: width), sumDyH = [Double](repeating: 0, count: width)
        zoo_bn_backward_sums(ys, dys + j0, hs + j0, c, Int32(n), Int32(width), negativeSlope, &sumDy, &sumDyH)
        if needs.contains(.parameters) {
            let dg = gamma.grad.data + j0, db = beta.grad.data + j0
            for j in 0..<width { dg[j] += Float(sumDyH[j]); db[j] += Float(sumDy[j]) }
        }
        guard needs.contains(.input) else { return }
        let m = Float(n), g = gamma.value.data + j0
        let k = (0..<width).map { g[$0] * invs[j0 + $0] }
        let meanDy = sumDy.map { Float($0) / m }, sums = sumDyH.map { Float($0) }
        zoo_bn_backward_input(
            ys, dys + j0, hs + j0, c, Int32(n), Int32(width), negativeSlope, k, meanDy, sums, m,
            trainingForward ? 1 : 0, dxs + j0)
    }
}
