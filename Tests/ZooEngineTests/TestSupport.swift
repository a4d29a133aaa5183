import CConvKernels
import XCTest

@testable import ZooEngine

/// A tensor of N(0, std) values from a seeded stream, so failures reproduce.
func randomTensor(_ shape: [Int], seed: UInt64, std: Float = 1) -> Tensor {
    let t = Tensor(shape: shape)
    RandomSource(seed: seed).fillNormal(t, std: std)
    return t
}

/// Relative error with a floor, so near-zero values are compared absolutely.
func relativeError(_ a: Float, _ b: Float, floor: Float = 1e-2) -> Float {
    abs(a - b) / max(abs(a), abs(b), floor)
}

/// Asserts two arrays agree elementwise to `tolerance` relative. Elements far smaller than
/// the largest are sums that cancelled: Float32 leaves them an absolute error on the scale of
/// the large ones, so they are measured against 1% of the largest magnitude instead.
func assertClose(
    _ actual: [Float], _ expected: [Float], tolerance: Float = 1e-4,
    _ what: String, file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(actual.count, expected.count, "\(what): count", file: file, line: line)
    guard actual.count == expected.count else { return }
    let floor = max(1e-3, 1e-2 * (expected.map(abs).max() ?? 0))
    var worst: (index: Int, error: Float) = (0, 0)
    for i in actual.indices {
        let e = relativeError(actual[i], expected[i], floor: floor)
        if e > worst.error || e.isNaN { worst = (i, e) }
    }
    XCTAssert(
        worst.error <= tolerance,
        "\(what): element \(worst.index) is \(actual[worst.index]), expected \(expected[worst.index]) (rel. error \(worst.error))",
        file: file, line: line)
}

/// Central-difference derivative of `loss` with respect to `t[i]`, for each i in `indices`.
/// The loss is evaluated in Double so its own rounding does not swamp the difference.
func numericGradient(of loss: () -> Double, perturbing t: Tensor, indices: [Int], eps: Float) -> [Float] {
    indices.map { i in
        let saved = t[i]
        t[i] = saved + eps
        let plus = loss()
        t[i] = saved - eps
        let minus = loss()
        t[i] = saved
        // The step actually taken in Float32, not the nominal 2·eps.
        return Float((plus - minus) / Double((saved + eps) - (saved - eps)))
    }
}

/// Every index of small tensors; a seeded random subset of `limit` for larger ones.
func sampleIndices(count: Int, limit: Int = 40, seed: UInt64 = 99) -> [Int] {
    guard count > limit else { return Array(0..<count) }
    let rng = RandomSource(seed: seed)
    return Array(rng.permutation(count).prefix(limit))
}

/// Differences between analytic and numeric gradients, as messages (empty = all agree).
func gradientMismatches(analytic: [Float], numeric: [Float], indices: [Int], tolerance: Float, label: String)
    -> [String]
{
    zip(indices, zip(analytic, numeric)).compactMap { index, pair in
        let (a, n) = pair
        let e = relativeError(a, n)
        return e <= tolerance ? nil : "\(label)[\(index)]: analytic \(a), numeric \(n) (rel. error \(e))"
    }
}

/// Checks a layer's input gradient and every trainable parameter gradient against central
/// differences of L = Σ y·R for a fixed random R. `beforeForward` runs before every forward
/// (Dropout uses it to replay the same mask). Returns the mismatches; `gradientCheck` asserts.
func gradientCheckMismatches(
    layer: Layer, input: Tensor, training: Bool = true, eps: Float = 1e-2,
    tolerance: Float = 1e-2, seed: UInt64 = 1234,
    beforeForward: @escaping () -> Void = {}
) -> [String] {
    beforeForward()
    let y0 = layer.forward(input, training: training)
    let r = randomTensor(y0.shape, seed: seed)
    let rs = r.array
    for p in layer.parameters where p.trainable { p.grad.fill(0) }
    let dx = layer.backward(r, needs: .all).array
    let paramGrads = layer.parameters.filter(\.trainable).map { $0.grad.array }

    let loss: () -> Double = {
        beforeForward()
        let y = layer.forward(input, training: training)
        var total = 0.0
        for i in 0..<y.count { total += Double(y[i]) * Double(rs[i]) }
        return total
    }
    var problems: [String] = []
    let xi = sampleIndices(count: input.count)
    problems += gradientMismatches(
        analytic: xi.map { dx[$0] },
        numeric: numericGradient(of: loss, perturbing: input, indices: xi, eps: eps),
        indices: xi, tolerance: tolerance, label: "dx")
    for (p, grad) in zip(layer.parameters.filter(\.trainable), paramGrads) {
        let pi = sampleIndices(count: p.value.count)
        problems += gradientMismatches(
            analytic: pi.map { grad[$0] },
            numeric: numericGradient(of: loss, perturbing: p.value, indices: pi, eps: eps),
            indices: pi, tolerance: tolerance, label: p.name)
    }
    return problems
}

func gradientCheck(
    layer: Layer, input: Tensor, training: Bool = true, eps: Float = 1e-2, tolerance: Float = 1e-2,
    beforeForward: @escaping () -> Void = {}, file: StaticString = #filePath, line: UInt = #line
) {
    let problems = gradientCheckMismatches(
        layer: layer, input: input, training: training, eps: eps,
        tolerance: tolerance, beforeForward: beforeForward)
    XCTAssert(
        problems.isEmpty, "\(type(of: layer)) gradient mismatches:\n" + problems.prefix(8).joined(separator: "\n"),
        file: file, line: line)
}

/// Gives a layer's bias (if any) nonzero values: a zero bias would hide a bias bug.
func randomizeBias(_ bias: Parameter?, seed: UInt64) {
    if let bias { RandomSource(seed: seed).fillNormal(bias.value, std: 0.5) }
}

/// Runs body at every vector level of the C kernels this CPU has (plain C loops included),
/// then lifts the cap.
func atEveryKernelLevel(_ body: (Int32) -> Void) {
    defer { zoo_conv_kernels_limit(2) }
    for level in 0...zoo_conv_kernels_level() {
        zoo_conv_kernels_limit(level)
        XCTAssertEqual(zoo_conv_kernels_level(), level)
        body(level)
    }
}

/// Asserts max |actual − expected| ≤ tolerance · max |expected|.
func assertCloseToScale(
    _ actual: [Float], _ expected: [Float], tolerance: Float, _ what: String,
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(actual.count, expected.count, "\(what): count", file: file, line: line)
    let scale = expected.map(abs).max() ?? 0
    let worst = zip(actual, expected).map { abs($0 - $1) }.max() ?? 0
    if ProcessInfo.processInfo.environment["WINOGRAD_ERRORS"] != nil { print("\(what): \(worst / scale)") }
    XCTAssert(
        worst <= tolerance * scale, "\(what): error \(worst) is \(worst / scale) of the scale \(scale)",
        file: file, line: line)
}

/// The Winograd tests' cases: at every kernel level this CPU has, each image size, with and
/// without bias, in whole and in one-image chunks; body(h, w, bias, oneImageChunks, tag).
func forEachWinogradCase(sizes: [(Int, Int)], _ body: (Int, Int, Bool, Bool, String) -> Void) {
    atEveryKernelLevel { level in
        for (h, w) in sizes {
            for useBias in [true, false] {
                for oneImageChunks in [false, true] {
                    body(
                        h, w, useBias, oneImageChunks,
                        "level \(level) \(h)x\(w) bias=\(useBias) one-image chunks=\(oneImageChunks)")
                }
            }
        }
    }
}
