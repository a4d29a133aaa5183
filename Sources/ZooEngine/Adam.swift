import CConvKernels
import Foundation

/// Adam as Keras 3 computes it: m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g²,
/// α = lr·√(1−β2^t)/(1−β1^t), w ← w − α·m/(√v + ε). Gradients are zeroed after each step.
public final class Adam {
    public let parameters: [Parameter]
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float
    public private(set) var stepCount = 0
    private let m: [Tensor], v: [Tensor]

    public init(
        parameters: [Parameter], learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7
    ) {
        self.parameters = parameters.filter(\.trainable)
        self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon
        m = self.parameters.map { Tensor(shape: $0.value.shape) }
        v = self.parameters.map { Tensor(shape: $0.value.shape) }
    }

    public func step() {
        stepCount += 1
        let t = Double(stepCount)
        let alpha = Float(Double(learningRate) * (1 - pow(Double(beta2), t)).squareRoot() / (1 - pow(Double(beta1), t)))
        let b1 = beta1, b2 = beta2, eps = epsilon
        for (index, p) in parameters.enumerated() {
            let w = p.value.data, g = p.grad.data, ms = m[index].data, vs = v[index].data
            Threads.parallelFor(p.value.count) { range in
                let lo = range.lowerBound
                zoo_adam_update(w + lo, g + lo, ms + lo, vs + lo, b1, b2, alpha, eps, range.count)
            }
        }
    }

    public func zeroGradients() { for p in parameters { p.grad.fill(0) } }

    /// First and second moments in parameter order ("m.0", "v.0", "m.1", ...).
    public func exportState() -> [(name: String, values: Tensor)] {
        parameters.indices.flatMap { i in [(name: "m.\(i)", values: m[i]), (name: "v.\(i)", values: v[i])] }
    }

    public func importState(stepCount: Int, _ state: [(name: String, values: Tensor)]) throws {
        let byName = Dictionary(state.map { ($0.name, $0.values) }, uniquingKeysWith: { a, _ in a })
        var staged: [(Tensor, Tensor)] = []
        for i in parameters.indices {
            for (name, target) in [("m.\(i)", m[i]), ("v.\(i)", v[i])] {
                guard let source = byName[name] else { throw EngineError.missingState(name) }
                guard source.shape == target.shape else {
                    throw EngineError.stateShape(name: name, expected: target.shape, found: source.shape)
                }
                staged.append((source, target))
            }
        }
        // Only after everything checked out: a failed import leaves the optimizer untouched.
        for (source, target) in staged { target.copy(from: source) }
        self.stepCount = stepCount
    }
}
