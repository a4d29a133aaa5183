/// Fully connected layer, Keras layout.
/// x: [N, in] → y: [N, out];  kernel: [in, out], bias: [out]
public final class Dense: Layer {
    public let kernel: Parameter
    public let bias: Parameter?
    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    private var input: Tensor?  // cache: the forward input (owned by the previous layer)

    public init(inputs: Int, outputs: Int, bias: Bool = true, rng: RandomSource) {
        kernel = Parameter("kernel", shape: [inputs, outputs])
        glorotUniform(kernel.value, fanIn: inputs, fanOut: outputs, rng: rng)
        self.bias = bias ? Parameter("bias", shape: [outputs]) : nil
    }

    private init(sharing other: Dense) {
        kernel = Parameter(sharingValueOf: other.kernel)
        bias = other.bias.map { Parameter(sharingValueOf: $0) }
    }

    public func replica() -> Layer? { Dense(sharing: self) }

    public var parameters: [Parameter] { [kernel] + (bias.map { [$0] } ?? []) }
    var inputs: Int { kernel.value.shape[0] }
    var outputs: Int { kernel.value.shape[1] }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let n = x.batch
        precondition(x.perSample == inputs, "Dense expects \(inputs) inputs, got \(x.shape)")
        input = x
        output.resize([n, outputs])
        if let bias {
            for i in 0..<n { (output.data + i * outputs).update(from: bias.value.data, count: outputs) }
        }
        gemm(
            m: n, n: outputs, k: inputs, x.data, lda: inputs, kernel.value.data, ldb: outputs,
            beta: bias == nil ? 0 : 1, output.data, ldc: outputs)
        return output
    }

    public func backward(_ dy: Tensor, needs: GradientNeeds) -> Tensor {
        guard let x = input else { preconditionFailure("Dense.backward before forward") }
        let n = x.batch
        if needs.contains(.parameters) {
            // dW += xᵀ·dy ; db += Σ_n dy
            gemm(
                transA: true, m: inputs, n: outputs, k: n, x.data, lda: inputs, dy.data, ldb: outputs,
                beta: 1, kernel.grad.data, ldc: outputs)
            if let bias {
                let db = bias.grad.data
                for i in 0..<n { let row = dy.data + i * outputs; for j in 0..<outputs { db[j] += row[j] } }
            }
        }
        if needs.contains(.input) {
            // dx = dy·Wᵀ
            gradInput.resize(x.shape)
            gemm(
                transB: true, m: n, n: inputs, k: outputs, dy.data, lda: outputs, kernel.value.data, ldb: outputs,
                gradInput.data, ldc: inputs)
        }
        return gradInput
    }
}
