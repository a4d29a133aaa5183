import CBLAS

/// Row-major sgemm: C = alpha·op(A)·op(B) + beta·C, op(A): [m, k], op(B): [k, n], C: [m, n].
@inline(__always)
func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
          _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
          beta: Float = 0, _ c: UnsafeMutablePointer<Float>, ldc: Int) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Glorot (Xavier) uniform, Keras's default kernel initializer: U(±sqrt(6 / (fanIn + fanOut))).
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
        case let .stateShape(name, expected, found): return "optimizer state '\(name)' has shape \(found), expected \(expected)"
        }
    }
}
