import CConvKernels
import XCTest

@testable import ZooEngine

/// The stride-2 5×5 Winograd path (F(4×4, 3×3) over the big image's phases) of Conv2D and
/// Conv2DTranspose, against the direct loops in `Reference` at every kernel level this CPU
/// has, against the layers' own column paths at the DCGAN's sizes, and by finite differences.
final class WinogradStride2Tests: XCTestCase {
    /// Big images with even and odd sides (so both paddings and ragged phases), sides that are
    /// not multiples of the tile, channel counts that are not multiples of the 16-wide filter
    /// block, with and without bias, and chunks of one image.
    func testConv2DMatchesReference() {
        forEachWinogradCase(sizes: [(14, 14), (28, 28), (7, 7), (5, 9), (1, 3), (2, 2)]) {
            h, w, useBias, oneImageChunks, tag in
            let s = Reference.ConvShape(n: 3, c: 3, h: h, w: w, outChannels: 17, k: 5, stride: 2)
            check(s, transposed: false, bias: useBias, oneImageChunks: oneImageChunks, tag: tag)
        }
    }

    func testConv2DTransposeMatchesReference() {
        forEachWinogradCase(sizes: [(7, 7), (14, 14), (4, 4), (3, 5), (1, 1)]) { h, w, useBias, oneImageChunks, tag in
            let s = Reference.ConvShape(n: 3, c: 17, h: h, w: w, outChannels: 3, k: 5, stride: 2)
            check(s, transposed: true, bias: useBias, oneImageChunks: oneImageChunks, tag: tag)
        }
    }

    /// The DCGAN's D conv2 (64 → 128, 14×14 → 7×7) and G deconv2 (128 → 64, 7×7 → 14×14) at
    /// a batch where their own thresholds pick Winograd, in chunks of 8 images (the weight
    /// gradient sums over chunks), against the same layers on columns.
    func testDCGANLayersMatchColumns() {
        let n = 32
        let conv = Conv2D(inChannels: 64, outChannels: 128, kernel: 5, stride: 2, rng: RandomSource(seed: 41))
        let convColumns = Conv2D(inChannels: 64, outChannels: 128, kernel: 5, stride: 2, rng: RandomSource(seed: 41))
        randomizeBias(conv.bias, seed: 42)
        convColumns.bias!.value.copy(from: conv.bias!.value)
        convColumns.allowsWinograd = false
        conv.winograd.chunkFloats = 36 * 4 * 256 * 8
        XCTAssertTrue(conv.usesWinograd(batch: n))
        XCTAssertFalse(convColumns.usesWinograd(batch: n))
        compare(conv, convColumns, input: randomTensor([n, 64, 14, 14], seed: 43), what: "D conv2")

        let deconv = Conv2DTranspose(
            inChannels: 128, outChannels: 64, kernel: 5, stride: 2, rng: RandomSource(seed: 44))
        let deconvColumns = Conv2DTranspose(
            inChannels: 128, outChannels: 64, kernel: 5, stride: 2, rng: RandomSource(seed: 44))
        randomizeBias(deconv.bias, seed: 45)
        deconvColumns.bias!.value.copy(from: deconv.bias!.value)
        deconvColumns.allowsWinograd = false
        deconv.winogradStride2.chunkFloats = 36 * 4 * 256 * 8
        XCTAssertTrue(deconv.usesWinograd(batch: n))
        XCTAssertFalse(deconvColumns.usesWinograd(batch: n))
        compare(deconv, deconvColumns, input: randomTensor([n, 128, 7, 7], seed: 46), what: "G deconv2")
    }

    /// Conv2D keeps its filter transforms while the weights stay the same (D's conv2 runs a dozen
    /// passes a step): the layers must follow weights changed in place, and a new input.
    func testCachedTransformsFollowChanges() {
        for (transposed, xShape) in [(false, [2, 3, 9, 8]), (true, [2, 5, 4, 4])] {
            let (c, o) = transposed ? (5, 3) : (3, 5)
            let layer = winogradLayer(transposed: transposed, in: c, out: o, seed: 51)
            let kernel = layer.parameters[0]
            let x1 = randomTensor(xShape, seed: 53), x2 = randomTensor(xShape, seed: 54)
            _ = layer.forward(x1, training: true)
            for i in 0..<kernel.value.count { kernel.value.data[i] *= -0.5 }
            let y = layer.forward(x2, training: true).array
            let dy = randomTensor(layer.forward(x2, training: true).shape, seed: 55)
            kernel.grad.fill(0)
            let dx = layer.backward(dy, needs: .all).array
            // A fresh layer with the changed weights, never run before.
            let fresh = winogradLayer(transposed: transposed, in: c, out: o, seed: 1)
            fresh.parameters[0].value.copy(from: kernel.value)
            fresh.parameters[1].value.copy(from: layer.parameters[1].value)
            XCTAssertEqual(
                fresh.forward(x2, training: true).array, y, "transposed=\(transposed) forward after new weights")
            XCTAssertEqual(fresh.backward(dy, needs: .all).array, dx, "transposed=\(transposed) dx after new weights")
            XCTAssertEqual(
                fresh.parameters[0].grad.array, kernel.grad.array, "transposed=\(transposed) dW after a new input")
        }
    }

    /// Small batches, thin layers, other strides and kernel sizes keep the column path.
    func testAppliesOnlyWhereItCan() {
        let rng = RandomSource(seed: 1)
        let conv = Conv2D(inChannels: 64, outChannels: 128, kernel: 5, stride: 2, rng: rng)
        XCTAssertTrue(conv.usesWinograd(batch: conv.winogradMinimumBatch))
        XCTAssertFalse(conv.usesWinograd(batch: conv.winogradMinimumBatch - 1))
        XCTAssertFalse(Conv2D(inChannels: 1, outChannels: 64, kernel: 5, stride: 2, rng: rng).usesWinograd(batch: 256))
        XCTAssertFalse(
            Conv2D(inChannels: 64, outChannels: 128, kernel: 5, stride: 1, rng: rng).usesWinograd(batch: 256))
        XCTAssertFalse(
            Conv2D(inChannels: 64, outChannels: 128, kernel: 3, stride: 2, rng: rng).usesWinograd(batch: 256))
        XCTAssertTrue(
            Conv2DTranspose(inChannels: 128, outChannels: 64, kernel: 5, stride: 2, rng: rng).usesWinograd(batch: 256))
        XCTAssertFalse(
            Conv2DTranspose(inChannels: 64, outChannels: 1, kernel: 5, stride: 2, rng: rng).usesWinograd(batch: 256))
        XCTAssertFalse(
            Conv2DTranspose(inChannels: 128, outChannels: 64, kernel: 3, stride: 2, rng: rng).usesWinograd(batch: 256))
    }

    /// Finite differences through the Winograd forward, input gradient and weight gradient.
    /// Both layers are linear in x, so a large step has no truncation error and keeps the
    /// transforms' rounding out of the difference quotient.
    func testGradient() {
        for useBias in [true, false] {
            let conv = winogradLayer(transposed: false, in: 2, out: 3, bias: useBias, seed: 7)
            randomizeBias(conv.parameters.count > 1 ? conv.parameters[1] : nil, seed: 8)
            gradientCheck(layer: conv, input: randomTensor([1, 2, 9, 6], seed: 9), eps: 0.5)
            let deconv = winogradLayer(transposed: true, in: 3, out: 2, bias: useBias, seed: 10)
            randomizeBias(deconv.parameters.count > 1 ? deconv.parameters[1] : nil, seed: 11)
            gradientCheck(layer: deconv, input: randomTensor([1, 3, 4, 3], seed: 12), eps: 0.5)
        }
    }

    /// F(4×4, 3×3)'s transforms scale by up to 5 and back: float32 leaves an error on the scale
    /// of the largest output rather than of each one.
    static let tolerance: Float = 2e-5

    /// A stride-2 5×5 Conv2D (or Conv2DTranspose) that takes the Winograd path at any batch and
    /// channel count.
    private func winogradLayer(
        transposed: Bool, in c: Int, out o: Int, bias: Bool = true, seed: UInt64,
        oneImageChunks: Bool = false
    ) -> Layer {
        if transposed {
            let layer = Conv2DTranspose(
                inChannels: c, outChannels: o, kernel: 5, stride: 2, bias: bias, rng: RandomSource(seed: seed))
            layer.winogradMinimumBatch = 1
            layer.winogradMinimumChannels = 1
            if oneImageChunks { layer.winogradStride2.chunkFloats = 1 }
            XCTAssertTrue(layer.usesWinograd(batch: 1))
            return layer
        }
        let layer = Conv2D(
            inChannels: c, outChannels: o, kernel: 5, stride: 2, bias: bias, rng: RandomSource(seed: seed))
        layer.winogradMinimumBatch = 1
        layer.winogradMinimumChannels = 1
        if oneImageChunks { layer.winograd.chunkFloats = 1 }
        XCTAssertTrue(layer.usesWinograd(batch: 1))
        return layer
    }

    private func check(
        _ s: Reference.ConvShape, transposed: Bool, bias useBias: Bool, oneImageChunks: Bool, tag: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let layer = winogradLayer(
            transposed: transposed, in: s.c, out: s.outChannels, bias: useBias, seed: 9,
            oneImageChunks: oneImageChunks)
        let bias = layer.parameters.count > 1 ? layer.parameters[1] : nil
        randomizeBias(bias, seed: 10)
        let x = randomTensor([s.n, s.c, s.h, s.w], seed: 11)
        let kernel = layer.parameters[0].value.array, biasValues = bias?.value.array
        let ref =
            transposed
            ? Reference.conv2dTransposeForward(x: x.array, shape: s, kernel: kernel, bias: biasValues)
            : Reference.conv2dForward(x: x.array, shape: s, kernel: kernel, bias: biasValues)
        let dy = randomTensor([s.n, s.outChannels, ref.outHeight, ref.outWidth], seed: 12)
        let back =
            transposed
            ? Reference.conv2dTransposeBackward(x: x.array, dy: dy.array, shape: s, kernel: kernel)
            : Reference.conv2dBackward(x: x.array, dy: dy.array, shape: s, kernel: kernel)
        checkLayer(layer, x: x, y: ref.y, yShape: dy.shape, dy: dy, back: back, tag: tag, file: file, line: line)
    }

    /// The forward, dx, dW and db against the reference's; dx alone is the same; dW alone adds.
    private func checkLayer(
        _ layer: Layer, x: Tensor, y expected: [Float], yShape: [Int], dy: Tensor,
        back: (dx: [Float], dW: [Float], db: [Float]), tag: String, file: StaticString, line: UInt
    ) {
        let kernel = layer.parameters[0], bias = layer.parameters.count > 1 ? layer.parameters[1] : nil
        let y = layer.forward(x, training: true)
        XCTAssertEqual(y.shape, yShape, tag, file: file, line: line)
        assertCloseToScale(y.array, expected, tolerance: Self.tolerance, "forward \(tag)", file: file, line: line)
        let dx = layer.backward(dy, needs: .all).array
        assertCloseToScale(dx, back.dx, tolerance: Self.tolerance, "dx \(tag)", file: file, line: line)
        assertCloseToScale(kernel.grad.array, back.dW, tolerance: Self.tolerance, "dW \(tag)", file: file, line: line)
        if let bias { assertClose(bias.grad.array, back.db, "db \(tag)", file: file, line: line) }
        XCTAssertEqual(layer.backward(dy, needs: .input).array, dx, "dx alone \(tag)", file: file, line: line)
        let dWOnce = kernel.grad.array
        _ = layer.backward(dy, needs: .parameters)
        XCTAssertEqual(
            kernel.grad.array, dWOnce.map { 2 * $0 }, "dW twice is twice once \(tag)", file: file, line: line)
    }

    /// Winograd layer against column layer with the same weights: forward, dx, dW, db.
    private func compare(
        _ winograd: Layer, _ columns: Layer, input x: Tensor, what: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let y = winograd.forward(x, training: true)
        assertCloseToScale(
            y.array, columns.forward(x, training: true).array, tolerance: Self.dcganTolerance,
            "\(what) forward", file: file, line: line)
        let dy = randomTensor(y.shape, seed: 47)
        assertCloseToScale(
            winograd.backward(dy, needs: .all).array, columns.backward(dy, needs: .all).array,
            tolerance: Self.dcganTolerance, "\(what) dx", file: file, line: line)
        assertCloseToScale(
            winograd.parameters[0].grad.array, columns.parameters[0].grad.array,
            tolerance: Self.dcganTolerance, "\(what) dW", file: file, line: line)
        assertClose(
            winograd.parameters[1].grad.array, columns.parameters[1].grad.array, "\(what) db",
            file: file, line: line)
    }

    /// 256- and 512-long sums at the DCGAN's sizes.
    static let dcganTolerance: Float = 3e-5
}
