import CBLAS
import Foundation

/// The evaluation math, in double precision, kept free of models and I/O so it can be
/// tested on known inputs.
public enum EvaluationMath {
    public enum MathError: Error, CustomStringConvertible {
        case eigenFailed(info: Int32)
        case tooFewSamples(Int)

        public var description: String {
            switch self {
            case let .eigenFailed(info): return "the eigen-decomposition did not converge (LAPACK dsyev info \(info))"
            case let .tooFewSamples(n):
                return "\(n) samples are too few for a covariance estimate; use --samples 100 or more"
            }
        }
    }

    /// exp(E_x KL(p(y|x) ‖ p(y))): 1 when every prediction is the same, `classes` when
    /// predictions are confident and classes are balanced. probabilities: [N, classes].
    public static func classifierScore(_ probabilities: [Double], classes: Int) -> Double {
        let n = probabilities.count / classes
        guard n > 0 else { return .nan }
        var marginal = [Double](repeating: 0, count: classes)
        for i in 0..<n { for c in 0..<classes { marginal[c] += probabilities[i * classes + c] / Double(n) } }
        var meanKL = 0.0
        for i in 0..<n {
            var kl = 0.0
            for c in 0..<classes {
                let p = probabilities[i * classes + c]
                if p > 0 { kl += p * (log(p) - log(max(marginal[c], 1e-300))) }
            }
            meanKL += kl / Double(n)
        }
        return exp(meanKL)
    }

    /// Mean [d] and covariance [d, d] (unbiased) of rows of x: [N, d].
    public static func meanAndCovariance(_ x: [Double], dimension d: Int) throws -> (
        mean: [Double], covariance: [Double]
    ) {
        let n = x.count / d
        guard n >= 2 else { throw MathError.tooFewSamples(n) }
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<n { for j in 0..<d { mean[j] += x[i * d + j] } }
        for j in 0..<d { mean[j] /= Double(n) }
        var centered = x
        for i in 0..<n { for j in 0..<d { centered[i * d + j] -= mean[j] } }
        var covariance = [Double](repeating: 0, count: d * d)
        // C = Xcᵀ Xc / (n - 1)
        cblas_dgemm(
            CblasRowMajor, CblasTrans, CblasNoTrans, Int32(d), Int32(d), Int32(n),
            1 / Double(n - 1), centered, Int32(d), centered, Int32(d), 0, &covariance, Int32(d))
        return (mean, covariance)
    }

    /// Eigenvalues (ascending) and eigenvectors (columns, row-major [d, d]) of a symmetric matrix.
    static func symmetricEigen(_ matrix: [Double], dimension d: Int) throws -> (values: [Double], vectors: [Double]) {
        // LAPACK is column-major; a symmetric matrix is its own transpose.
        var a = matrix
        var w = [Double](repeating: 0, count: d)
        var n = Int32(d), lda = Int32(d), info: Int32 = 0
        var lwork: Int32 = -1
        var query = 0.0
        dsyev_("V", "U", &n, &a, &lda, &w, &query, &lwork, &info)
        guard info == 0 else { throw MathError.eigenFailed(info: info) }
        lwork = Int32(query)
        var work = [Double](repeating: 0, count: Int(lwork))
        dsyev_("V", "U", &n, &a, &lda, &w, &work, &lwork, &info)
        guard info == 0 else { throw MathError.eigenFailed(info: info) }
        // a now holds eigenvectors as columns in column-major order = rows in row-major.
        var vectors = [Double](repeating: 0, count: d * d)
        for i in 0..<d { for j in 0..<d { vectors[i * d + j] = a[j * d + i] } }
        return (w, vectors)
    }

    /// Symmetric PSD square root: V diag(sqrt(max(λ, 0))) Vᵀ.
    static func symmetricSquareRoot(_ matrix: [Double], dimension d: Int) throws -> [Double] {
        let (values, vectors) = try symmetricEigen(matrix, dimension: d)
        var scaled = vectors
        for i in 0..<d { for j in 0..<d { scaled[i * d + j] *= max(values[j], 0).squareRoot() } }
        var result = [Double](repeating: 0, count: d * d)
        cblas_dgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(d), Int32(d), Int32(d),
            1, scaled, Int32(d), vectors, Int32(d), 0, &result, Int32(d))
        return result
    }

    /// Fréchet distance between N(μ1, C1) and N(μ2, C2):
    /// |μ1 − μ2|² + tr C1 + tr C2 − 2 tr sqrt(C1^½ C2 C1^½). The symmetric form keeps
    /// every matrix PSD, so only symmetric eigen-solves are needed.
    public static func frechetDistance(mean1: [Double], covariance1: [Double], mean2: [Double], covariance2: [Double])
        throws -> Double
    {
        let d = mean1.count
        var distance = 0.0
        for j in 0..<d { distance += (mean1[j] - mean2[j]) * (mean1[j] - mean2[j]) }
        for j in 0..<d { distance += covariance1[j * d + j] + covariance2[j * d + j] }
        let root1 = try symmetricSquareRoot(covariance1, dimension: d)
        var tmp = [Double](repeating: 0, count: d * d)
        var inner = [Double](repeating: 0, count: d * d)
        cblas_dgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(d), Int32(d), Int32(d), 1, root1, Int32(d), covariance2,
            Int32(d), 0, &tmp, Int32(d))
        cblas_dgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(d), Int32(d), Int32(d), 1, tmp, Int32(d), root1, Int32(d),
            0, &inner, Int32(d))
        // Symmetrise against rounding before the eigen-solve.
        for i in 0..<d {
            for j in 0..<i {
                let m = (inner[i * d + j] + inner[j * d + i]) / 2
                inner[i * d + j] = m; inner[j * d + i] = m
            }
        }
        let (values, _) = try symmetricEigen(inner, dimension: d)
        let traceRoot = values.reduce(0) { $0 + max($1, 0).squareRoot() }
        return max(distance - 2 * traceRoot, 0)
    }

    /// Predicted-class histogram (argmax counts).
    public static func histogram(_ probabilities: [Double], classes: Int) -> [Int] {
        var counts = [Int](repeating: 0, count: classes)
        for i in 0..<(probabilities.count / classes) { counts[argmax(probabilities, row: i, classes: classes)] += 1 }
        return counts
    }

    static func argmax(_ p: [Double], row: Int, classes: Int) -> Int {
        var best = 0
        for c in 1..<classes where p[row * classes + c] > p[row * classes + best] { best = c }
        return best
    }

    /// KL(histogram ‖ uniform) in nats: 0 for perfectly balanced classes, log(classes) for one class.
    public static func klFromUniform(_ counts: [Int]) -> Double {
        let total = Double(counts.reduce(0, +))
        guard total > 0 else { return .nan }
        return counts.reduce(0.0) { sum, c in
            let p = Double(c) / total
            return p > 0 ? sum + p * log(p * Double(counts.count)) : sum
        }
    }

    /// Classes holding at least `threshold` of the samples.
    public static func classesCovered(_ counts: [Int], threshold: Double = 0.01) -> Int {
        let total = Double(counts.reduce(0, +))
        return counts.filter { Double($0) >= threshold * total && $0 > 0 }.count
    }
}
