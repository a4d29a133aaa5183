import CConvKernels

/// A stride-1 5×5 `same` correlation as Winograd F(4×4, 5×5) (CConvKernels/winograd.c), for
/// Conv2DTranspose's forward, input gradient and weight gradient. The channel sums become 64
/// GEMMs per chunk of images, one per transform point t: M_t[tiles, cout] = V_t[tiles, cin] · U_t[cin, cout];
/// the weight gradient's are dU_t[cin, cout] += V_tᵀ · W_t. Its buffers are reused from call to call.
/// x: [N, cin, H, W] → y: [N, cout, H, W]; kernel: the layer's [C, O, 5, 5]
final class Winograd45 {
    private let filter = Tensor(shape: [0])  // U: [64, cin, cout]
    private let inputs = Tensor(shape: [0])  // V: [64, tiles, cin], one chunk of images
    private let products = Tensor(shape: [0])  // M: [64, tiles, cout]
    private let scratch = Tensor(shape: [0])  // per part: a padded image and a transform's rows
    /// Most floats of V or M per chunk of images: 4 MB, so a chunk's 64 GEMMs work in L3. 8 MB
    /// chunks ran the DCGAN step no faster (alternating, 356–385 against 360–373 ms) and
    /// raised its peak RSS by 20 MB. Tests lower it to get chunks of one image.
    var chunkFloats = 1 << 20

    /// forward: y = the layer's forward of x (cin = C, cout = O, kernel flipped);
    /// otherwise y = its input gradient for upstream x (cin = O, cout = C).
    func correlate(
        _ x: UnsafePointer<Float>, n: Int, channels: Int, outChannels: Int, height: Int, width: Int,
        kernel: UnsafePointer<Float>, forward: Bool, into y: UnsafeMutablePointer<Float>
    ) {
        let cin = forward ? channels : outChannels, cout = forward ? outChannels : channels
        let perImage = ((height + 3) / 4) * ((width + 3) / 4)
        let parts = max(1, Threads.count)

        filter.resize([64, cin, cout])
        let u = filter.data, forwardFlag: Int32 = forward ? 1 : 0
        let perPart = (cin + parts - 1) / parts
        Threads.run(parts) { part in
            let lo = min(cin, part * perPart), hi = min(cin, lo + perPart)
            if lo < hi {
                zoo_wino45_filter(kernel, Int32(channels), Int32(outChannels), forwardFlag, Int32(lo), Int32(hi), u)
            }
        }

        let chunk = max(1, min(n, chunkFloats / (64 * perImage * max(cin, cout))))
        inputs.resize([64 * chunk * perImage * cin])
        products.resize([64 * chunk * perImage * cout])
        let scratchFloats = max(
            zoo_wino45_input_scratch(Int32(cin), Int32(height), Int32(width)),
            zoo_wino45_output_scratch(Int32(cout)))
        scratch.resize([parts, scratchFloats])
        let v = inputs.data, prod = products.data, work = scratch.data
        forEachChunk(n: n, chunk: chunk) { first, count in
            let tiles = count * perImage
            forEachImageSlice(count, parts: parts) { part, lo, hi in
                zoo_wino45_input(
                    x, Int32(cin), Int32(height), Int32(width), Int32(first + lo), Int32(first + hi),
                    v, tiles, lo * perImage, work + part * scratchFloats)
            }
            pointProducts(points: 64, m: tiles, n: cout, k: cin, v, u, beta: 0, into: prod)
            forEachImageSlice(count, parts: parts) { part, lo, hi in
                zoo_wino45_output(
                    prod, Int32(cout), Int32(height), Int32(width), Int32(first + lo), Int32(first + hi),
                    tiles, lo * perImage, y, work + part * scratchFloats)
            }
        }
    }

    /// The layer's weight gradient for its forward y = correlate(x, forward: true) and the
    /// upstream gradient dy: [N, outChannels, H, W], ADDED into dw: [C, O, 5, 5].
    /// Per point t, dU_t[C, O] = Σ_tiles V_t[tile, C]ᵀ · W_t[tile, O], with V = Bᵀ·x·B (the
    /// forward's input transform) and W = A·dY·Aᵀ (the adjoint of its output transform),
    /// summed over the chunks of images; then dK = Gᵀ·dU·G (the adjoint of its filter
    /// transform), flipped into dw. Reuses the forward's U, V and M buffers for dU, V and W.
    func addWeightGradient(
        x: UnsafePointer<Float>, dy: UnsafePointer<Float>, n: Int, channels: Int, outChannels: Int,
        height: Int, width: Int, into dw: UnsafeMutablePointer<Float>
    ) {
        let cin = channels, cout = outChannels
        let perImage = ((height + 3) / 4) * ((width + 3) / 4)
        let parts = max(1, Threads.count)

        filter.resize([64, cin, cout])
        let chunk = max(1, min(n, chunkFloats / (64 * perImage * max(cin, cout))))
        inputs.resize([64 * chunk * perImage * cin])
        products.resize([64 * chunk * perImage * cout])
        let scratchFloats = max(
            zoo_wino45_input_scratch(Int32(cin), Int32(height), Int32(width)),
            zoo_wino45_output_adjoint_scratch(Int32(cout), Int32(height), Int32(width)))
        scratch.resize([parts, scratchFloats])
        let du = filter.data, v = inputs.data, wt = products.data, work = scratch.data
        forEachChunk(n: n, chunk: chunk) { first, count in
            let tiles = count * perImage
            forEachImageSlice(count, parts: parts) { part, lo, hi in
                let scratch = work + part * scratchFloats
                zoo_wino45_input(
                    x, Int32(cin), Int32(height), Int32(width), Int32(first + lo), Int32(first + hi),
                    v, tiles, lo * perImage, scratch)
                zoo_wino45_output_adjoint(
                    dy, Int32(cout), Int32(height), Int32(width), Int32(first + lo),
                    Int32(first + hi), wt, tiles, lo * perImage, scratch)
            }
            // The first chunk writes dU, later ones add to it. Each point t is one task of one
            // thread, so no two threads write the same dU_t.
            pointProducts(
                points: 64, transA: true, m: cin, n: cout, k: tiles, v, wt, beta: first == 0 ? 0 : 1, into: du)
        }
        // dK = Gᵀ·dU·G, added into dw; the input channels shared out (disjoint rows of dw).
        let perPart = (cin + parts - 1) / parts
        Threads.run(parts) { part in
            let lo = min(cin, part * perPart), hi = min(cin, lo + perPart)
            if lo < hi { zoo_wino45_filter_adjoint(du, Int32(cin), Int32(cout), Int32(lo), Int32(hi), dw) }
        }
    }
}

/// body(part, lo, hi) for each thread's share lo..<hi of `count` images (empty shares skipped).
func forEachImageSlice(_ count: Int, parts: Int, _ body: (Int, Int, Int) -> Void) {
    let imagesPerPart = (count + parts - 1) / parts
    Threads.run(parts) { part in
        let lo = min(count, part * imagesPerPart), hi = min(count, lo + imagesPerPart)
        if lo < hi { body(part, lo, hi) }
    }
}

/// One GEMM per transform point t: C_t = op(A_t)·B_t + beta·C_t, with A_t: [m, k] ([k, m]
/// when transA), B_t: [k, n] and C_t: [m, n] packed one after another. Each point is one
/// single-threaded GEMM and the points are shared out: no GEMM is split, so none packs its
/// operands twice, and no two threads write the same C_t. (With OpenBLAS's own threading,
/// each GEMM uses every core instead.)
func pointProducts(
    points: Int, transA: Bool = false, m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>,
    _ b: UnsafePointer<Float>, beta: Float, into c: UnsafeMutablePointer<Float>
) {
    let lda = transA ? m : k
    if Threads.ownGEMMThreads {
        Threads.run(points) { t in
            gemmBlock(
                transA: transA, transB: false, m: m, n: n, k: k, alpha: 1, a + t * m * k, lda: lda,
                b + t * k * n, ldb: n, beta: beta, c + t * m * n, ldc: n)
        }
    } else {
        for t in 0..<points {
            gemm(
                transA: transA, m: m, n: n, k: k, a + t * m * k, lda: lda, b + t * k * n, ldb: n, beta: beta,
                c + t * m * n, ldc: n)
        }
    }
}
