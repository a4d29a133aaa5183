/// Views the input per sample as `perSampleShape` (no copy).
/// x: [N, ...] → y: [N] + perSampleShape
public final class Reshape: Layer {
    public let perSampleShape: [Int]
    private var inputShape: [Int] = []
    public init(_ perSampleShape: [Int]) { self.perSampleShape = perSampleShape }
    public func replica() -> Layer? { Reshape(perSampleShape) }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        inputShape = x.shape
        return x.reshaped([x.batch] + perSampleShape)
    }

    public func backward(_ dy: Tensor, needs: GradientNeeds) -> Tensor { dy.reshaped(inputShape) }
}

/// x: [N, ...] → y: [N, prod(...)]
public final class Flatten: Layer {
    private var inputShape: [Int] = []
    public init() {}
    public func replica() -> Layer? { Flatten() }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        inputShape = x.shape
        return x.reshaped([x.batch, x.perSample])
    }

    public func backward(_ dy: Tensor, needs: GradientNeeds) -> Tensor { dy.reshaped(inputShape) }
}

/// Joins two row-aligned inputs, e.g. an image and its label's one-hot.
/// a: [N, A], b: [N, B] → y: [N, A + B]
public final class ConcatColumns {
    private let output = Tensor(shape: [0])
    private let gradA = Tensor(shape: [0]), gradB = Tensor(shape: [0])
    private var widths = (0, 0)
    public init() {}

    public func forward(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.batch == b.batch, "concat of \(a.shape) and \(b.shape)")
        let n = a.batch, wa = a.perSample, wb = b.perSample
        widths = (wa, wb)
        output.resize([n, wa + wb])
        for i in 0..<n {
            (output.data + i * (wa + wb)).update(from: a.data + i * wa, count: wa)
            (output.data + i * (wa + wb) + wa).update(from: b.data + i * wb, count: wb)
        }
        return output
    }

    public func backward(_ dy: Tensor) -> (Tensor, Tensor) {
        let (wa, wb) = widths, n = dy.batch
        gradA.resize([n, wa]); gradB.resize([n, wb])
        for i in 0..<n {
            (gradA.data + i * wa).update(from: dy.data + i * (wa + wb), count: wa)
            (gradB.data + i * wb).update(from: dy.data + i * (wa + wb) + wa, count: wb)
        }
        return (gradA, gradB)
    }
}

/// labels → one-hot rows [N, classes].
public func oneHot(_ labels: [Int], classes: Int, into t: Tensor) {
    t.resize([labels.count, classes])
    t.fill(0)
    for (i, label) in labels.enumerated() {
        precondition(label >= 0 && label < classes, "label \(label) outside 0..<\(classes)")
        t.data[i * classes + label] = 1
    }
}
