import XCTest

@testable import ZooEngine

/// The GAN family's layers: LayerNorm, spectral norm, the class embedding and the projection
/// head, and the auxiliary classifier's cross-entropy row, each against finite differences
/// and a reference written from the definition.
final class FamilyLayerTests: XCTestCase {
    func testLayerNormGradients() {
        let layer = LayerNorm(features: 12)
        RandomSource(seed: 2).fillNormal(layer.gamma.value, mean: 1, std: 0.3)
        RandomSource(seed: 3).fillNormal(layer.beta.value, std: 0.3)
        gradientCheck(layer: layer, input: randomTensor([3, 3, 2, 2], seed: 4), eps: 1e-2, tolerance: 2e-2)
    }

    func testLayerNormMatchesReferenceAndNormalisesEachImage() {
        let layer = LayerNorm(features: 10)
        RandomSource(seed: 5).fillNormal(layer.gamma.value, mean: 1, std: 0.3)
        RandomSource(seed: 6).fillNormal(layer.beta.value, std: 0.3)
        let x = randomTensor([4, 10], seed: 7, std: 3)
        let y = layer.forward(x, training: true).array
        let expected = Reference.layerNormForward(
            x: x.array, n: 4, f: 10, gamma: layer.gamma.value.array, beta: layer.beta.value.array,
            epsilon: layer.epsilon)
        for (a, b) in zip(y, expected) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        // With γ = 1, β = 0 each row has mean 0 and variance 1 whatever the others hold.
        let plain = LayerNorm(features: 10, epsilon: 0)
        let z = plain.forward(x, training: true)
        for r in 0..<4 {
            let row = (0..<10).map { Double(z[r * 10 + $0]) }
            XCTAssertEqual(row.reduce(0, +) / 10, 0, accuracy: 1e-6)
            XCTAssertEqual(row.map { $0 * $0 }.reduce(0, +) / 10, 1, accuracy: 1e-5)
        }
    }

    func testSpectralNormGradients() {
        let dense = SpectralNorm(Dense(inputs: 6, outputs: 4, rng: RandomSource(seed: 8)), rng: RandomSource(seed: 9))
        randomizeBias(dense.layer.bias, seed: 10)
        gradientCheck(layer: dense, input: randomTensor([3, 6], seed: 11), tolerance: 2e-2)
        let conv = SpectralNorm(
            Conv2D(inChannels: 2, outChannels: 3, kernel: 3, stride: 2, rng: RandomSource(seed: 12)),
            rng: RandomSource(seed: 13))
        randomizeBias(conv.layer.bias, seed: 14)
        gradientCheck(layer: conv, input: randomTensor([2, 2, 6, 6], seed: 15), tolerance: 2e-2)
    }

    /// σ from one power iteration a step converges to the largest singular value (Jacobi SVD
    /// reference) within 1 %, for a Dense and a Conv2D kernel, and the layer then computes
    /// with W/σ: the reference Dense with that kernel gives its output.
    func testSpectralNormSigmaMatchesSVD() {
        let rng = RandomSource(seed: 16)
        let dense = SpectralNorm(Dense(inputs: 20, outputs: 12, rng: rng), rng: rng)
        let conv = SpectralNorm(Conv2D(inChannels: 3, outChannels: 8, kernel: 3, stride: 1, rng: rng), rng: rng)
        for (layer, rows, columns, input) in [
            (dense as Layer, 20, 12, randomTensor([2, 20], seed: 17)),
            (conv, 8, 27, randomTensor([1, 3, 5, 5], seed: 18)),
        ] {
            let sn = layer as! SpectralNorm
            for _ in 0..<30 { sn.beginTrainingStep() }
            _ = sn.forward(input, training: true)
            let svd = Reference.largestSingularValue(sn.weight.value.array, rows: rows, columns: columns)
            XCTAssertEqual(Double(sn.sigma), svd, accuracy: 0.01 * svd, "\(rows)×\(columns)")
            // The normalised kernel's own largest singular value is 1.
            let normalised = Reference.largestSingularValue(sn.layer.kernel.value.array, rows: rows, columns: columns)
            XCTAssertEqual(normalised, 1, accuracy: 0.01)
        }
        let x = randomTensor([2, 20], seed: 19)
        let y = dense.forward(x, training: true).array
        let scaled = dense.weight.value.array.map { $0 / dense.sigma }
        let expected = Reference.denseForward(
            x: x.array, n: 2, inputs: 20, outputs: 12, kernel: scaled, bias: dense.layer.bias?.value.array)
        for (a, b) in zip(y, expected) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    /// The Jacobi reference itself, on a matrix whose singular values are known.
    func testSingularValueReference() {
        // diag(3, 2) rotated on both sides keeps singular values 3 and 2.
        let c = Float(cos(0.3)), s = Float(sin(0.3))
        let m: [Float] = [3 * c, -2 * s, 3 * s, 2 * c]
        XCTAssertEqual(Reference.largestSingularValue(m, rows: 2, columns: 2), 3, accuracy: 1e-6)
        XCTAssertEqual(
            Reference.largestSingularValue([1, 2, 2, 4, 3, 6], rows: 3, columns: 2), 70.0.squareRoot(), accuracy: 1e-9)
    }

    /// u and v move only at `beginTrainingStep` (a step's passes all see one σ); they are
    /// stored state, not trained; a layer built for loading draws nothing.
    func testSpectralNormStateMovesOnlyBetweenSteps() {
        let sn = SpectralNorm(Dense(inputs: 5, outputs: 3, rng: RandomSource(seed: 20)), rng: RandomSource(seed: 21))
        XCTAssertEqual(sn.parameters.map(\.name), ["kernel", "bias", "sn_u", "sn_v"])
        XCTAssertEqual(sn.parameters.filter(\.trainable).map(\.name), ["kernel", "bias"])
        sn.weight.value[0] += 0.5  // an optimizer step
        let u = sn.u.value.array
        let x = randomTensor([2, 5], seed: 22)
        let first = sn.forward(x, training: true).array
        XCTAssertEqual(sn.forward(x, training: true).array, first)
        XCTAssertEqual(sn.u.value.array, u)
        sn.beginTrainingStep()
        XCTAssertNotEqual(sn.u.value.array, u)
        let rng = RandomSource(seed: 23)
        let before = rng.state
        let empty = rng.withoutInitializers {
            SpectralNorm(Dense(inputs: 5, outputs: 3, rng: rng), rng: rng)
        }
        XCTAssertEqual(rng.state, before)
        XCTAssertTrue(empty.u.value.array.allSatisfy { $0 == 0 })
    }

    func testClassEmbeddingGradients() {
        let layer = ClassEmbedding(classes: 4, features: 5, rng: RandomSource(seed: 24))
        RandomSource(seed: 25).fillNormal(layer.embedding.value)
        let labels = Tensor(shape: [3, 4])
        for (i, c) in [2, 0, 3].enumerated() { labels[i * 4 + c] = 1 }
        gradientCheck(layer: layer, input: labels)
        let y = layer.forward(labels, training: false)
        for j in 0..<5 { XCTAssertEqual(y[j], layer.embedding.value[2 * 5 + j]) }  // row 0 picks class 2
    }

    /// The projection head on a small conv φ: gradients of φ's weights, ψ, the embedding and
    /// the input (image and label columns); its output is ψ(φ(x)) + ⟨E_y, φ(x)⟩ written out.
    func testLabelProjectionGradientsAndOutput() {
        let rng = RandomSource(seed: 26)
        let features = Sequential([
            ("conv1", Conv2D(inChannels: 1, outChannels: 2, kernel: 3, stride: 2, rng: rng)),
            ("act1", LeakyReLU(alpha: 0.2)), ("flatten", Flatten()),
        ])
        let head = LabelProjection(features: features, featureCount: 18, imageShape: [1, 6, 6], classes: 3, rng: rng)
        rng.fillNormal(head.embedding.embedding.value, std: 0.5)
        XCTAssertEqual(
            head.parameters.map(\.name),
            ["conv1.kernel", "conv1.bias", "linear.kernel", "linear.bias", "embedding.embedding"])
        let x = randomTensor([3, 36 + 3], seed: 27)
        for i in 0..<3 {
            for c in 0..<3 { x[i * 39 + 36 + c] = c == i % 3 ? 1 : 0 }
        }
        gradientCheck(layer: head, input: x, eps: 1e-3, tolerance: 2e-2)

        let y = head.forward(x, training: true).array
        let images = Tensor(shape: [3, 1, 6, 6])
        for i in 0..<3 { for j in 0..<36 { images[i * 36 + j] = x[i * 39 + j] } }
        let phi = features.forward(images, training: true).array
        let w = head.linear.kernel.value.array, b = head.linear.bias!.value[0]
        for i in 0..<3 {
            var expected = Double(b)
            for j in 0..<18 {
                expected += Double(phi[i * 18 + j]) * Double(w[j] + head.embedding.embedding.value[(i % 3) * 18 + j])
            }
            XCTAssertEqual(Double(y[i]), expected, accuracy: 1e-4)
        }
    }

    /// A pass that needs only the input gradient (G's, through a frozen D) adds no parameter
    /// gradient anywhere in the head.
    func testLabelProjectionInputOnlyPassLeavesParameterGradients() {
        let rng = RandomSource(seed: 28)
        let features = Sequential([("flatten", Flatten()), ("dense", Dense(inputs: 4, outputs: 3, rng: rng))])
        let head = LabelProjection(features: features, featureCount: 3, imageShape: [1, 2, 2], classes: 2, rng: rng)
        let x = randomTensor([2, 6], seed: 29)
        _ = head.forward(x, training: true)
        _ = head.backward(randomTensor([2, 1], seed: 30), needs: .input)
        for p in head.parameters { XCTAssertTrue(p.grad.array.allSatisfy { $0 == 0 }, p.name) }
    }

    func testCrossEntropyRowSlopes() {
        let z: [Float] = [0.3, -1.2, 2.0, 0.5]
        var slopes = [Float](repeating: 0, count: 4)
        let term = z.withUnsafeBufferPointer { zp in
            slopes.withUnsafeMutableBufferPointer {
                CategoricalCrossEntropy.row(zp.baseAddress!, count: 4, label: 2, slopes: $0.baseAddress!, scale: 1)
            }
        }
        let logSum = log(z.map { exp(Double($0)) }.reduce(0, +))
        XCTAssertEqual(term, logSum - 2.0, accuracy: 1e-6)
        for k in 0..<4 {
            var plus = z, minus = z
            plus[k] += 1e-3; minus[k] -= 1e-3
            func value(_ v: [Float]) -> Double { log(v.map { exp(Double($0)) }.reduce(0, +)) - Double(v[2]) }
            XCTAssertEqual(Double(slopes[k]), (value(plus) - value(minus)) / 2e-3, accuracy: 1e-4)
        }
    }
}
