import ZooEngine

/// A network that may see a class label: when conditional, its input is
/// concat(flatten(x), one-hot(label)) (DESIGN.md, conditional GAN); otherwise just x.
public final class LabelledNetwork {
    public let body: Sequential
    public let classes: Int
    private let concat: ConcatColumns?
    private var inputShape: [Int] = []

    public init(_ body: Sequential, conditionalOn classes: Int? = nil) {
        self.body = body
        self.classes = classes ?? 0
        self.concat = classes == nil ? nil : ConcatColumns()
    }

    /// A copy sharing the body's parameter values, with its own gradients and caches
    /// (`Layer.replica`); nil when some layer of the body has no replica.
    public func replica() -> LabelledNetwork? {
        body.replica().map { LabelledNetwork($0, conditionalOn: classes > 0 ? classes : nil) }
    }

    /// x: [N, ...]; oneHot: [N, classes] when conditional.
    public func forward(_ x: Tensor, oneHot: Tensor?, training: Bool) -> Tensor {
        guard let concat else { return body.forward(x, training: training) }
        guard let oneHot else { preconditionFailure("conditional network called without labels") }
        inputShape = x.shape
        let joined = concat.forward(x.reshaped([x.batch, x.perSample]), oneHot)
        return body.forward(joined, training: training)
    }

    /// Returns dL/dx in x's shape (labels get no gradient).
    @discardableResult
    public func backward(_ dy: Tensor, needs: GradientNeeds) -> Tensor {
        guard let concat else { return body.backward(dy, needs: needs) }
        let dJoined = body.backward(dy, needs: needs)
        guard needs.contains(.input) else { return dJoined }
        return concat.backward(dJoined).0.reshaped(inputShape)
    }
}
