import Foundation

/// Binary cross-entropy, Keras's mean reduction.
public enum BinaryCrossEntropy {
    /// One logit's loss toward target t, in double for the sums a step adds up:
    /// t·softplus(−z) + (1 − t)·softplus(z), which is softplus(−z) at t = 1 and softplus(z) at 0.
    @inline(__always) public static func term(logit z: Float, target t: Float) -> Double {
        if t == 1 { return softplus(-z) }
        if t == 0 { return softplus(z) }
        return Double(t) * softplus(-z) + Double(1 - t) * softplus(z)
    }

    /// d term / dz = σ(z) − t.
    @inline(__always) public static func slope(logit z: Float, target t: Float) -> Float { sigmoid(z) - t }

    /// log(1 + eˣ) without overflow.
    @inline(__always) public static func softplus(_ x: Float) -> Double {
        Double(max(x, 0)) + Double(log1p(exp(-abs(x))))
    }

    @inline(__always) public static func sigmoid(_ z: Float) -> Float { 1 / (1 + exp(-z)) }

    /// Numerically stable form on logits z: max(z, 0) − z·t + log(1 + e^−|z|).
    /// Writes dL/dz · scale into `grad` (resized) when given.
    public static func fromLogits(_ logits: Tensor, target: Float, grad: Tensor?, scale: Float = 1) -> Float {
        let n = logits.count
        grad?.resize(logits.shape)
        var total = 0.0
        for i in 0..<n {
            let z = logits[i]
            total += Double(max(z, 0) - z * target + log1pf(expf(-abs(z))))
            if let grad { grad[i] = (1 / (1 + expf(-z)) - target) / Float(n) * scale }
        }
        return Float(total / Double(n))
    }

    /// Per-element targets [same shape as logits].
    public static func fromLogits(_ logits: Tensor, targets: Tensor, grad: Tensor?, scale: Float = 1) -> Float {
        precondition(targets.count == logits.count, "targets \(targets.shape) for logits \(logits.shape)")
        let n = logits.count
        grad?.resize(logits.shape)
        var total = 0.0
        for i in 0..<n {
            let z = logits[i], t = targets[i]
            total += Double(max(z, 0) - z * t + log1pf(expf(-abs(z))))
            if let grad { grad[i] = (1 / (1 + expf(-z)) - t) / Float(n) * scale }
        }
        return Float(total / Double(n))
    }

    /// On probabilities, clipped to [1e-7, 1 − 1e-7] as Keras does.
    public static func onProbabilities(_ p: Tensor, target: Float, grad: Tensor?) -> Float {
        let n = p.count, eps: Float = 1e-7
        grad?.resize(p.shape)
        var total = 0.0
        for i in 0..<n {
            let q = min(max(p[i], eps), 1 - eps)
            total -= Double(target * logf(q) + (1 - target) * logf(1 - q))
            if let grad {
                let clipped = p[i] < eps || p[i] > 1 - eps
                grad[i] = clipped ? 0 : (-(target / q) + (1 - target) / (1 - q)) / Float(n)
            }
        }
        return Float(total / Double(n))
    }
}

/// Row-wise softmax: logits [N, K] → probabilities [N, K].
public func softmax(_ logits: Tensor, into out: Tensor) {
    let n = logits.batch, k = logits.perSample
    out.resize([n, k])
    for i in 0..<n {
        let row = logits.data + i * k, dst = out.data + i * k
        var peak = row[0]
        for j in 1..<k { peak = max(peak, row[j]) }
        var sum: Float = 0
        for j in 0..<k { dst[j] = expf(row[j] - peak); sum += dst[j] }
        for j in 0..<k { dst[j] /= sum }
    }
}

public enum CategoricalCrossEntropy {
    /// Mean over rows of −log softmax(z)[label]; grad = (softmax − one-hot) / N.
    public static func fromLogits(_ logits: Tensor, labels: [Int], grad: Tensor?) -> Float {
        let n = logits.batch, k = logits.perSample
        precondition(labels.count == n, "\(labels.count) labels for \(n) rows")
        grad?.resize(logits.shape)
        var total = 0.0
        for i in 0..<n {
            let row = logits.data + i * k
            var peak = row[0]
            for j in 1..<k { peak = max(peak, row[j]) }
            var sum: Float = 0
            for j in 0..<k { sum += expf(row[j] - peak) }
            let logSum = logf(sum) + peak
            total += Double(logSum - row[labels[i]])
            if let grad {
                for j in 0..<k { grad[i * k + j] = (expf(row[j] - logSum) - (j == labels[i] ? 1 : 0)) / Float(n) }
            }
        }
        return Float(total / Double(n))
    }

    /// One row's −log softmax(z)[label] over `count` logits, writing its slopes
    /// (softmax − one-hot) · scale into `slopes` (an auxiliary classifier head's term).
    public static func row(
        _ z: UnsafePointer<Float>, count k: Int, label: Int, slopes: UnsafeMutablePointer<Float>, scale: Float
    ) -> Double {
        precondition(label >= 0 && label < k, "label \(label) outside \(k) classes")
        var peak = z[0]
        for j in 1..<k { peak = max(peak, z[j]) }
        var sum: Float = 0
        for j in 0..<k { sum += expf(z[j] - peak) }
        let logSum = logf(sum) + peak
        for j in 0..<k { slopes[j] = (expf(z[j] - logSum) - (j == label ? 1 : 0)) * scale }
        return Double(logSum - z[label])
    }
}
