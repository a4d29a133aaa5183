/// 2-D convolution, `same` padding (Keras), lowered to one GEMM over the whole batch.
/// Stride-2 5×5 layers with 16 or more channels on both sides, on batches of 32 or more, run
/// the forward, the input gradient and the weight gradient as Winograd instead (`usesWinograd`).
/// x: [N, C, H, W] → y: [N, O, OH, OW];  kernel: [O, C, k, k], bias: [O]
/// cols: [C·k·k, chunk·OH·OW], one chunk of samples at a time
public final class Conv2D: Layer {
    public let kernel: Parameter
    public let bias: Parameter?
    let inChannels: Int, outChannels: Int, size: Int, stride: Int
    private var geometry: ConvGeometry?
    private let cols = Tensor(shape: [0])
    private let outChunk = Tensor(shape: [0])  // [O, chunk·P]: GEMM output, then dY, channel-major
    private let output = Tensor(shape: [0])
    private let gradInput = Tensor(shape: [0])
    private var inputShape: [Int] = []
    /// Floats per column chunk (tests lower it to exercise chunking on small inputs).
    public var columnBudget = ConvGeometry.defaultColumnBudget

    public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int, bias: Bool = true, rng: RandomSource) {
        self.inChannels = inChannels; self.outChannels = outChannels; self.size = kernel; self.stride = stride
        self.kernel = Parameter("kernel", shape: [outChannels, inChannels, kernel, kernel])
        glorotUniform(
            self.kernel.value, fanIn: inChannels * kernel * kernel, fanOut: outChannels * kernel * kernel, rng: rng)
        self.bias = bias ? Parameter("bias", shape: [outChannels]) : nil
    }

    public var parameters: [Parameter] { [kernel] + (bias.map { [$0] } ?? []) }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(
            x.shape.count == 4 && x.shape[1] == inChannels, "Conv2D expects [N, \(inChannels), H, W], got \(x.shape)")
        let n = x.shape[0]
        let g = ConvGeometry.same(
            channels: inChannels, height: x.shape[2], width: x.shape[3], kernel: size, stride: stride)
        geometry = g
        inputShape = x.shape
        input = x
        let p = g.positions
        output.resize([n, outChannels, g.outHeight, g.outWidth])
        if usesWinograd(batch: n) {
            // Writes every output value; no columns.
            winograd.convolve(
                x.data, n: n, geometry: WinogradStride2.geometry(g, outChannels: outChannels),
                kernel: kernel.value.data, adjoint: false, into: output.data)
            for s in 0..<n {
                addBias(bias, to: output.data + s * outChannels * p, channels: 0..<outChannels, planeSize: p)
            }
            colsHoldWholeBatch = false
            return output
        }
        let chunk = g.samplesPerChunk(batch: n, channels: outChannels, budget: columnBudget)
        cols.resize([g.patch, chunk * p])
        outChunk.resize([outChannels, chunk * p])
        forEachChunk(n: n, chunk: chunk) { first, count in
            let width = count * p
            fillColumns(x, first: first, count: count, g)
            if let bias {
                for o in 0..<outChannels { (outChunk.data + o * width).update(repeating: bias.value[o], count: width) }
            }
            gemm(
                m: outChannels, n: width, k: g.patch, kernel.value.data, lda: g.patch, cols.data, ldb: width,
                beta: bias == nil ? 0 : 1, outChunk.data, ldc: width)
            channelMajorToBatch(outChunk.data, output.data + first * outChannels * p, n: count, c: outChannels, p: p)
        }
        colsHoldWholeBatch = chunk == n
        return output
    }

    public func backward(_ dy: Tensor, needs: GradientNeeds) -> Tensor {
        guard let g = geometry, let x = input else { preconditionFailure("Conv2D.backward before forward") }
        let n = inputShape[0], p = g.positions
        if usesWinograd(batch: n) {
            let geometry = WinogradStride2.geometry(g, outChannels: outChannels)
            if needs.contains(.parameters) {
                winograd.addKernelGradient(x: x.data, dy: dy.data, n: n, geometry: geometry, into: kernel.grad.data)
                if let bias { addPlaneSums(dy.data, n: n, channels: outChannels, planeSize: p, into: bias.grad.data) }
            }
            if needs.contains(.input) {
                gradInput.resize(inputShape)
                winograd.convolve(
                    dy.data, n: n, geometry: geometry, kernel: kernel.value.data, adjoint: true,
                    into: gradInput.data)
            }
            return gradInput
        }
        let chunk = g.samplesPerChunk(batch: n, channels: outChannels, budget: columnBudget)
        let perImage = inChannels * g.height * g.width
        if needs.contains(.input) {
            // The cached cols may still be needed by a second backward over the same
            // forward (GANStep), so dcols gets its own buffer.
            dcols.resize([g.patch, chunk * p])
            gradInput.resize(inputShape)
            gradInput.fill(0)
        }
        forEachChunk(n: n, chunk: chunk) { first, count in
            let width = count * p
            // outChunk is reused for this chunk's dY in channel-major form: [O, count·P].
            batchToChannelMajor(dy.data + first * outChannels * p, outChunk.data, n: count, c: outChannels, p: p)
            if needs.contains(.parameters) {
                // dW += dY·colsᵀ ; db += Σ dY. Chunked columns are rebuilt from x (the forward
                // kept only the last chunk); a single chunk is still the forward's.
                if !colsHoldWholeBatch { fillColumns(x, first: first, count: count, g) }
                gemm(
                    transB: true, m: outChannels, n: g.patch, k: width, outChunk.data, lda: width,
                    cols.data, ldb: width, beta: 1, kernel.grad.data, ldc: g.patch)
                if let bias {
                    for o in 0..<outChannels {
                        let row = outChunk.data + o * width
                        var sum: Float = 0
                        for i in 0..<width { sum += row[i] }
                        bias.grad.data[o] += sum
                    }
                }
            }
            if needs.contains(.input) {
                // dcols = Wᵀ·dY, then col2im.
                gemm(
                    transA: true, m: g.patch, n: width, k: outChannels, kernel.value.data, lda: g.patch,
                    outChunk.data, ldb: width, dcols.data, ldc: width)
                let dc = dcols.data, gi = gradInput.data
                Threads.parallelFor(count, minimum: 2) { range in
                    for s in range { g.col2im(dc, ld: width, offset: s * p, gi + (first + s) * perImage) }
                }
            }
        }
        return gradInput
    }

    /// im2col of samples first..<first+count into `cols` ([C·k·k, count·P]).
    private func fillColumns(_ x: Tensor, first: Int, count: Int, _ g: ConvGeometry) {
        let perImage = inChannels * g.height * g.width, p = g.positions
        let xs = x.data, cs = cols.data
        Threads.parallelFor(count, minimum: 2) { range in
            for s in range { g.im2col(xs + (first + s) * perImage, cs, ld: count * p, offset: s * p) }
        }
    }

    /// Whether the forward, the input gradient and the weight gradient run as Winograd F(4×4, 3×3)
    /// over the input's four phases (WinogradStride2): stride 2, 5×5, at least
    /// `winogradMinimumBatch` images and 16 channels in and out (a 1-channel image's phases
    /// make 4-long sums: GEMMs too thin to gain). 36 multiplies per 4×4 output tile and
    /// phase channel pair: for the DCGAN's 7×7 output 576 an image and channel pair, against
    /// 1225 on the column path. Tests switch it off to compare the two.
    public var allowsWinograd = true
    /// Below this batch the transforms' fresh buffers cost a cold process more than they save.
    public var winogradMinimumBatch = 32
    /// Stride 2: the fewest channels in and out (tests lower it).
    public var winogradMinimumChannels = 16
    let winograd = WinogradStride2()

    func usesWinograd(batch n: Int) -> Bool {
        allowsWinograd && stride == 2 && size == 5 && n >= winogradMinimumBatch
            && min(inChannels, outChannels) >= winogradMinimumChannels
    }

    private let dcols = Tensor(shape: [0])
    /// The forward's input, kept to rebuild column chunks in backward (layers keep their
    /// outputs until their next forward, so it is unchanged then).
    private var input: Tensor?
    private var colsHoldWholeBatch = false
}

/// Calls body(first, count) over 0..<n in chunks of `chunk` samples.
@inline(__always)
func forEachChunk(n: Int, chunk: Int, _ body: (Int, Int) -> Void) {
    var first = 0
    while first < n {
        let count = min(chunk, n - first)
        body(first, count)
        first += count
    }
}

/// Adds bias[o] to plane o of one image ([O, planeSize] from `image`), o in `channels`.
func addBias(_ bias: Parameter?, to image: UnsafeMutablePointer<Float>, channels: Range<Int>, planeSize: Int) {
    guard let bias else { return }
    for o in channels {
        let plane = image + o * planeSize, b = bias.value.data[o]
        for i in 0..<planeSize { plane[i] += b }
    }
}

/// grad[o] += Σ over images and plane o of dy: [N, channels, planeSize] (a bias's gradient).
func addPlaneSums(
    _ dy: UnsafePointer<Float>, n: Int, channels: Int, planeSize: Int, into grad: UnsafeMutablePointer<Float>
) {
    for s in 0..<n {
        for o in 0..<channels {
            let plane = dy + (s * channels + o) * planeSize
            var sum: Float = 0
            for i in 0..<planeSize { sum += plane[i] }
            grad[o] += sum
        }
    }
}
