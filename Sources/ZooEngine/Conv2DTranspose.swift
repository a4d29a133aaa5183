/// Transposed 2-D convolution, Keras/TensorFlow `same`: OH = H·stride. It is the data
/// gradient of a `same` Conv2D from [OH, OW] to [H, W], so it reuses that geometry:
/// forward = GEMM to columns, then col2im; backward = im2col, then GEMM. 5×5 layers on
/// batches of 32 or more (stride 1, or stride 2 with 16 or more channels on both sides) run
/// the forward, the input gradient and the weight gradient as Winograd instead (`usesWinograd`).
/// x: [N, C, H, W] → y: [N, O, H·s, W·s];  kernel: [C, O, k, k], bias: [O]
/// Works a chunk of samples at a time (see ConvGeometry.defaultColumnBudget).
public final class Conv2DTranspose: Layer {
    public let kernel: Parameter
    public let bias: Parameter?
    let inChannels: Int, outChannels: Int, size: Int
    /// Public for exporters (ZooONNX): the kernel's shape gives channels and size, not the stride.
    public let stride: Int
    private var geometry: ConvGeometry?
    private let xChunk = Tensor(shape: [0])  // [C, chunk·H·W]: the input, channel-major
    private let cols = Tensor(shape: [0])  // [O·k·k, chunk·H·W], one chunk of samples at a time (backward)
    private let blockCols = Tensor(shape: [0])  // [workers, block·k·k, chunk·H·W]: forward columns, per worker
    private let output = Tensor(shape: [0])
    private let gradChunk = Tensor(shape: [0])  // [C, chunk·H·W]: dX, channel-major
    private let gradInput = Tensor(shape: [0])
    private var inputShape: [Int] = []
    /// Floats per column chunk (tests lower it to exercise chunking on small inputs).
    public var columnBudget = ConvGeometry.defaultColumnBudget
    /// Floats of forward columns per worker block: 256 KB, well inside an L2 beside the GEMM's
    /// packed panels, so col2im reads what the GEMM just wrote from cache. A block keeps at
    /// least `minimumBlockRows` GEMM rows (tests lower both to get many blocks).
    public var channelBlockFloats = 1 << 16
    public var minimumBlockRows = 128

    public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int, bias: Bool = true, rng: RandomSource) {
        self.inChannels = inChannels; self.outChannels = outChannels; self.size = kernel; self.stride = stride
        self.kernel = Parameter("kernel", shape: [inChannels, outChannels, kernel, kernel])
        // Keras computes fans from its [k, k, out, in] kernel: fanIn = out·k·k, fanOut = in·k·k.
        glorotUniform(
            self.kernel.value, fanIn: outChannels * kernel * kernel, fanOut: inChannels * kernel * kernel, rng: rng)
        self.bias = bias ? Parameter("bias", shape: [outChannels]) : nil
    }

    public var parameters: [Parameter] { [kernel] + (bias.map { [$0] } ?? []) }

    /// The conv this layer transposes: from the output image [O, H·s, W·s] to [H, W].
    static func geometry(outChannels: Int, inHeight: Int, inWidth: Int, kernel: Int, stride: Int) -> ConvGeometry {
        ConvGeometry(
            channels: outChannels, height: inHeight * stride, width: inWidth * stride, kernel: kernel,
            stride: stride, outHeight: inHeight, outWidth: inWidth)
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(
            x.shape.count == 4 && x.shape[1] == inChannels,
            "Conv2DTranspose expects [N, \(inChannels), H, W], got \(x.shape)")
        let n = x.shape[0]
        let g = Self.geometry(
            outChannels: outChannels, inHeight: x.shape[2], inWidth: x.shape[3], kernel: size, stride: stride)
        geometry = g
        inputShape = x.shape
        input = x
        let p = g.positions
        // Inference never revisits the columns, so smaller chunks cost nothing and keep the
        // buffers in cache: a cold `zoo generate` of 16 images faulted in 20 MB of columns.
        let budget = training ? columnBudget : min(columnBudget, ConvGeometry.inferenceColumnBudget)
        let chunk = g.samplesPerChunk(batch: n, channels: inChannels, budget: budget)
        forwardChunk = chunk
        xChunk.resize([inChannels, chunk * p])
        output.resize([n, outChannels, g.height, g.width])
        let perImage = outChannels * g.height * g.width, planeSize = g.height * g.width
        let out = output.data, weights = kernel.value.data
        if usesWinograd(batch: n) {
            // Writes every output value: no zeroing, no column blocks.
            if stride == 1 {
                winograd.correlate(
                    x.data, n: n, channels: inChannels, outChannels: outChannels, height: g.height,
                    width: g.width, kernel: weights, forward: true, into: out)
            } else {
                // This layer's forward is the adjoint of the stride-2 conv from its output to its input.
                winogradStride2.convolve(
                    x.data, n: n, geometry: WinogradStride2.geometry(g, outChannels: inChannels),
                    kernel: weights, adjoint: true, into: out)
            }
            for s in 0..<n { addBias(bias, to: out + s * perImage, channels: 0..<outChannels, planeSize: planeSize) }
            xChunkHoldsWholeBatch = false
            return output
        }
        output.fill(0)
        let taps = size * size
        // Blocks of output channels: their O·k·k rows of the columns are contiguous, so each
        // block is one GEMM whose result col2im sums while it is still in cache. Whole-chunk
        // columns (4–16 MB) went through memory between the two: col2im was 19 % of inference.
        let rowsWanted = max(minimumBlockRows, channelBlockFloats / max(1, chunk * p))
        let perBlock = max(1, min(outChannels, rowsWanted / taps))
        let blocks = (outChannels + perBlock - 1) / perBlock
        // With OpenBLAS's own threading (ZOO_GEMM_THREADS=openblas) each GEMM already uses every core.
        let workers = Threads.ownGEMMThreads ? max(1, min(Threads.count, blocks)) : 1
        blockCols.resize([workers, perBlock * taps * chunk * p])
        let scratchBase = blockCols.data
        forEachChunk(n: n, chunk: chunk) { first, count in
            let width = count * p
            batchToChannelMajor(x.data + first * inChannels * p, xChunk.data, n: count, c: inChannels, p: p)
            let xs = xChunk.data
            Threads.run(workers) { worker in
                let scratch = scratchBase + worker * perBlock * taps * chunk * p
                var block = worker
                while block < blocks {
                    let o0 = block * perBlock, channels = min(perBlock, outChannels - o0)
                    // cols = Wᵀ·X for rows (o, i, j), o in the block : [channels·k·k, C]·[C, count·P]
                    gemmBlock(
                        transA: true, transB: false, m: channels * taps, n: width, k: inChannels, alpha: 1,
                        weights + o0 * taps, lda: g.patch, xs, ldb: width, beta: 0, scratch, ldc: width)
                    let part = ConvGeometry(
                        channels: channels, height: g.height, width: g.width, kernel: size,
                        stride: stride, outHeight: g.outHeight, outWidth: g.outWidth)
                    for s in 0..<count {
                        let image = out + (first + s) * perImage
                        part.col2im(scratch, ld: width, offset: s * p, image + o0 * planeSize)
                        addBias(bias, to: image, channels: o0..<(o0 + channels), planeSize: planeSize)
                    }
                    block += workers
                }
            }
        }
        xChunkHoldsWholeBatch = chunk == n
        return output
    }

    public func backward(_ dy: Tensor, needs: GradientNeeds) -> Tensor {
        guard let g = geometry, let x = input else { preconditionFailure("Conv2DTranspose.backward before forward") }
        let n = inputShape[0], p = g.positions
        let chunk = forwardChunk  // the buffers are sized for it
        let perImage = outChannels * g.height * g.width
        let winogradInput = needs.contains(.input) && usesWinograd(batch: n)
        if needs.contains(.input) {
            gradInput.resize(inputShape)
            if winogradInput {
                if stride == 1 {
                    winograd.correlate(
                        dy.data, n: n, channels: inChannels, outChannels: outChannels, height: g.height,
                        width: g.width, kernel: kernel.value.data, forward: false, into: gradInput.data)
                } else {
                    winogradStride2.convolve(
                        dy.data, n: n, geometry: WinogradStride2.geometry(g, outChannels: inChannels),
                        kernel: kernel.value.data, adjoint: false, into: gradInput.data)
                }
            } else {
                gradChunk.resize([inChannels, chunk * p])
            }
        }
        let winogradWeights = needs.contains(.parameters) && usesWinograd(batch: n) && winogradWeightGradient
        if winogradWeights {
            if stride == 1 {
                winograd.addWeightGradient(
                    x: x.data, dy: dy.data, n: n, channels: inChannels, outChannels: outChannels,
                    height: g.height, width: g.width, into: kernel.grad.data)
            } else {
                // The conv's kernel gradient, with this layer's upstream as the conv's input.
                winogradStride2.addKernelGradient(
                    x: dy.data, dy: x.data, n: n,
                    geometry: WinogradStride2.geometry(g, outChannels: inChannels),
                    into: kernel.grad.data)
            }
        }
        let columnsWeights = needs.contains(.parameters) && !winogradWeights
        let columnsInput = needs.contains(.input) && !winogradInput
        let columns = columnsWeights || columnsInput
        if columns { cols.resize([g.patch, chunk * p]) }
        forEachChunk(n: columns ? n : 0, chunk: chunk) { first, count in
            let width = count * p
            // dcols = im2col(dY) : [O·k·k, count·P] (reuses cols: the forward's are not needed again)
            let cs = cols.data, dys = dy.data
            Threads.parallelFor(count, minimum: 2) { range in
                for s in range { g.im2col(dys + (first + s) * perImage, cs, ld: width, offset: s * p) }
            }
            if columnsWeights {
                // dW += X·dcolsᵀ : [C, count·P]·[count·P, O·k·k]; X chunks are rebuilt from x
                // unless the forward's single chunk is still there.
                if !xChunkHoldsWholeBatch {
                    batchToChannelMajor(x.data + first * inChannels * p, xChunk.data, n: count, c: inChannels, p: p)
                }
                gemm(
                    transB: true, m: inChannels, n: g.patch, k: width, xChunk.data, lda: width,
                    cols.data, ldb: width, beta: 1, kernel.grad.data, ldc: g.patch)
            }
            if columnsInput {
                // dX = W·dcols : [C, O·k·k]·[O·k·k, count·P]
                gemm(
                    m: inChannels, n: width, k: g.patch, kernel.value.data, lda: g.patch, cols.data, ldb: width,
                    gradChunk.data, ldc: width)
                channelMajorToBatch(
                    gradChunk.data, gradInput.data + first * inChannels * p, n: count, c: inChannels, p: p)
            }
        }
        if needs.contains(.parameters), let bias {
            addPlaneSums(dy.data, n: n, channels: outChannels, planeSize: g.height * g.width, into: bias.grad.data)
        }
        return gradInput
    }

    /// Whether the forward, the input gradient and the weight gradient run as Winograd, on
    /// batches of at least `winogradMinimumBatch` images with a 5×5 kernel:
    /// - stride 1: F(4×4, 5×5) (Winograd45). The column path spends 31 % of its multiply-adds
    ///   on padding for a 7×7 image and 400 per output tile and channel pair in all; Winograd 64.
    /// - stride 2, 16 or more channels in and out: F(4×4, 3×3) over the output's four phases
    ///   (WinogradStride2, the adjoint of a stride-2 Conv2D's), 36 per 4×4 tile and phase
    ///   channel pair. Fewer channels make GEMMs too thin to gain (the DCGAN's last layer has 1).
    /// Tests switch it off to compare with the column path.
    public var allowsWinograd = true
    /// Whether a Winograd layer's weight gradient runs as Winograd too; tests switch it off to
    /// compare it with the column path's.
    var winogradWeightGradient = true
    /// Below this batch the transforms' fresh buffers (~14 MB for 16 images of 256→128 channels) cost a
    /// cold `zoo generate` more than the multiplies they save (tests lower it).
    public var winogradMinimumBatch = 32
    /// Stride 2: the fewest channels in and out (tests lower it).
    public var winogradMinimumChannels = 16
    let winograd = Winograd45()
    /// A generator's layer: one forward and one backward a step with new weights each step,
    /// so no filter transform is kept for reuse.
    let winogradStride2 = WinogradStride2(cachesFilters: false)

    func usesWinograd(batch n: Int) -> Bool {
        guard allowsWinograd && size == 5 && n >= winogradMinimumBatch else { return false }
        return stride == 1 || (stride == 2 && min(inChannels, outChannels) >= winogradMinimumChannels)
    }

    /// The forward's input, kept to rebuild X chunks in backward (layers keep their
    /// outputs until their next forward, so it is unchanged then).
    private var input: Tensor?
    private var xChunkHoldsWholeBatch = false
    private var forwardChunk = 1
}
