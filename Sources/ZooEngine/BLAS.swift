import CBLAS

/// Row-major sgemm: C = alpha·op(A)·op(B) + beta·C, op(A): [m, k], op(B): [k, n], C: [m, n].
///
/// With `Threads.ownGEMMThreads` the engine splits C into `Threads.count` blocks of rows
/// (or columns) itself and runs single-threaded OpenBLAS on each on the engine's threads:
/// OpenBLAS's own workers spin while they wait, and on a machine busier than its cores
/// (two trainings at once) that made a conditional-GAN step 30–40× slower.
@inline(__always)
public func gemm(
    transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
    _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, _ c: UnsafeMutablePointer<Float>, ldc: Int
) {
    let parts = Threads.count
    // Inside a part of a parallel run the blocks would run one after another: one call instead.
    guard Threads.ownGEMMThreads, parts > 1, !Threads.insidePart, m * n * k >= Threads.gemmSplitThreshold,
        max(m, n) >= 2 * parts
    else {
        gemmBlock(
            transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a, lda: lda, b, ldb: ldb, beta: beta, c,
            ldc: ldc)
        return
    }
    // Split the longer side of C; blocks are multiples of 16 so kernels see whole panels.
    let splitRows = m >= n
    let side = splitRows ? m : n
    let block = ((side + parts - 1) / parts + 15) / 16 * 16
    let blocks = (side + block - 1) / block
    Threads.run(blocks) { i in
        let lo = i * block, count = min(block, side - lo)
        if splitRows {
            // Rows lo..<lo+count of op(A) and C. op(A) row r is A's row r, or A's column r when transposed.
            gemmBlock(
                transA: transA, transB: transB, m: count, n: n, k: k, alpha: alpha,
                a + (transA ? lo : lo * lda), lda: lda, b, ldb: ldb, beta: beta, c + lo * ldc, ldc: ldc)
        } else {
            // Columns lo..<lo+count of op(B) and C.
            gemmBlock(
                transA: transA, transB: transB, m: m, n: count, k: k, alpha: alpha,
                a, lda: lda, b + (transB ? lo * ldb : lo), ldb: ldb, beta: beta, c + lo, ldc: ldc)
        }
    }
}

@inline(__always)
func gemmBlock(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
    _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
    beta: Float, _ c: UnsafeMutablePointer<Float>, ldc: Int
) {
    cblas_sgemm(
        CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Glorot (Xavier) uniform, Keras's default kernel initializer: U(±sqrt(6 / (fanIn + fanOut))).
/// Every layer's random initial weights come from here (biases and BatchNorm start at fixed
/// values), so `RandomSource.withoutInitializers` covers them all.
public func glorotUniform(_ t: Tensor, fanIn: Int, fanOut: Int, rng: RandomSource) {
    guard !rng.skipsInitializers else { return }
    let limit = (6 / Float(fanIn + fanOut)).squareRoot()
    rng.fillUniform(t, -limit, limit)
}

/// Errors from the engine that reach users (restoring saved state).
public enum EngineError: Error, CustomStringConvertible, Equatable {
    case missingState(String)
    case stateShape(name: String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case let .missingState(name): return "optimizer state '\(name)' is missing"
        case let .stateShape(name, expected, found):
            return "optimizer state '\(name)' has shape \(found), expected \(expected)"
        }
    }
}
