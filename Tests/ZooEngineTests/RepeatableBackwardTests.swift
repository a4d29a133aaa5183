import XCTest

@testable import ZooEngine

/// The GAN step runs backward twice over one forward (discriminator parameters, then the
/// input gradient for the generator), so a backward must not consume its caches.
final class RepeatableBackwardTests: XCTestCase {
    private func checkRepeatable(_ layer: Layer, input: Tensor, file: StaticString = #filePath, line: UInt = #line) {
        let y = layer.forward(input, training: true)
        let dy = randomTensor(y.shape, seed: 77)
        let trainable = layer.parameters.filter(\.trainable)

        for p in trainable { p.grad.fill(0) }
        _ = layer.backward(dy, needs: .parameters)
        let splitDx = layer.backward(dy, needs: .input).array
        let splitGrads = trainable.map { $0.grad.array }

        for p in trainable { p.grad.fill(0) }
        let allDx = layer.backward(dy, needs: .all).array
        XCTAssertEqual(splitDx, allDx, "\(type(of: layer)) dx", file: file, line: line)
        for (p, split) in zip(trainable, splitGrads) {
            XCTAssertEqual(p.grad.array, split, "\(type(of: layer)) \(p.name)", file: file, line: line)
        }
        // And the same again in the other order, from the same forward.
        let againDx = layer.backward(dy, needs: .input).array
        XCTAssertEqual(againDx, allDx, "\(type(of: layer)) third backward", file: file, line: line)
    }

    func testDense() {
        checkRepeatable(Dense(inputs: 6, outputs: 4, rng: RandomSource(seed: 1)), input: randomTensor([3, 6], seed: 2))
    }

    func testConv2D() {
        checkRepeatable(
            Conv2D(inChannels: 2, outChannels: 3, kernel: 5, stride: 2, rng: RandomSource(seed: 3)),
            input: randomTensor([2, 2, 7, 7], seed: 4))
    }

    func testConv2DTranspose() {
        checkRepeatable(
            Conv2DTranspose(inChannels: 3, outChannels: 2, kernel: 5, stride: 2, rng: RandomSource(seed: 5)),
            input: randomTensor([2, 3, 5, 5], seed: 6))
    }

    func testDropout() {
        checkRepeatable(Dropout(rate: 0.3, rng: RandomSource(seed: 7)), input: randomTensor([4, 8], seed: 8))
    }

    func testLeakyReLU() {
        checkRepeatable(LeakyReLU(alpha: 0.3), input: randomTensor([2, 3, 2, 2], seed: 9))
    }

    func testBatchNorm() {
        checkRepeatable(BatchNorm(features: 3), input: randomTensor([2, 3, 4, 4], seed: 10))
        checkRepeatable(BatchNorm(features: 5), input: randomTensor([4, 5], seed: 11))
    }
}
