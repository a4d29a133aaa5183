import XCTest

@testable import ZooEngine

/// Finite-difference checks of the losses and ConcatColumns (not `Layer`s, so they use the
/// closure-based helpers directly), and a check that the helper itself can fail.
final class LossGradientTests: XCTestCase {
    private func checkLoss(
        _ input: Tensor, eps: Float = 1e-2, loss: @escaping (Tensor?) -> Float,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let grad = Tensor(shape: [0])
        _ = loss(grad)
        let analytic = grad.array
        XCTAssertEqual(grad.shape, input.shape, file: file, line: line)
        let indices = sampleIndices(count: input.count)
        let numeric = numericGradient(of: { Double(loss(nil)) }, perturbing: input, indices: indices, eps: eps)
        let problems = gradientMismatches(
            analytic: indices.map { analytic[$0] }, numeric: numeric,
            indices: indices, tolerance: 1e-2, label: "dz")
        XCTAssert(problems.isEmpty, problems.prefix(8).joined(separator: "\n"), file: file, line: line)
    }

    func testBinaryCrossEntropyFromLogitsScalarTarget() {
        for target: Float in [0, 1, 0.9] {
            let z = randomTensor([6, 1], seed: 1, std: 2)
            checkLoss(z) { BinaryCrossEntropy.fromLogits(z, target: target, grad: $0) }
        }
    }

    func testBinaryCrossEntropyFromLogitsScaleScalesOnlyGradient() {
        let z = randomTensor([4, 1], seed: 2)
        let g1 = Tensor(shape: [0]), g3 = Tensor(shape: [0])
        let l1 = BinaryCrossEntropy.fromLogits(z, target: 1, grad: g1)
        let l3 = BinaryCrossEntropy.fromLogits(z, target: 1, grad: g3, scale: 3)
        XCTAssertEqual(l1, l3)
        assertClose(g3.array, g1.array.map { $0 * 3 }, tolerance: 1e-6, "scaled gradient")
    }

    func testBinaryCrossEntropyFromLogitsPerElementTargets() {
        let z = randomTensor([5, 2], seed: 3, std: 2)
        let t = Tensor(shape: [5, 2])
        RandomSource(seed: 4).fillUniform(t, 0, 1)
        checkLoss(z) { BinaryCrossEntropy.fromLogits(z, targets: t, grad: $0) }
    }

    func testBinaryCrossEntropyOnProbabilities() {
        for target: Float in [0, 1] {
            // Probabilities well inside (0, 1): near the clip the loss is not smooth.
            let p = Tensor(shape: [6, 1])
            RandomSource(seed: 5).fillUniform(p, 0.1, 0.9)
            checkLoss(p, eps: 1e-3) { BinaryCrossEntropy.onProbabilities(p, target: target, grad: $0) }
        }
    }

    func testCategoricalCrossEntropyFromLogits() {
        let z = randomTensor([4, 5], seed: 6, std: 2)
        let labels = [0, 3, 4, 1]
        checkLoss(z) { CategoricalCrossEntropy.fromLogits(z, labels: labels, grad: $0) }
    }

    func testConcatColumns() {
        let concat = ConcatColumns()
        let a = randomTensor([3, 4], seed: 7), b = randomTensor([3, 2], seed: 8)
        let y = concat.forward(a, b)
        XCTAssertEqual(y.shape, [3, 6])
        let r = randomTensor(y.shape, seed: 9).array
        let (ga, gb) = concat.backward(Tensor(shape: y.shape, values: r))
        let (da, db) = (ga.array, gb.array)
        let loss: () -> Double = {
            let out = concat.forward(a, b)
            return (0..<out.count).reduce(0.0) { $0 + Double(out[$1]) * Double(r[$1]) }
        }
        let ia = Array(0..<a.count), ib = Array(0..<b.count)
        let problems =
            gradientMismatches(
                analytic: da, numeric: numericGradient(of: loss, perturbing: a, indices: ia, eps: 1e-2),
                indices: ia, tolerance: 1e-2, label: "da")
            + gradientMismatches(
                analytic: db, numeric: numericGradient(of: loss, perturbing: b, indices: ib, eps: 1e-2),
                indices: ib, tolerance: 1e-2, label: "db")
        XCTAssert(problems.isEmpty, problems.joined(separator: "\n"))
    }

    /// The helper must be able to fail: a layer whose backward is 5% off, or whose parameter
    /// gradient has the wrong sign, is reported.
    func testGradientCheckDetectsWrongGradients() {
        let slightlyOff = WrongGradientLayer(inputScale: 1.05, parameterSign: 1)
        let problems = gradientCheckMismatches(layer: slightlyOff, input: randomTensor([2, 3], seed: 10))
        XCTAssertFalse(problems.isEmpty)
        XCTAssert(problems.allSatisfy { $0.hasPrefix("dx") }, problems.joined(separator: "\n"))

        let wrongSign = WrongGradientLayer(inputScale: 1, parameterSign: -1)
        let signProblems = gradientCheckMismatches(layer: wrongSign, input: randomTensor([2, 3], seed: 11))
        XCTAssertFalse(signProblems.isEmpty)
        XCTAssert(signProblems.allSatisfy { $0.hasPrefix("w") }, signProblems.joined(separator: "\n"))

        let correct = WrongGradientLayer(inputScale: 1, parameterSign: 1)
        XCTAssertEqual(gradientCheckMismatches(layer: correct, input: randomTensor([2, 3], seed: 12)), [])
    }
}

/// y = w ⊙ x (w per column) with a deliberately corrupted backward.
private final class WrongGradientLayer: Layer {
    let w = Parameter("w", shape: [3])
    let inputScale: Float, parameterSign: Float
    private let output = Tensor(shape: [0]), gradInput = Tensor(shape: [0])
    private var input: Tensor?

    init(inputScale: Float, parameterSign: Float) {
        self.inputScale = inputScale; self.parameterSign = parameterSign
        w.value.copy(from: Tensor(shape: [3], values: [0.5, -1.5, 2]))
    }

    var parameters: [Parameter] { [w] }

    func forward(_ x: Tensor, training: Bool) -> Tensor {
        input = x
        output.resize(x.shape)
        for i in 0..<x.count { output[i] = w.value[i % 3] * x[i] }
        return output
    }

    func backward(_ dy: Tensor, needs: GradientNeeds) -> Tensor {
        guard let x = input else { return gradInput }
        gradInput.resize(x.shape)
        for i in 0..<x.count {
            gradInput[i] = inputScale * w.value[i % 3] * dy[i]
            if needs.contains(.parameters) { w.grad[i % 3] += parameterSign * x[i] * dy[i] }
        }
        return gradInput
    }
}
