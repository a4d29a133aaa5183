import XCTest

@testable import ZooEngine

/// The DCGAN networks (DESIGN.md; Zoo/DCGAN/DCGAN.swift) built from engine layers: shapes,
/// parameter counts as Keras reports them, and one adversarial backward pass.
final class DCGANStackTests: XCTestCase {
    private func generator(rng: RandomSource) -> Sequential {
        Sequential([
            ("dense", Dense(inputs: 100, outputs: 7 * 7 * 256, bias: false, rng: rng)),
            ("bn0", BatchNorm(features: 7 * 7 * 256)),
            ("act0", LeakyReLU(alpha: 0.3)),
            ("reshape", Reshape([256, 7, 7])),
            (
                "deconv1",
                Conv2DTranspose(inChannels: 256, outChannels: 128, kernel: 5, stride: 1, bias: false, rng: rng)
            ),
            ("bn1", BatchNorm(features: 128)),
            ("act1", LeakyReLU(alpha: 0.3)),
            ("deconv2", Conv2DTranspose(inChannels: 128, outChannels: 64, kernel: 5, stride: 2, bias: false, rng: rng)),
            ("bn2", BatchNorm(features: 64)),
            ("act2", LeakyReLU(alpha: 0.3)),
            ("deconv3", Conv2DTranspose(inChannels: 64, outChannels: 1, kernel: 5, stride: 2, bias: false, rng: rng)),
            ("tanh", Tanh()),
        ])
    }

    private func discriminator(rng: RandomSource) -> Sequential {
        Sequential([
            ("conv1", Conv2D(inChannels: 1, outChannels: 64, kernel: 5, stride: 2, rng: rng)),
            ("act1", LeakyReLU(alpha: 0.3)),
            ("drop1", Dropout(rate: 0.3, rng: rng)),
            ("conv2", Conv2D(inChannels: 64, outChannels: 128, kernel: 5, stride: 2, rng: rng)),
            ("act2", LeakyReLU(alpha: 0.3)),
            ("drop2", Dropout(rate: 0.3, rng: rng)),
            ("flatten", Flatten()),
            ("logit", Dense(inputs: 128 * 7 * 7, outputs: 1, rng: rng)),
        ])
    }

    func testParameterCounts() {
        let rng = RandomSource(seed: 1)
        let g = generator(rng: rng), d = discriminator(rng: rng)
        XCTAssertEqual(g.trainableCount, 2_305_472)
        XCTAssertEqual(g.totalCount, 2_330_944)
        XCTAssertEqual(d.trainableCount, 212_865)
        XCTAssertEqual(d.totalCount, 212_865)
    }

    func testShapesAndOneGeneratorStep() {
        let rng = RandomSource(seed: 2)
        let g = generator(rng: rng), d = discriminator(rng: rng)
        let z = randomTensor([2, 100], seed: 3)
        let fake = g.forward(z, training: true)
        XCTAssertEqual(fake.shape, [2, 1, 28, 28])
        XCTAssert(fake.array.allSatisfy { abs($0) <= 1 }, "tanh output")
        let logits = d.forward(fake, training: true)
        XCTAssertEqual(logits.shape, [2, 1])

        // Generator step: D frozen (input gradient only), G gets parameter gradients.
        let dLogits = Tensor(shape: [0])
        let loss = BinaryCrossEntropy.fromLogits(logits, target: 1, grad: dLogits)
        XCTAssert(loss.isFinite)
        d.zeroGradients(); g.zeroGradients()
        let dFake = d.backward(dLogits, needs: .input)
        XCTAssertEqual(dFake.shape, [2, 1, 28, 28])
        g.backward(dFake, needs: .parameters)
        XCTAssert(
            d.trainableParameters.allSatisfy { $0.grad.array.allSatisfy { $0 == 0 } }, "frozen D accumulated grads")
        for p in g.trainableParameters {
            let grad = p.grad.array
            XCTAssert(grad.allSatisfy(\.isFinite), "non-finite gradient in G")
            XCTAssert(grad.contains { $0 != 0 }, "G parameter with no gradient")
        }
    }
}
