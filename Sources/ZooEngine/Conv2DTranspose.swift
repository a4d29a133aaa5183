/// Transposed 2-D convolution, Keras/TensorFlow `same`: OH = H·stride. It is the data
/// gradient of a `same` Conv2D from [OH, OW] to [H, W], so it reuses that geometry:
/// forward = GEMM to columns, then col2im; backward = im2col, then GEMM.
/// x: [N, C, H, W] → y: [N, O, H·s, W·s];  kernel: [C, O, k, k], bias: [O]
/// xMajor: [C, N·H·W] (cached for the weight gradient)
public final class Conv2DTranspose: Layer {
    public let kernel: Parameter
    public let bias: Parameter?
    let inChannels: Int, outChannels: Int, size: Int, stride: Int
    private var geometry: ConvGeometry?
    private let xMajor = Tensor(shape: [0])
    private let cols = Tensor(shape: [0])      // [O·k·k, chunk·H·W], one chunk of samples at a time
    private let output = Tensor(shape: [0])
    private let gradMajor = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    private var inputShape: [Int] = []
    /// Floats per column chunk (tests lower it to exercise chunking on small inputs).
    public var columnBudget = ConvGeometry.defaultColumnBudget

    public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int, bias: Bool = true, rng: RandomSource) {
        self.inChannels = inChannels; self.outChannels = outChannels; self.size = kernel; self.stride = stride
        self.kernel = Parameter("kernel", shape: [inChannels, outChannels, kernel, kernel])
        // Keras computes fans from its [k, k, out, in] kernel: fanIn = out·k·k, fanOut = in·k·k.
        glorotUniform(self.kernel.value, fanIn: outChannels * kernel * kernel, fanOut: inChannels * kernel * kernel, rng: rng)
        self.bias = bias ? Parameter("bias", shape: [outChannels]) : nil
    }

    public var parameters: [Parameter] { [kernel] + (bias.map { [$0] } ?? []) }

    /// The conv this layer transposes: from the output image [O, H·s, W·s] to [H, W].
    static func geometry(outChannels: Int, inHeight: Int, inWidth: Int, kernel: Int, stride: Int) -> ConvGeometry {
        ConvGeometry(channels: outChannels, height: inHeight * stride, width: inWidth * stride, kernel: kernel,
                     stride: stride, outHeight: inHeight, outWidth: inWidth)
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.shape.count == 4 && x.shape[1] == inChannels, "Conv2DTranspose expects [N, \(inChannels), H, W], got \(x.shape)")
        let n = x.shape[0]
        let g = Self.geometry(outChannels: outChannels, inHeight: x.shape[2], inWidth: x.shape[3], kernel: size, stride: stride)
        geometry = g
        inputShape = x.shape
        let p = g.positions, ld = n * p
        let chunk = g.samplesPerChunk(batch: n, budget: columnBudget)
        xMajor.resize([inChannels, ld])
        batchToChannelMajor(x.data, xMajor.data, n: n, c: inChannels, p: p)
        cols.resize([g.patch, chunk * p])
        output.resize([n, outChannels, g.height, g.width])
        output.fill(0)
        let perImage = outChannels * g.height * g.width
        let out = output.data
        let biasValues = bias?.value.data
        forEachChunk(n: n, chunk: chunk) { first, count in
            // cols = Wᵀ·X : [O·k·k, C]·[C, count·P]
            gemm(transA: true, m: g.patch, n: count * p, k: inChannels, kernel.value.data, lda: g.patch,
                 xMajor.data + first * p, ldb: ld, cols.data, ldc: count * p)
            let cs = cols.data
            Threads.parallelFor(count, minimum: 2) { range in
                for s in range {
                    let image = out + (first + s) * perImage
                    g.col2im(cs, ld: count * p, offset: s * p, image)
                    if let biasValues {
                        for o in 0..<self.outChannels {
                            let plane = image + o * g.height * g.width
                            for i in 0..<(g.height * g.width) { plane[i] += biasValues[o] }
                        }
                    }
                }
            }
        }
        return output
    }

    public func backward(_ dy: Tensor, needs: GradientNeeds) -> Tensor {
        guard let g = geometry else { preconditionFailure("Conv2DTranspose.backward before forward") }
        let n = inputShape[0], p = g.positions, ld = n * p
        let chunk = g.samplesPerChunk(batch: n, budget: columnBudget)
        let perImage = outChannels * g.height * g.width
        if needs.contains(.input) { gradMajor.resize([inChannels, ld]) }
        forEachChunk(n: n, chunk: chunk) { first, count in
            // dcols = im2col(dY) : [O·k·k, count·P] (reuses cols: the forward's are not needed again)
            let cs = cols.data, dys = dy.data
            Threads.parallelFor(count, minimum: 2) { range in
                for s in range { g.im2col(dys + (first + s) * perImage, cs, ld: count * p, offset: s * p) }
            }
            if needs.contains(.parameters) {
                // dW += X·dcolsᵀ : [C, count·P]·[count·P, O·k·k]
                gemm(transB: true, m: inChannels, n: g.patch, k: count * p, xMajor.data + first * p, lda: ld,
                     cols.data, ldb: count * p, beta: 1, kernel.grad.data, ldc: g.patch)
            }
            if needs.contains(.input) {
                // dX = W·dcols : [C, O·k·k]·[O·k·k, count·P]
                gemm(m: inChannels, n: count * p, k: g.patch, kernel.value.data, lda: g.patch, cols.data, ldb: count * p,
                     gradMajor.data + first * p, ldc: ld)
            }
        }
        if needs.contains(.parameters), let bias {
            for s in 0..<n {
                for o in 0..<outChannels {
                    let plane = dy.data + s * perImage + o * g.height * g.width
                    var sum: Float = 0
                    for i in 0..<(g.height * g.width) { sum += plane[i] }
                    bias.grad.data[o] += sum
                }
            }
        }
        if needs.contains(.input) {
            gradInput.resize(inputShape)
            channelMajorToBatch(gradMajor.data, gradInput.data, n: n, c: inChannels, p: p)
        }
        return gradInput
    }
}
