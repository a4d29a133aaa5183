import XCTest

@testable import ZooEngine

final class AdamTests: XCTestCase {
    /// A well-conditioned least-squares problem: min ‖A·w − b‖², A [8, 3].
    private let a: [Float] = [
        1, 0.2, -0.3, 0.1, 1.2, 0.4, -0.5, 0.3, 0.9, 0.7, -0.2, 0.1,
        0.3, 0.8, -0.6, -0.4, 0.1, 1.1, 0.9, -0.7, 0.2, 0.2, 0.5, 0.6,
    ]
    private let b: [Float] = [0.5, -1, 2, 0.3, 1.5, -0.7, 0.8, 1.1]

    /// The normal equations AᵀA·w = Aᵀb, solved by Gaussian elimination in Double.
    private func closedForm() -> [Double] {
        var m = [[Double]](repeating: [Double](repeating: 0, count: 4), count: 3)
        for r in 0..<8 {
            for i in 0..<3 {
                for j in 0..<3 { m[i][j] += Double(a[r * 3 + i]) * Double(a[r * 3 + j]) }
                m[i][3] += Double(a[r * 3 + i]) * Double(b[r])
            }
        }
        for col in 0..<3 {
            for row in (col + 1)..<3 {
                let f = m[row][col] / m[col][col]
                for k in col..<4 { m[row][k] -= f * m[col][k] }
            }
        }
        var w = [Double](repeating: 0, count: 3)
        for i in stride(from: 2, through: 0, by: -1) {
            var s = m[i][3]
            for j in (i + 1)..<3 { s -= m[i][j] * w[j] }
            w[i] = s / m[i][i]
        }
        return w
    }

    /// One gradient of the mean squared residual through a bias-free Dense layer.
    private func accumulateGradient(_ layer: Dense) {
        let x = Tensor(shape: [8, 3], values: a)
        let y = layer.forward(x, training: true)
        let dy = Tensor(shape: [8, 1])
        for r in 0..<8 { dy[r] = 2 * (y[r] - b[r]) / 8 }
        _ = layer.backward(dy, needs: .parameters)
    }

    func testConvergesToLeastSquaresSolution() {
        let layer = Dense(inputs: 3, outputs: 1, bias: false, rng: RandomSource(seed: 1))
        let adam = Adam(parameters: layer.parameters, learningRate: 0.02)
        for _ in 0..<4000 {
            accumulateGradient(layer)
            adam.step()
        }
        let expected = closedForm()
        for i in 0..<3 { XCTAssertEqual(Double(layer.kernel.value[i]), expected[i], accuracy: 1e-3, "w[\(i)]") }
    }

    func testStepMatchesKerasFormula() {
        let p = Parameter("w", shape: [1])
        p.value[0] = 0.5
        let lr: Float = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-7
        let adam = Adam(parameters: [p], learningRate: lr)
        var w = 0.5, m = 0.0, v = 0.0
        for (t, g) in [0.2, -0.05, 0.3].enumerated() {
            p.grad[0] = Float(g)
            adam.step()
            let step = Double(t + 1)
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            let alpha = Double(lr) * (1 - pow(b2, step)).squareRoot() / (1 - pow(b1, step))
            w -= alpha * m / (v.squareRoot() + eps)
            XCTAssertEqual(Double(p.value[0]), w, accuracy: 1e-6, "step \(t + 1)")
            XCTAssertEqual(p.grad[0], 0, "gradient zeroed after the step")
        }
        XCTAssertEqual(adam.stepCount, 3)
    }

    /// exportState hands out the live moment tensors, so a saved copy must be taken at once.
    private func snapshot(_ adam: Adam) -> [(name: String, values: Tensor)] {
        adam.exportState().map { (name: $0.name, values: $0.values.copy()) }
    }

    func testResumeIsBitIdentical() throws {
        let straight = Dense(inputs: 3, outputs: 1, bias: false, rng: RandomSource(seed: 2))
        let straightAdam = Adam(parameters: straight.parameters, learningRate: 0.05)
        for _ in 0..<20 { accumulateGradient(straight); straightAdam.step() }

        let first = Dense(inputs: 3, outputs: 1, bias: false, rng: RandomSource(seed: 2))
        let firstAdam = Adam(parameters: first.parameters, learningRate: 0.05)
        for _ in 0..<10 { accumulateGradient(first); firstAdam.step() }
        let saved = snapshot(firstAdam), savedWeights = first.kernel.value.copy(), savedStep = firstAdam.stepCount

        // A fresh process: new layer and optimizer, restored from the checkpoint.
        let resumed = Dense(inputs: 3, outputs: 1, bias: false, rng: RandomSource(seed: 99))
        resumed.kernel.value.copy(from: savedWeights)
        let resumedAdam = Adam(parameters: resumed.parameters, learningRate: 0.05)
        try resumedAdam.importState(stepCount: savedStep, saved)
        for _ in 0..<10 { accumulateGradient(resumed); resumedAdam.step() }

        XCTAssertEqual(resumedAdam.stepCount, straightAdam.stepCount)
        XCTAssertEqual(resumed.kernel.value.array.map(\.bitPattern), straight.kernel.value.array.map(\.bitPattern))
    }

    func testBadImportThrowsAndChangesNothing() {
        let layer = Dense(inputs: 3, outputs: 2, rng: RandomSource(seed: 3))
        let adam = Adam(parameters: layer.parameters, learningRate: 0.05)
        for _ in 0..<3 {
            RandomSource(seed: 4).fillNormal(layer.kernel.grad)
            adam.step()
        }
        let before = snapshot(adam).map(\.values.array)
        let good = snapshot(adam).map { (name: $0.name, values: Tensor(shape: $0.values.shape, repeating: 7)) }

        var missing = good
        missing.removeLast()
        XCTAssertThrowsError(try adam.importState(stepCount: 50, missing)) { error in
            XCTAssertEqual(error as? EngineError, .missingState("v.1"))
        }
        var wrongShape = good
        // A bad *later* entry: the earlier, valid ones must not have been applied either.
        wrongShape[1] = (name: "v.0", values: Tensor(shape: [2, 3]))
        XCTAssertThrowsError(try adam.importState(stepCount: 50, wrongShape)) { error in
            XCTAssertEqual(error as? EngineError, .stateShape(name: "v.0", expected: [3, 2], found: [2, 3]))
        }
        XCTAssertEqual(adam.stepCount, 3)
        XCTAssertEqual(adam.exportState().map(\.values.array), before)

        XCTAssertNoThrow(try adam.importState(stepCount: 50, good))
        XCTAssertEqual(adam.stepCount, 50)
        XCTAssert(adam.exportState().allSatisfy { $0.values.array.allSatisfy { $0 == 7 } })
    }
}
