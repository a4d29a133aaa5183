import CConvKernels

/// The geometry of a `same`-padded convolution from an image [C, H, W] to [·, OH, OW],
/// with Keras/TensorFlow's padding: OH = ceil(H / stride), the total padding
/// max((OH − 1)·stride + k − H, 0), its smaller half before (top/left).
public struct ConvGeometry: Equatable {
    public let channels: Int
    public let height: Int, width: Int
    public let kernel: Int, stride: Int
    public let outHeight: Int, outWidth: Int
    public let padTop: Int, padLeft: Int

    public init(channels: Int, height: Int, width: Int, kernel: Int, stride: Int, outHeight: Int, outWidth: Int) {
        self.channels = channels; self.height = height; self.width = width
        self.kernel = kernel; self.stride = stride
        self.outHeight = outHeight; self.outWidth = outWidth
        padTop = max((outHeight - 1) * stride + kernel - height, 0) / 2
        padLeft = max((outWidth - 1) * stride + kernel - width, 0) / 2
    }

    /// Conv2D `same`: output ceil(in / stride).
    public static func same(channels: Int, height: Int, width: Int, kernel: Int, stride: Int) -> ConvGeometry {
        ConvGeometry(
            channels: channels, height: height, width: width, kernel: kernel, stride: stride,
            outHeight: (height + stride - 1) / stride, outWidth: (width + stride - 1) / stride)
    }

    /// Rows of the column matrix: C·k·k.
    public var patch: Int { channels * kernel * kernel }
    /// Output positions per image: OH·OW.
    public var positions: Int { outHeight * outWidth }

    /// Column matrices are built a chunk of samples at a time, at most `budget` floats
    /// each: whole-batch columns of the DCGAN's big layers are 80–160 MB apiece (most of a
    /// training process's memory), while ~50-sample chunks keep the GEMMs large enough.
    public static let defaultColumnBudget = 1 << 22
    /// Inference (no backward to reuse them) builds columns in 4 MB chunks.
    public static let inferenceColumnBudget = 1 << 20

    /// Samples per chunk for a batch of n, so that the column matrix and a channel-major
    /// matrix of `channels` rows both stay within `budget` floats.
    /// Chunks are balanced (256 at most 53 → 5 × 52, not 4 × 53 + 44) so no GEMM is a sliver.
    public func samplesPerChunk(batch n: Int, channels other: Int, budget: Int) -> Int {
        let most = max(1, min(n, budget / max(1, max(patch, other) * positions)))
        let chunks = (n + most - 1) / most
        return (n + chunks - 1) / chunks
    }

    /// Output rows (or columns) whose input index o·stride − pad + offset lies in 0..<size:
    /// the range is computed once per kernel tap, so the copy loops carry no bounds tests.
    @inline(__always)
    private func validRange(size: Int, pad: Int, tap: Int, outputs: Int) -> Range<Int> {
        // first o with o·s ≥ pad − tap; first o with o·s ≥ size + pad − tap (exclusive end)
        let lo = min(outputs, max(0, Self.ceilDiv(pad - tap, stride)))
        let hi = min(outputs, Self.ceilDiv(size + pad - tap, stride))
        return lo..<max(lo, hi)
    }

    @inline(__always)
    private static func ceilDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? (a + b - 1) / b : -((-a) / b) }

    /// Copies image patches of one sample into columns: cols[(c·k + i)·k + j][offset + oh·OW + ow]
    /// = image[c][oh·s − padTop + i][ow·s − padLeft + j] (0 outside). `ld` is the row stride of cols.
    /// Runs the C kernel (zoo_im2col: AVX-512 where the CPU has it); `im2colPortable` is its reference.
    func im2col(_ image: UnsafePointer<Float>, _ cols: UnsafeMutablePointer<Float>, ld: Int, offset: Int) {
        zoo_im2col(
            image, cols, ld, offset, Int32(channels), Int32(height), Int32(width), Int32(kernel), Int32(stride),
            Int32(outHeight), Int32(outWidth), Int32(padTop), Int32(padLeft))
    }

    /// im2col as plain Swift loops: the reference the C kernel is tested against.
    func im2colPortable(_ image: UnsafePointer<Float>, _ cols: UnsafeMutablePointer<Float>, ld: Int, offset: Int) {
        for c in 0..<channels {
            let plane = image + c * height * width
            for i in 0..<kernel {
                let rows = validRange(size: height, pad: padTop, tap: i, outputs: outHeight)
                for j in 0..<kernel {
                    let row = cols + ((c * kernel + i) * kernel + j) * ld + offset
                    let columns = validRange(size: width, pad: padLeft, tap: j, outputs: outWidth)
                    row.update(repeating: 0, count: rows.lowerBound * outWidth)
                    (row + rows.upperBound * outWidth).update(
                        repeating: 0, count: (outHeight - rows.upperBound) * outWidth)
                    for oh in rows {
                        let src =
                            plane + (oh * stride - padTop + i) * width + (columns.lowerBound * stride - padLeft + j)
                        let dst = row + oh * outWidth
                        dst.update(repeating: 0, count: columns.lowerBound)
                        (dst + columns.upperBound).update(repeating: 0, count: outWidth - columns.upperBound)
                        let out = dst + columns.lowerBound
                        if stride == 1 {
                            out.update(from: src, count: columns.count)
                        } else {
                            for t in 0..<columns.count { out[t] = src[t * stride] }
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of im2col: adds every column entry back into its image pixel.
    /// `image` must be zeroed by the caller. Runs the C kernel (zoo_col2im: AVX-512 where the
    /// CPU has it, the same sums in the same order); `col2imPortable` is its reference.
    func col2im(_ cols: UnsafePointer<Float>, ld: Int, offset: Int, _ image: UnsafeMutablePointer<Float>) {
        zoo_col2im(
            cols, ld, offset, image, Int32(channels), Int32(height), Int32(width), Int32(kernel), Int32(stride),
            Int32(outHeight), Int32(outWidth), Int32(padTop), Int32(padLeft))
    }

    /// col2im as plain Swift loops: the reference the C kernel is tested against.
    func col2imPortable(_ cols: UnsafePointer<Float>, ld: Int, offset: Int, _ image: UnsafeMutablePointer<Float>) {
        for c in 0..<channels {
            let plane = image + c * height * width
            for i in 0..<kernel {
                let rows = validRange(size: height, pad: padTop, tap: i, outputs: outHeight)
                for j in 0..<kernel {
                    let row = cols + ((c * kernel + i) * kernel + j) * ld + offset
                    let columns = validRange(size: width, pad: padLeft, tap: j, outputs: outWidth)
                    for oh in rows {
                        let dst =
                            plane + (oh * stride - padTop + i) * width + (columns.lowerBound * stride - padLeft + j)
                        let src = row + oh * outWidth + columns.lowerBound
                        if stride == 1 {
                            for t in 0..<columns.count { dst[t] += src[t] }
                        } else {
                            for t in 0..<columns.count { dst[t * stride] += src[t] }
                        }
                    }
                }
            }
        }
    }
}

/// [N, C, P] ⇄ [C, N·P]: GEMMs run on the whole batch at once (one large GEMM instead of
/// N small ones), which needs channel-major matrices.
func batchToChannelMajor(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, n: Int, c: Int, p: Int) {
    Threads.parallelFor(n, minimum: 2) { range in
        for s in range { for ch in 0..<c { (dst + ch * n * p + s * p).update(from: src + (s * c + ch) * p, count: p) } }
    }
}

func channelMajorToBatch(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, n: Int, c: Int, p: Int) {
    Threads.parallelFor(n, minimum: 2) { range in
        for s in range { for ch in 0..<c { (dst + (s * c + ch) * p).update(from: src + ch * n * p + s * p, count: p) } }
    }
}
