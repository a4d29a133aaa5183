/// 2-D convolution, `same` padding (Keras), lowered to one GEMM over the whole batch.
/// x: [N, C, H, W] → y: [N, O, OH, OW];  kernel: [O, C, k, k], bias: [O]
/// cols: [C·k·k, N·OH·OW] (cached for the weight gradient)
public final class Conv2D: Layer {
    public let kernel: Parameter
    public let bias: Parameter?
    let inChannels: Int, outChannels: Int, size: Int, stride: Int
    private var geometry: ConvGeometry?
    private let cols = Tensor(shape: [0])
    private let outMajor = Tensor(shape: [0])    // [O, N·P]
    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    private var inputShape: [Int] = []

    public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int, bias: Bool = true, rng: RandomSource) {
        self.inChannels = inChannels; self.outChannels = outChannels; self.size = kernel; self.stride = stride
        self.kernel = Parameter("kernel", shape: [outChannels, inChannels, kernel, kernel])
        glorotUniform(self.kernel.value, fanIn: inChannels * kernel * kernel, fanOut: outChannels * kernel * kernel, rng: rng)
        self.bias = bias ? Parameter("bias", shape: [outChannels]) : nil
    }

    public var parameters: [Parameter] { [kernel] + (bias.map { [$0] } ?? []) }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.shape.count == 4 && x.shape[1] == inChannels, "Conv2D expects [N, \(inChannels), H, W], got \(x.shape)")
        let n = x.shape[0]
        let g = ConvGeometry.same(channels: inChannels, height: x.shape[2], width: x.shape[3], kernel: size, stride: stride)
        geometry = g
        inputShape = x.shape
        let p = g.positions, ld = n * p
        cols.resize([g.patch, ld])
        let xs = x.data, cs = cols.data
        let perImage = inChannels * g.height * g.width
        Threads.parallelFor(n, minimum: 2) { range in
            for s in range { g.im2col(xs + s * perImage, cs, ld: ld, offset: s * p) }
        }
        outMajor.resize([outChannels, ld])
        if let bias {
            for o in 0..<outChannels { (outMajor.data + o * ld).update(repeating: bias.value[o], count: ld) }
        }
        gemm(m: outChannels, n: ld, k: g.patch, kernel.value.data, lda: g.patch, cols.data, ldb: ld,
             beta: bias == nil ? 0 : 1, outMajor.data, ldc: ld)
        output.resize([n, outChannels, g.outHeight, g.outWidth])
        channelMajorToBatch(outMajor.data, output.data, n: n, c: outChannels, p: p)
        return output
    }

    public func backward(_ dy: Tensor, needs: GradientNeeds) -> Tensor {
        guard let g = geometry else { preconditionFailure("Conv2D.backward before forward") }
        let n = inputShape[0], p = g.positions, ld = n * p
        // outMajor is reused for dY in channel-major form: [O, N·P].
        batchToChannelMajor(dy.data, outMajor.data, n: n, c: outChannels, p: p)
        if needs.contains(.parameters) {
            // dW += dY·colsᵀ ; db += Σ dY
            gemm(transB: true, m: outChannels, n: g.patch, k: ld, outMajor.data, lda: ld, cols.data, ldb: ld,
                 beta: 1, kernel.grad.data, ldc: g.patch)
            if let bias {
                for o in 0..<outChannels {
                    let row = outMajor.data + o * ld
                    var sum: Float = 0
                    for i in 0..<ld { sum += row[i] }
                    bias.grad.data[o] += sum
                }
            }
        }
        if needs.contains(.input) {
            // dcols = Wᵀ·dY, then col2im. The cached cols are still needed by a second
            // backward over the same forward (GANStep), so dcols gets its own buffer.
            dcols.resize([g.patch, ld])
            gemm(transA: true, m: g.patch, n: ld, k: outChannels, kernel.value.data, lda: g.patch, outMajor.data, ldb: ld,
                 dcols.data, ldc: ld)
            gradInput.resize(inputShape)
            gradInput.fill(0)
            let perImage = inChannels * g.height * g.width
            let dc = dcols.data, gi = gradInput.data
            Threads.parallelFor(n, minimum: 2) { range in
                for s in range { g.col2im(dc, ld: ld, offset: s * p, gi + s * perImage) }
            }
        }
        return gradInput
    }
    private let dcols = Tensor(shape: [0])
}
