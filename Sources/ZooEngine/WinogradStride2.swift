import CConvKernels
import Foundation

/// A stride-2 5×5 `same` convolution from a big image [C, H, W] to a small one [O, OH, OW] as
/// Winograd F(4×4, 3×3) over the big image's four phases (CConvKernels/winograd_stride2.c):
/// Conv2D's forward, input gradient and weight gradient, and (its adjoint) a stride-2
/// Conv2DTranspose's. Per chunk of images, 36 GEMMs, one per transform point t:
/// M_t[tiles, cols] = V_t[tiles, rows] · U_t[rows, cols]; the weight gradient's are
/// dU_t[4C, O] += V_tᵀ · W_t. Its buffers are reused from call to call.
/// kernel: the conv's [O, C, 5, 5] (a Conv2DTranspose's [C', O', 5, 5] with C' = O, O' = C)
final class WinogradStride2 {
    private let forwardFilter: TransformedFilter  // U: [36, 4C, O]
    private let adjointFilter: TransformedFilter  // U: [36, O, 4C]
    private let filterGradient: TransformedFilter  // dU: [36, 4C, O]
    private let inputs = Tensor(shape: [0])  // V: [36, tiles, rows], one chunk of images
    private let products = Tensor(shape: [0])  // M: [36, tiles, cols]
    private let scratch = Tensor(shape: [0])  // per part: an image's grid and a transform's rows
    /// Most floats of V or M per chunk of images: 4 MB, so a chunk's GEMMs work in L3. 8 MB
    /// chunks ran the DCGAN step no faster (alternating, 356–385 against 360–373 ms) and
    /// raised its peak RSS by 20 MB. Tests lower it to get chunks of one image.
    var chunkFloats = 1 << 20

    /// cachesFilters: the forward's and the adjoint's filter transforms and the kernel gradient's
    /// dU each keep a buffer of their own, so a transform is made again only when the weights
    /// change (D's conv2 runs a dozen passes a step). Without it (a G layer: one forward and
    /// one backward a step, new weights each step) the three share one buffer: 9.4 MB less
    /// for the DCGAN's deconv2.
    init(cachesFilters: Bool = true) {
        forwardFilter = TransformedFilter()
        adjointFilter = cachesFilters ? TransformedFilter() : forwardFilter
        filterGradient = cachesFilters ? TransformedFilter() : forwardFilter
    }

    /// The conv's geometry in the C kernels' terms: big image `g` (channels, height, width),
    /// small image [outChannels, g.outHeight, g.outWidth].
    static func geometry(_ g: ConvGeometry, outChannels: Int) -> zoo_s2_geometry {
        zoo_s2_geometry(
            channels: Int32(g.channels), height: Int32(g.height), width: Int32(g.width),
            outChannels: Int32(outChannels), outHeight: Int32(g.outHeight), outWidth: Int32(g.outWidth),
            padTop: Int32(g.padTop), padLeft: Int32(g.padLeft))
    }

    /// adjoint false: y = the conv of the big images `src` [N, C, H, W] into `dst` [N, O, OH, OW].
    /// adjoint true: dst = its input gradient [N, C, H, W] for the small `src` [N, O, OH, OW].
    /// Every value of dst is written.
    func convolve(
        _ src: UnsafePointer<Float>, n: Int, geometry g: zoo_s2_geometry, kernel: UnsafePointer<Float>,
        adjoint: Bool, into dst: UnsafeMutablePointer<Float>
    ) {
        var g = g
        let phases = 4 * Int(g.channels), outChannels = Int(g.outChannels)
        let rows = adjoint ? outChannels : phases, cols = adjoint ? phases : outChannels
        let flag: Int32 = adjoint ? 1 : 0
        let perImage = Int(zoo_wino_s2_tiles(&g, flag))
        let parts = max(1, Threads.count)

        let transformed = adjoint ? adjointFilter : forwardFilter
        if !transformed.holds(kernel, count: phases / 4 * outChannels * 25, adjoint: adjoint, shape: [36, rows, cols]) {
            let u = transformed.u.data
            // Shared out by big-image channel (forward: its four phase rows) or by row (adjoint).
            let fixed = adjoint ? outChannels : Int(g.channels), perPart = (fixed + parts - 1) / parts
            Threads.run(parts) { part in
                var g = g
                let lo = min(fixed, part * perPart), hi = min(fixed, lo + perPart)
                if lo < hi { zoo_wino_s2_filter(kernel, &g, flag, Int32(lo), Int32(hi), u) }
            }
        }
        let u = transformed.u.data

        let chunk = max(1, min(n, chunkFloats / (36 * perImage * max(rows, cols))))
        inputs.resize([36 * chunk * perImage * rows])
        products.resize([36 * chunk * perImage * cols])
        let scratchFloats = zoo_wino_s2_scratch(&g)
        scratch.resize([parts, scratchFloats])
        let v = inputs.data, prod = products.data, work = scratch.data
        forEachChunk(n: n, chunk: chunk) { first, count in
            let tiles = count * perImage
            forEachImageSlice(count, parts: parts) { part, lo, hi in
                var g = g
                zoo_wino_s2_input(
                    src, &g, flag, Int32(first + lo), Int32(first + hi), v, tiles, lo * perImage,
                    work + part * scratchFloats)
            }
            pointProducts(points: 36, m: tiles, n: cols, k: rows, v, u, beta: 0, into: prod)
            forEachImageSlice(count, parts: parts) { part, lo, hi in
                var g = g
                zoo_wino_s2_output(
                    prod, &g, flag, Int32(first + lo), Int32(first + hi), tiles, lo * perImage, dst,
                    work + part * scratchFloats)
            }
        }
    }

    /// The conv's kernel gradient for big images x [N, C, H, W] and the upstream gradient
    /// dy [N, O, OH, OW] of its output, ADDED into dk [O, C, 5, 5]: per point t,
    /// dU_t[4C, O] = Σ_tiles V_t[tile, 4C]ᵀ · W_t[tile, O] with V the forward's input transform
    /// and W = A·dY·Aᵀ, summed over the chunks of images; then dK = Gᵀ·dU·G onto the 5×5 taps.
    /// Uses the V and M buffers for V and W, and dU its own (the forward's when filters are not cached).
    func addKernelGradient(
        x: UnsafePointer<Float>, dy: UnsafePointer<Float>, n: Int, geometry g: zoo_s2_geometry,
        into dk: UnsafeMutablePointer<Float>
    ) {
        var g = g
        let channels = Int(g.channels), phases = 4 * channels, outChannels = Int(g.outChannels)
        let perImage = Int(zoo_wino_s2_tiles(&g, 0))
        let parts = max(1, Threads.count)

        filterGradient.holdGradient(shape: [36, phases, outChannels])
        let chunk = max(1, min(n, chunkFloats / (36 * perImage * max(phases, outChannels))))
        inputs.resize([36 * chunk * perImage * phases])
        products.resize([36 * chunk * perImage * outChannels])
        let scratchFloats = zoo_wino_s2_scratch(&g)
        scratch.resize([parts, scratchFloats])
        let du = filterGradient.u.data, v = inputs.data, wt = products.data, work = scratch.data
        forEachChunk(n: n, chunk: chunk) { first, count in
            let tiles = count * perImage
            forEachImageSlice(count, parts: parts) { part, lo, hi in
                var g = g
                let scratch = work + part * scratchFloats
                zoo_wino_s2_input(x, &g, 0, Int32(first + lo), Int32(first + hi), v, tiles, lo * perImage, scratch)
                zoo_wino_s2_output_adjoint(
                    dy, &g, Int32(first + lo), Int32(first + hi), wt, tiles, lo * perImage, scratch)
            }
            // The first chunk writes dU, later ones add to it.
            pointProducts(
                points: 36, transA: true, m: phases, n: outChannels, k: tiles, v, wt,
                beta: first == 0 ? 0 : 1, into: du)
        }
        // The big image's channels shared out: each part writes its own [·, c, 5, 5] taps of dk.
        let perPart = (channels + parts - 1) / parts
        Threads.run(parts) { part in
            var g = g
            let lo = min(channels, part * perPart), hi = min(channels, lo + perPart)
            if lo < hi { zoo_wino_s2_filter_adjoint(du, &g, Int32(lo), Int32(hi), dk) }
        }
    }
}

/// A filter transform U and a copy of the kernel it was made from: the D's conv2 runs a dozen
/// passes a step with the same weights, and each transform writes 4.7 MB.
final class TransformedFilter {
    let u = Tensor(shape: [0])
    private var kernel: [Float] = []
    private var adjoint = false

    /// Whether U has `shape` and is the forward's (or the adjoint's) transform of `kernel`
    /// (count floats). If not, sizes U and takes a copy of the kernel for the transform the
    /// caller is about to write there.
    func holds(_ kernel: UnsafePointer<Float>, count: Int, adjoint: Bool, shape: [Int]) -> Bool {
        if u.shape == shape && self.adjoint == adjoint && self.kernel.count == count
            && self.kernel.withUnsafeBufferPointer({ memcmp($0.baseAddress!, kernel, count * 4) == 0 })
        {
            return true
        }
        u.resize(shape)
        self.kernel = Array(UnsafeBufferPointer(start: kernel, count: count))
        self.adjoint = adjoint
        return false
    }

    /// Sizes U for a kernel gradient's dU, which holds no transform afterwards.
    func holdGradient(shape: [Int]) {
        u.resize(shape)
        kernel = []
    }
}
