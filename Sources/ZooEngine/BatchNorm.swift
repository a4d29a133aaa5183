import Foundation

/// Batch normalization over the channel axis, Keras semantics (momentum 0.99, ε 1e-3,
/// biased batch variance for both normalising and the moving average).
/// x: [N, F] (dense) or [N, C, H, W] (conv; statistics over N·H·W per channel) → y: same
/// Caches: xhat (normalised input), invStd per channel.
public final class BatchNorm: Layer {
    public let gamma: Parameter, beta: Parameter
    public let movingMean: Parameter, movingVariance: Parameter
    public let momentum: Float, epsilon: Float
    let features: Int
    private let output = Tensor(shape: [0])
    private let xhat = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    private var invStd: [Float]
    private var trainingForward = true

    public init(features: Int, momentum: Float = 0.99, epsilon: Float = 1e-3) {
        self.features = features; self.momentum = momentum; self.epsilon = epsilon
        gamma = Parameter("gamma", shape: [features]); gamma.value.fill(1)
        beta = Parameter("beta", shape: [features])
        movingMean = Parameter("moving_mean", shape: [features], trainable: false)
        movingVariance = Parameter("moving_variance", shape: [features], trainable: false)
        movingVariance.value.fill(1)
        invStd = [Float](repeating: 1, count: features)
    }

    public var parameters: [Parameter] { [gamma, beta, movingMean, movingVariance] }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.shape.count >= 2 && x.shape[1] == features, "BatchNorm(\(features)) got \(x.shape)")
        let n = x.shape[0], c = features, plane = x.count / (n * c)
        output.resize(x.shape)
        xhat.resize(x.shape)
        trainingForward = training
        let xs = x.data, ys = output.data, hs = xhat.data
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
                        for s in 0..<n { let p = xs + (s * c + ch) * plane; for i in 0..<plane { let d = Double(p[i]) - m; sq += d * d } }
                        mean = Float(m); variance = Float(sq / count)
                        mm[ch] = momentum * mm[ch] + (1 - momentum) * mean
                        mv[ch] = momentum * mv[ch] + (1 - momentum) * variance
                    } else {
                        mean = mm[ch]; variance = mv[ch]
                    }
                    let inverse = 1 / (variance + epsilon).squareRoot()
                    invs[ch] = inverse
                    let scale = g[ch], shift = b[ch]
                    for s in 0..<n {
                        let offset = (s * c + ch) * plane
                        for i in 0..<plane {
                            let h = (xs[offset + i] - mean) * inverse
                            hs[offset + i] = h
                            ys[offset + i] = scale * h + shift
                        }
                    }
                }
            }
        }
        return output
    }

    public func backward(_ dy: Tensor, needs: GradientNeeds) -> Tensor {
        let shape = xhat.shape
        let n = shape[0], c = features, plane = xhat.count / (n * c)
        let m = Float(n * plane)
        gradInput.resize(shape)
        let dys = dy.data, hs = xhat.data, dxs = gradInput.data
        let g = gamma.value.data, dg = gamma.grad.data, db = beta.grad.data
        let training = trainingForward
        if plane == 1 {
            backwardDense(dys, hs, dxs, n: n, needs: needs)
            return gradInput
        }
        invStd.withUnsafeBufferPointer { inv in
            let invs = inv.baseAddress!
            Threads.parallelFor(c, minimum: 2) { channels in
                for ch in channels {
                    var sumDy = 0.0, sumDyH = 0.0
                    for s in 0..<n {
                        let offset = (s * c + ch) * plane
                        for i in 0..<plane { sumDy += Double(dys[offset + i]); sumDyH += Double(dys[offset + i] * hs[offset + i]) }
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
                            for i in 0..<plane { dxs[offset + i] = k * (dys[offset + i] - meanDy - hs[offset + i] * meanDyH) }
                        }
                    } else {
                        for s in 0..<n {
                            let offset = (s * c + ch) * plane
                            for i in 0..<plane { dxs[offset + i] = k * dys[offset + i] }
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
    private func forwardDense(_ xs: UnsafeMutablePointer<Float>, _ ys: UnsafeMutablePointer<Float>,
                              _ hs: UnsafeMutablePointer<Float>, n: Int, training: Bool) {
        let c = features
        let g = gamma.value.data, b = beta.value.data
        let mm = movingMean.value.data, mv = movingVariance.value.data
        invStd.withUnsafeMutableBufferPointer { inv in
            let invs = inv.baseAddress!
            Threads.parallelFor(c, minimum: 256) { r in
                let width = r.count
                var mean = [Float](repeating: 0, count: width), variance = [Float](repeating: 0, count: width)
                if training {
                    var sum = [Double](repeating: 0, count: width)
                    for s in 0..<n { let row = xs + s * c + r.lowerBound; for j in 0..<width { sum[j] += Double(row[j]) } }
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
                        hs[offset + j] = h
                        ys[offset + j] = g[ch] * h + b[ch]
                    }
                }
            }
        }
    }

    private func backwardDense(_ dys: UnsafeMutablePointer<Float>, _ hs: UnsafeMutablePointer<Float>,
                               _ dxs: UnsafeMutablePointer<Float>, n: Int, needs: GradientNeeds) {
        let c = features
        let g = gamma.value.data, dg = gamma.grad.data, db = beta.grad.data
        let training = trainingForward
        invStd.withUnsafeBufferPointer { inv in
            let invs = inv.baseAddress!
            Threads.parallelFor(c, minimum: 256) { r in
                let width = r.count
                var sumDy = [Double](repeating: 0, count: width), sumDyH = [Double](repeating: 0, count: width)
                for s in 0..<n {
                    let offset = s * c + r.lowerBound
                    for j in 0..<width {
                        sumDy[j] += Double(dys[offset + j])
                        sumDyH[j] += Double(dys[offset + j] * hs[offset + j])
                    }
                }
                if needs.contains(.parameters) {
                    for j in 0..<width { dg[r.lowerBound + j] += Float(sumDyH[j]); db[r.lowerBound + j] += Float(sumDy[j]) }
                }
                guard needs.contains(.input) else { return }
                let m = Float(n)
                for s in 0..<n {
                    let offset = s * c + r.lowerBound
                    for j in 0..<width {
                        let ch = r.lowerBound + j
                        let k = g[ch] * invs[ch]
                        dxs[offset + j] = training
                            ? k * (dys[offset + j] - Float(sumDy[j]) / m - hs[offset + j] * Float(sumDyH[j]) / m)
                            : k * dys[offset + j]
                    }
                }
            }
        }
    }
}
