import XCTest

@testable import ZooEngine

/// Finite-difference checks of every layer's input and parameter gradients.
final class LayerGradientTests: XCTestCase {
    func testDense() {
        for useBias in [true, false] {
            let layer = Dense(inputs: 5, outputs: 4, bias: useBias, rng: RandomSource(seed: 1))
            randomizeBias(layer.bias, seed: 2)
            gradientCheck(layer: layer, input: randomTensor([3, 5], seed: 3))
        }
    }

    func testConv2D() {
        // (size, kernel, stride): stride 1 and 2, odd and even sizes.
        for (size, k, stride) in [(5, 3, 1), (6, 3, 1), (6, 5, 2), (7, 5, 2), (5, 3, 2)] {
            for useBias in [true, false] {
                let layer = Conv2D(
                    inChannels: 2, outChannels: 2, kernel: k, stride: stride, bias: useBias, rng: RandomSource(seed: 4))
                randomizeBias(layer.bias, seed: 5)
                gradientCheck(layer: layer, input: randomTensor([2, 2, size, size], seed: 6))
            }
        }
    }

    func testConv2DTranspose() {
        // 7 → 14 and 5 → 10 at stride 2 (the DCGAN upsampling), and stride 1.
        for (size, k, stride) in [(7, 5, 2), (5, 5, 2), (4, 5, 1), (3, 3, 2)] {
            for useBias in [true, false] {
                let layer = Conv2DTranspose(
                    inChannels: 2, outChannels: 2, kernel: k, stride: stride, bias: useBias,
                    rng: RandomSource(seed: 7))
                randomizeBias(layer.bias, seed: 8)
                gradientCheck(layer: layer, input: randomTensor([1, 2, size, size], seed: 9))
            }
        }
    }

    private func batchNorm(features: Int, leakyAlpha: Float? = nil) -> BatchNorm {
        let layer = BatchNorm(features: features, leakyAlpha: leakyAlpha)
        // Non-trivial γ, β so their gradients are not checked only at the identity.
        RandomSource(seed: 10).fillUniform(layer.gamma.value, 0.5, 1.5)
        RandomSource(seed: 11).fillNormal(layer.beta.value, std: 0.5)
        return layer
    }

    func testBatchNormTrainingDense() {
        gradientCheck(layer: batchNorm(features: 4), input: randomTensor([5, 4], seed: 12), eps: 1e-3)
    }

    func testBatchNormTrainingConv() {
        gradientCheck(layer: batchNorm(features: 3), input: randomTensor([2, 3, 3, 3], seed: 13), eps: 1e-3)
    }

    /// BatchNorm with a fused LeakyReLU equals BatchNorm then LeakyReLU, and its gradients
    /// pass the finite-difference check in training and inference mode.
    func testBatchNormWithFusedLeakyReLU() {
        for shape in [[5, 4], [2, 3, 3, 3]] {
            let features = shape[1]
            let fused = batchNorm(features: features, leakyAlpha: 0.3), plain = batchNorm(features: features)
            let x = randomTensor(shape, seed: 30)
            let expected = LeakyReLU(alpha: 0.3).forward(plain.forward(x, training: true), training: true).array
            assertClose(fused.forward(x, training: true).array, expected, "fused forward \(shape)")
            gradientCheck(layer: batchNorm(features: features, leakyAlpha: 0.3), input: x, eps: 1e-3)
            gradientCheck(layer: batchNorm(features: features, leakyAlpha: 0.3), input: x, training: false, eps: 1e-3)
        }
    }

    func testBatchNormInference() {
        let layer = batchNorm(features: 3)
        RandomSource(seed: 14).fillNormal(layer.movingMean.value, std: 0.5)
        RandomSource(seed: 15).fillUniform(layer.movingVariance.value, 0.5, 2)
        gradientCheck(layer: layer, input: randomTensor([2, 3, 2, 2], seed: 16), training: false)
        gradientCheck(layer: layer, input: randomTensor([4, 3], seed: 17), training: false)
    }

    /// Values at least 0.05 away from 0, where the ReLUs have their kink.
    private func awayFromKink(_ shape: [Int], seed: UInt64) -> Tensor {
        let t = randomTensor(shape, seed: seed)
        for i in 0..<t.count where abs(t[i]) < 0.05 { t[i] = t[i] < 0 ? -0.05 - abs(t[i]) : 0.05 + t[i] }
        return t
    }

    func testLeakyReLU() {
        gradientCheck(layer: LeakyReLU(alpha: 0.3), input: awayFromKink([3, 2, 2, 2], seed: 18), eps: 1e-2)
    }

    func testReLU() {
        gradientCheck(layer: ReLU(), input: awayFromKink([4, 6], seed: 19), eps: 1e-2)
    }

    func testTanh() {
        gradientCheck(layer: Tanh(), input: randomTensor([3, 7], seed: 20), eps: 1e-3)
    }

    func testFastTanhMatchesTanh() {
        var worst = 0.0
        for i in -200_000...200_000 {
            let x = Float(i) * 5e-5  // −10 … 10, dense near 0 and the clamp
            let y = fastTanh(x)
            XCTAssertLessThanOrEqual(abs(y), 1)
            worst = max(worst, abs(Double(y) - Foundation.tanh(Double(x))))
        }
        XCTAssertLessThan(worst, 1e-6)
        XCTAssertEqual(fastTanh(-3), -fastTanh(3), "odd")
    }

    func testSigmoid() {
        gradientCheck(layer: Sigmoid(), input: randomTensor([3, 7], seed: 21, std: 2), eps: 1e-3)
    }

    func testDropoutTraining() {
        let rng = RandomSource(seed: 22)
        let layer = Dropout(rate: 0.4, rng: rng)
        let saved = rng.state
        // Replaying the RNG state fixes the mask, so the layer is linear in x and checkable.
        gradientCheck(layer: layer, input: randomTensor([4, 10], seed: 23), beforeForward: { rng.state = saved })
    }

    func testDropoutInference() {
        gradientCheck(
            layer: Dropout(rate: 0.4, rng: RandomSource(seed: 24)), input: randomTensor([3, 5], seed: 25),
            training: false)
    }

    func testReshape() {
        gradientCheck(layer: Reshape([2, 3, 2]), input: randomTensor([2, 12], seed: 26))
    }

    func testLabelPlanes() {
        let layer = LabelPlanes(imageShape: [1, 3, 4], classes: 3)
        let x = randomTensor([2, 12 + 3], seed: 29)
        let y = layer.forward(x, training: true)
        XCTAssertEqual(y.shape, [2, 4, 3, 4])
        // Sample 1's second label plane is its input column 12 + 1 at every pixel.
        XCTAssertEqual(y[(1 * 4 + 2) * 12 + 7], x[1 * 15 + 13])
        gradientCheck(layer: layer, input: x)
    }

    func testFlatten() {
        gradientCheck(layer: Flatten(), input: randomTensor([2, 3, 2, 2], seed: 27))
    }

    /// A short stack, so the gradient through composed layers (and Sequential) is checked too.
    func testSmallConvStack() {
        let rng = RandomSource(seed: 28)
        let stack = Sequential([
            ("deconv", Conv2DTranspose(inChannels: 2, outChannels: 2, kernel: 3, stride: 2, bias: false, rng: rng)),
            ("bn", BatchNorm(features: 2)),
            ("act", Tanh()),
            ("conv", Conv2D(inChannels: 2, outChannels: 1, kernel: 3, stride: 2, rng: rng)),
            ("flatten", Flatten()),
            ("dense", Dense(inputs: 9, outputs: 2, rng: rng)),
        ])
        gradientCheck(layer: SequentialLayer(stack), input: randomTensor([2, 2, 3, 3], seed: 29))
    }
}

/// Adapts a Sequential to `Layer` so the gradient helper can check a whole stack.
final class SequentialLayer: Layer {
    let stack: Sequential
    init(_ stack: Sequential) { self.stack = stack }
    func forward(_ x: Tensor, training: Bool) -> Tensor { stack.forward(x, training: training) }
    func backward(_ dy: Tensor, needs: GradientNeeds) -> Tensor { stack.backward(dy, needs: needs) }
    var parameters: [Parameter] { stack.namedParameters.map(\.parameter) }
}
