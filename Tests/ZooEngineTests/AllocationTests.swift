import XCTest

@testable import ZooEngine

/// A steady-state training step reuses every layer-owned buffer: the second forward/backward
/// at a fixed shape must hand back the same memory as the first.
final class AllocationTests: XCTestCase {
    private func checkStable(_ layer: Layer, input: Tensor, file: StaticString = #filePath, line: UInt = #line) {
        let dy = randomTensor(layer.forward(input, training: true).shape, seed: 5)
        _ = layer.backward(dy, needs: .all)  // warm-up

        let y1 = layer.forward(input, training: true).data
        let dx1 = layer.backward(dy, needs: .all).data
        let y2 = layer.forward(input, training: true).data
        let dx2 = layer.backward(dy, needs: .all).data
        XCTAssertEqual(y1, y2, "\(type(of: layer)) output reallocated", file: file, line: line)
        XCTAssertEqual(dx1, dx2, "\(type(of: layer)) input gradient reallocated", file: file, line: line)

        // A smaller batch fits the existing buffers, and going back needs no new ones either.
        let half = randomTensor([1] + input.shape.dropFirst(), seed: 6)
        _ = layer.backward(randomTensor(layer.forward(half, training: true).shape, seed: 7), needs: .all)
        XCTAssertEqual(
            layer.forward(input, training: true).data, y1, "\(type(of: layer)) after a smaller batch", file: file,
            line: line)
        XCTAssertEqual(layer.backward(dy, needs: .all).data, dx1, file: file, line: line)
    }

    func testDense() {
        checkStable(Dense(inputs: 6, outputs: 4, rng: RandomSource(seed: 1)), input: randomTensor([3, 6], seed: 2))
    }

    func testConv2D() {
        checkStable(
            Conv2D(inChannels: 2, outChannels: 3, kernel: 5, stride: 2, rng: RandomSource(seed: 3)),
            input: randomTensor([2, 2, 8, 8], seed: 4))
    }

    func testConv2DTranspose() {
        checkStable(
            Conv2DTranspose(inChannels: 3, outChannels: 2, kernel: 5, stride: 2, rng: RandomSource(seed: 5)),
            input: randomTensor([2, 3, 4, 4], seed: 6))
    }

    func testBatchNorm() {
        checkStable(BatchNorm(features: 3), input: randomTensor([2, 3, 4, 4], seed: 7))
        checkStable(BatchNorm(features: 4), input: randomTensor([3, 4], seed: 8))
    }

    func testActivations() {
        let layers: [Layer] = [
            LeakyReLU(alpha: 0.3), ReLU(), Tanh(), Sigmoid(), Dropout(rate: 0.3, rng: RandomSource(seed: 9)),
        ]
        for layer in layers { checkStable(layer, input: randomTensor([2, 3, 2, 2], seed: 10)) }
    }
}
