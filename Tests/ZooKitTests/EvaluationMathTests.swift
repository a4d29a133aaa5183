import XCTest

@testable import ZooKit

final class EvaluationMathTests: XCTestCase {
    func testPerfectBalancedClassifierScoresTen() {
        var p = [Double](repeating: 0, count: 100 * 10)
        for i in 0..<100 { p[i * 10 + i % 10] = 1 }
        XCTAssertEqual(EvaluationMath.classifierScore(p, classes: 10), 10, accuracy: 1e-9)
    }

    func testSingleClassScoresOne() {
        var p = [Double](repeating: 0, count: 50 * 10)
        for i in 0..<50 { p[i * 10 + 3] = 1 }
        XCTAssertEqual(EvaluationMath.classifierScore(p, classes: 10), 1, accuracy: 1e-9)
        let counts = EvaluationMath.histogram(p, classes: 10)
        XCTAssertEqual(counts[3], 50)
        XCTAssertEqual(EvaluationMath.classesCovered(counts), 1)
        XCTAssertEqual(EvaluationMath.klFromUniform(counts), log(10), accuracy: 1e-12)
    }

    func testUniformPredictionsScoreOne() {
        let p = [Double](repeating: 0.1, count: 20 * 10)
        XCTAssertEqual(EvaluationMath.classifierScore(p, classes: 10), 1, accuracy: 1e-9)
    }

    func testIdenticalFeatureSetsHaveZeroDistance() throws {
        var x = [Double]()
        var state: UInt64 = 12345
        for _ in 0..<(500 * 8) {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            x.append(Double(state >> 11) / Double(1 << 53))
        }
        let (m, c) = try EvaluationMath.meanAndCovariance(x, dimension: 8)
        XCTAssertEqual(
            try EvaluationMath.frechetDistance(mean1: m, covariance1: c, mean2: m, covariance2: c), 0, accuracy: 1e-9)
    }

    func testDiagonalGaussiansMatchClosedForm() throws {
        // FD = |μ1 − μ2|² + Σ (σ1 − σ2)² for diagonal covariances.
        let mean1 = [0.0, 1.0, 2.0], mean2 = [1.0, 1.0, 0.0]
        let var1 = [1.0, 4.0, 9.0], var2 = [4.0, 1.0, 1.0]
        func diag(_ v: [Double]) -> [Double] {
            var m = [Double](repeating: 0, count: 9)
            for i in 0..<3 { m[i * 3 + i] = v[i] }
            return m
        }
        let expected =
            zip(mean1, mean2).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
            + zip(var1, var2).map { ($0.squareRoot() - $1.squareRoot()) * ($0.squareRoot() - $1.squareRoot()) }.reduce(
                0, +)
        let fd = try EvaluationMath.frechetDistance(
            mean1: mean1, covariance1: diag(var1), mean2: mean2, covariance2: diag(var2))
        XCTAssertEqual(fd, expected, accuracy: 1e-9)  // 5 + (1 + 1 + 4) = 11
        XCTAssertEqual(expected, 11, accuracy: 1e-12)
    }

    func testRotatedGaussiansMatchClosedForm() throws {
        // C1 = R diag(a) Rᵀ and C2 = R diag(b) Rᵀ commute, so tr sqrt(C1 C2) = Σ sqrt(a b).
        let t = 0.7
        let r = [cos(t), -sin(t), sin(t), cos(t)]
        func rotated(_ d: [Double]) -> [Double] {
            var m = [Double](repeating: 0, count: 4)
            for i in 0..<2 { for j in 0..<2 { for k in 0..<2 { m[i * 2 + j] += r[i * 2 + k] * d[k] * r[j * 2 + k] } } }
            return m
        }
        let a = [2.0, 0.5], b = [1.0, 3.0]
        let expected = 1.0 + (a[0] + a[1] + b[0] + b[1]) - 2 * ((a[0] * b[0]).squareRoot() + (a[1] * b[1]).squareRoot())
        let fd = try EvaluationMath.frechetDistance(
            mean1: [1, 0], covariance1: rotated(a), mean2: [0, 0], covariance2: rotated(b))
        XCTAssertEqual(fd, expected, accuracy: 1e-9)
    }

    func testCovarianceNeedsTwoSamples() {
        XCTAssertThrowsError(try EvaluationMath.meanAndCovariance([1, 2, 3], dimension: 3))
    }
}
