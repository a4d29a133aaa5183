import CConvKernels
import XCTest

@testable import ZooEngine

/// Conv2DTranspose's Winograd F(4×4, 5×5) path (stride 1, 5×5) against the direct loops in
/// `Reference` and against the layer's own column path, in its plain and its AVX2 build.
final class WinogradTests: XCTestCase {
    /// Images whose sides are not multiples of the 4×4 tile, channel counts that are not
    /// multiples of the 16-wide filter block, and chunks of one image.
    func testMatchesReference() {
        forEachWinogradCase(sizes: [(7, 7), (4, 4), (5, 9), (1, 3)]) { h, w, useBias, oneImageChunks, tag in
            let s = Reference.ConvShape(n: 3, c: 3, h: h, w: w, outChannels: 17, k: 5, stride: 1)
            check(s, bias: useBias, oneImageChunks: oneImageChunks, tag: tag)
        }
    }

    /// The DCGAN's deconv1 (256 → 128 channels, 7×7): float32 Winograd agrees with the
    /// column path to a few units in the fifth digit of the output's scale.
    func testDCGANLayerMatchesColumns() {
        let rng = RandomSource(seed: 21)
        let winograd = Conv2DTranspose(inChannels: 256, outChannels: 128, kernel: 5, stride: 1, bias: false, rng: rng)
        let columns = Conv2DTranspose(inChannels: 256, outChannels: 128, kernel: 5, stride: 1, bias: false, rng: rng)
        columns.kernel.value.copy(from: winograd.kernel.value)
        winograd.winogradMinimumBatch = 1
        columns.allowsWinograd = false
        XCTAssertTrue(winograd.usesWinograd(batch: 2))
        XCTAssertFalse(columns.usesWinograd(batch: 2))
        let x = randomTensor([2, 256, 7, 7], seed: 22)
        assertCloseToScale(
            winograd.forward(x, training: true).array, columns.forward(x, training: true).array,
            tolerance: Self.dcganTolerance, "deconv1 forward")
        let dy = randomTensor([2, 128, 7, 7], seed: 23)
        assertCloseToScale(
            winograd.backward(dy, needs: .all).array, columns.backward(dy, needs: .all).array,
            tolerance: Self.dcganTolerance, "deconv1 dx")
        assertCloseToScale(
            winograd.kernel.grad.array, columns.kernel.grad.array, tolerance: Self.dcganTolerance, "deconv1 dW")
    }

    /// The DCGAN's deconv1 weight gradient at a batch where the layer's own threshold picks
    /// Winograd (32 images, several chunks of them), against the column path's, which the
    /// same layer still runs with `winogradWeightGradient` off; and against a layer that runs
    /// everything on columns. Both add into kernel.grad.
    func testDCGANWeightGradientMatchesColumns() {
        let rng = RandomSource(seed: 31)
        let layer = Conv2DTranspose(inChannels: 256, outChannels: 128, kernel: 5, stride: 1, bias: true, rng: rng)
        let columns = Conv2DTranspose(inChannels: 256, outChannels: 128, kernel: 5, stride: 1, bias: true, rng: rng)
        columns.kernel.value.copy(from: layer.kernel.value)
        columns.allowsWinograd = false
        layer.winograd.chunkFloats = 1 << 19  // 8 images a chunk: the sum over chunks
        let n = 32
        XCTAssertTrue(layer.usesWinograd(batch: n))
        let x = randomTensor([n, 256, 7, 7], seed: 32)
        let dy = randomTensor([n, 128, 7, 7], seed: 33)
        _ = layer.forward(x, training: true)
        _ = columns.forward(x, training: true)
        _ = columns.backward(dy, needs: .parameters)
        let expected = columns.kernel.grad.array
        _ = layer.backward(dy, needs: .parameters)
        let winogradGrad = layer.kernel.grad.array
        assertCloseToScale(winogradGrad, expected, tolerance: Self.dcganTolerance, "deconv1 dW, batch \(n)")
        XCTAssertEqual(layer.bias!.grad.array, columns.bias!.grad.array, "deconv1 db")

        // The same layer's column path: the two agree, and each adds to what is there.
        layer.kernel.grad.fill(0)
        layer.winogradWeightGradient = false
        _ = layer.backward(dy, needs: .parameters)
        assertClose(layer.kernel.grad.array, expected, "deconv1 dW on the layer's column path")
        layer.winogradWeightGradient = true
        _ = layer.backward(dy, needs: .parameters)
        assertCloseToScale(
            layer.kernel.grad.array, zip(expected, winogradGrad).map { $0 + $1 },
            tolerance: Self.dcganTolerance, "deconv1 dW, columns then Winograd")
    }

    /// Batches below the minimum, other strides and kernel sizes keep the column path.
    func testAppliesOnlyWhereItCan() {
        let rng = RandomSource(seed: 1)
        let layer = Conv2DTranspose(inChannels: 2, outChannels: 2, kernel: 5, stride: 1, rng: rng)
        XCTAssertFalse(layer.usesWinograd(batch: layer.winogradMinimumBatch - 1))
        XCTAssertTrue(layer.usesWinograd(batch: layer.winogradMinimumBatch))
        XCTAssertFalse(
            Conv2DTranspose(inChannels: 2, outChannels: 2, kernel: 5, stride: 2, rng: rng).usesWinograd(batch: 256))
        XCTAssertFalse(
            Conv2DTranspose(inChannels: 2, outChannels: 2, kernel: 3, stride: 1, rng: rng).usesWinograd(batch: 256))
    }

    /// Finite differences through the Winograd forward, input gradient and weight gradient.
    func testGradient() {
        for useBias in [true, false] {
            let layer = Conv2DTranspose(
                inChannels: 2, outChannels: 3, kernel: 5, stride: 1, bias: useBias, rng: RandomSource(seed: 7))
            layer.winogradMinimumBatch = 1
            randomizeBias(layer.bias, seed: 8)
            XCTAssertTrue(layer.usesWinograd(batch: 1))
            // The layer is linear in x, so a large step has no truncation error, and it keeps
            // the transforms' rounding (~1e-5 of the outputs' scale) out of the difference quotient.
            gradientCheck(layer: layer, input: randomTensor([1, 2, 5, 6], seed: 9), eps: 0.5)
        }
    }

    /// Winograd's transforms scale values by up to 5.25 and 32/45 and back, so float32 leaves
    /// an error on the scale of the largest output rather than of each one.
    static let smallTolerance: Float = 2e-5
    static let dcganTolerance: Float = 3e-5

    private func check(
        _ s: Reference.ConvShape, bias useBias: Bool, oneImageChunks: Bool, tag: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let layer = Conv2DTranspose(
            inChannels: s.c, outChannels: s.outChannels, kernel: s.k, stride: s.stride,
            bias: useBias, rng: RandomSource(seed: 9))
        layer.winogradMinimumBatch = 1
        if oneImageChunks { layer.winograd.chunkFloats = 1 }
        XCTAssertTrue(layer.usesWinograd(batch: s.n), tag, file: file, line: line)
        randomizeBias(layer.bias, seed: 10)
        let x = randomTensor([s.n, s.c, s.h, s.w], seed: 11)
        let y = layer.forward(x, training: true)
        let ref = Reference.conv2dTransposeForward(
            x: x.array, shape: s, kernel: layer.kernel.value.array,
            bias: layer.bias?.value.array)
        XCTAssertEqual(y.shape, [s.n, s.outChannels, s.h, s.w], tag, file: file, line: line)
        assertCloseToScale(y.array, ref.y, tolerance: Self.smallTolerance, "forward \(tag)", file: file, line: line)

        let dy = randomTensor(y.shape, seed: 12)
        let dx = layer.backward(dy, needs: .all).array
        let back = Reference.conv2dTransposeBackward(
            x: x.array, dy: dy.array, shape: s, kernel: layer.kernel.value.array)
        assertCloseToScale(dx, back.dx, tolerance: Self.smallTolerance, "dx \(tag)", file: file, line: line)
        assertCloseToScale(
            layer.kernel.grad.array, back.dW, tolerance: Self.smallTolerance, "dW \(tag)", file: file, line: line)
        if let bias = layer.bias { assertClose(bias.grad.array, back.db, "db \(tag)", file: file, line: line) }
        // The input gradient alone (a generator's first layer never needs it, a D's inner ones do).
        let dxOnly = layer.backward(dy, needs: .input).array
        XCTAssertEqual(dxOnly, dx, "dx alone \(tag)", file: file, line: line)
        // The weight gradient alone, added to the one already there.
        let dWOnce = layer.kernel.grad.array
        _ = layer.backward(dy, needs: .parameters)
        assertCloseToScale(
            layer.kernel.grad.array, back.dW.map { 2 * $0 }, tolerance: Self.smallTolerance,
            "dW added twice \(tag)", file: file, line: line)
        XCTAssertEqual(
            layer.kernel.grad.array, dWOnce.map { 2 * $0 }, "dW twice is twice once \(tag)", file: file, line: line)
    }
}
