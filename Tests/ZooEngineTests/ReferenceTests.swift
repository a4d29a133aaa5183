import XCTest

@testable import ZooEngine

/// The GEMM/im2col kernels against the direct loops in `Reference`: forward, dx and
/// parameter gradients, at shapes that exercise uneven `same` padding.
final class ReferenceTests: XCTestCase {
    func testDenseMatchesReference() {
        for useBias in [true, false] {
            let (n, inputs, outputs) = (3, 7, 5)
            let layer = Dense(inputs: inputs, outputs: outputs, bias: useBias, rng: RandomSource(seed: 1))
            randomizeBias(layer.bias, seed: 2)
            let x = randomTensor([n, inputs], seed: 3)
            let y = layer.forward(x, training: true)
            XCTAssertEqual(y.shape, [n, outputs])
            let expected = Reference.denseForward(
                x: x.array, n: n, inputs: inputs, outputs: outputs,
                kernel: layer.kernel.value.array, bias: layer.bias?.value.array)
            assertClose(y.array, expected, "dense forward bias=\(useBias)")

            let dy = randomTensor([n, outputs], seed: 4)
            let dx = layer.backward(dy, needs: .all).array
            let ref = Reference.denseBackward(
                x: x.array, dy: dy.array, n: n, inputs: inputs, outputs: outputs,
                kernel: layer.kernel.value.array)
            assertClose(dx, ref.dx, "dense dx bias=\(useBias)")
            assertClose(layer.kernel.grad.array, ref.dW, "dense dW bias=\(useBias)")
            if let bias = layer.bias { assertClose(bias.grad.array, ref.db, "dense db") }
        }
    }

    /// (in size, kernel, stride, expected out size)
    private let convCases: [(size: Int, k: Int, stride: Int, out: Int)] = [
        (28, 5, 2, 14), (5, 3, 1, 5), (7, 5, 2, 4), (6, 3, 2, 3),
    ]

    func testConv2DMatchesReference() {
        for c in convCases {
            for useBias in [true, false] {
                let s = Reference.ConvShape(n: 2, c: 2, h: c.size, w: c.size, outChannels: 3, k: c.k, stride: c.stride)
                checkConv2D(s, expectedOut: c.out, bias: useBias, tag: "\(c) bias=\(useBias)")
            }
        }
        // Non-square input: the two padding axes are independent.
        let s = Reference.ConvShape(n: 1, c: 1, h: 7, w: 4, outChannels: 2, k: 3, stride: 2)
        checkConv2D(s, expectedOut: nil, bias: true, tag: "7x4")
    }

    /// Column chunks of 1 and 2 samples over a batch of 3 (one uneven chunk) must give the
    /// whole-batch result, including a second backward over the same forward (GANStep does that).
    func testChunkedColumnsMatchReference() {
        for chunkSamples in [1, 2] {
            for useBias in [true, false] {
                let s = Reference.ConvShape(n: 3, c: 2, h: 7, w: 7, outChannels: 3, k: 5, stride: 2)
                let patchTimesPositions = s.c * s.k * s.k * 16
                checkConv2D(
                    s, expectedOut: 4, bias: useBias, tag: "chunk \(chunkSamples)",
                    columnBudget: chunkSamples * patchTimesPositions)
                let t = Reference.ConvShape(n: 3, c: 2, h: 5, w: 5, outChannels: 3, k: 5, stride: 2)
                checkTranspose(
                    t, expectedOut: 10, bias: useBias, tag: "chunk \(chunkSamples)",
                    columnBudget: chunkSamples * t.outChannels * t.k * t.k * 25)
            }
        }
    }

    /// Inference builds transposed-convolution columns in smaller chunks than training; the
    /// output must not depend on that, and a backward after an inference forward must use the
    /// buffers that forward sized.
    func testTransposeInferenceChunksMatchTraining() {
        let layer = Conv2DTranspose(
            inChannels: 16, outChannels: 16, kernel: 5, stride: 2, bias: true, rng: RandomSource(seed: 3))
        randomizeBias(layer.bias, seed: 4)
        // 400·49 column floats a sample: inference chunks hold 53 samples, training chunks all 80.
        let x = randomTensor([80, 16, 7, 7], seed: 5)
        let trained = layer.forward(x, training: true).array
        let inferred = layer.forward(x, training: false).array
        // Not bit-equal: the two chunkings give GEMM blocks of other sizes, whose kernels round differently.
        assertClose(inferred, trained, tolerance: 2e-5, "inference vs training forward")
        let dy = randomTensor([80, 16, 14, 14], seed: 6)
        let afterInference = layer.backward(dy, needs: .input).array
        _ = layer.forward(x, training: true)
        // The backward's GEMMs take the forward's chunking too (53 + 27 samples, or all 80), so
        // the same rounding caveat holds: OpenBLAS's Zen kernels gave 1.4e-5 here, where SkylakeX
        // stayed within 1e-6. A backward on wrongly sized buffers is off by far more.
        assertClose(
            afterInference, layer.backward(dy, needs: .input).array, tolerance: 2e-5, "backward after either forward")
    }

    private func checkConv2D(
        _ s: Reference.ConvShape, expectedOut: Int?, bias useBias: Bool, tag: String,
        columnBudget: Int = ConvGeometry.defaultColumnBudget,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let layer = Conv2D(
            inChannels: s.c, outChannels: s.outChannels, kernel: s.k, stride: s.stride, bias: useBias,
            rng: RandomSource(seed: 5))
        layer.columnBudget = columnBudget
        randomizeBias(layer.bias, seed: 6)
        let x = randomTensor([s.n, s.c, s.h, s.w], seed: 7)
        let y = layer.forward(x, training: true)
        let ref = Reference.conv2dForward(
            x: x.array, shape: s, kernel: layer.kernel.value.array, bias: layer.bias?.value.array)
        XCTAssertEqual(y.shape, [s.n, s.outChannels, ref.outHeight, ref.outWidth], tag, file: file, line: line)
        XCTAssertEqual(
            ref.outHeight, (s.h + s.stride - 1) / s.stride, "Keras: ceil(in / stride)", file: file, line: line)
        if let expectedOut { XCTAssertEqual(y.shape[2], expectedOut, tag, file: file, line: line) }
        assertClose(y.array, ref.y, "conv2d forward \(tag)", file: file, line: line)

        let dy = randomTensor(y.shape, seed: 8)
        let dx = layer.backward(dy, needs: .all).array
        let back = Reference.conv2dBackward(x: x.array, dy: dy.array, shape: s, kernel: layer.kernel.value.array)
        assertClose(dx, back.dx, "conv2d dx \(tag)", file: file, line: line)
        assertClose(layer.kernel.grad.array, back.dW, "conv2d dW \(tag)", file: file, line: line)
        if let bias = layer.bias { assertClose(bias.grad.array, back.db, "conv2d db \(tag)", file: file, line: line) }
        // A second parameter backward over the same forward rebuilds chunked columns from
        // the kept input: the gradient doubles.
        _ = layer.backward(dy, needs: .parameters)
        assertClose(layer.kernel.grad.array, back.dW.map { 2 * $0 }, "conv2d 2nd dW \(tag)", file: file, line: line)
    }

    private let transposeCases: [(size: Int, k: Int, stride: Int, out: Int)] = [
        (7, 5, 1, 7), (7, 5, 2, 14), (5, 5, 2, 10), (4, 3, 2, 8), (3, 4, 2, 6),
    ]

    func testConv2DTransposeMatchesReference() {
        for c in transposeCases {
            for useBias in [true, false] {
                let s = Reference.ConvShape(n: 2, c: 3, h: c.size, w: c.size, outChannels: 2, k: c.k, stride: c.stride)
                checkTranspose(s, expectedOut: c.out, bias: useBias, tag: "\(c) bias=\(useBias)")
                // One output channel per forward block, 5 channels: blocks shared unevenly by the workers.
                let five = Reference.ConvShape(
                    n: 2, c: 3, h: c.size, w: c.size, outChannels: 5, k: c.k, stride: c.stride)
                checkTranspose(
                    five, expectedOut: c.out, bias: useBias, tag: "\(c) bias=\(useBias) blocks", channelBlockFloats: 1)
            }
        }
        let s = Reference.ConvShape(n: 1, c: 2, h: 3, w: 5, outChannels: 2, k: 5, stride: 2)
        checkTranspose(s, expectedOut: nil, bias: true, tag: "3x5")
    }

    private func checkTranspose(
        _ s: Reference.ConvShape, expectedOut: Int?, bias useBias: Bool, tag: String,
        columnBudget: Int = ConvGeometry.defaultColumnBudget, channelBlockFloats: Int? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let layer = Conv2DTranspose(
            inChannels: s.c, outChannels: s.outChannels, kernel: s.k, stride: s.stride,
            bias: useBias, rng: RandomSource(seed: 9))
        layer.columnBudget = columnBudget
        if let channelBlockFloats { layer.channelBlockFloats = channelBlockFloats; layer.minimumBlockRows = 1 }
        randomizeBias(layer.bias, seed: 10)
        let x = randomTensor([s.n, s.c, s.h, s.w], seed: 11)
        let y = layer.forward(x, training: true)
        let ref = Reference.conv2dTransposeForward(
            x: x.array, shape: s, kernel: layer.kernel.value.array,
            bias: layer.bias?.value.array)
        XCTAssertEqual(
            y.shape, [s.n, s.outChannels, s.h * s.stride, s.w * s.stride], "Keras: in · stride", file: file, line: line)
        XCTAssertEqual(y.shape, [s.n, s.outChannels, ref.outHeight, ref.outWidth], tag, file: file, line: line)
        if let expectedOut { XCTAssertEqual(y.shape[2], expectedOut, tag, file: file, line: line) }
        assertClose(y.array, ref.y, "conv2dT forward \(tag)", file: file, line: line)

        let dy = randomTensor(y.shape, seed: 12)
        let dx = layer.backward(dy, needs: .all).array
        let back = Reference.conv2dTransposeBackward(
            x: x.array, dy: dy.array, shape: s, kernel: layer.kernel.value.array)
        assertClose(dx, back.dx, "conv2dT dx \(tag)", file: file, line: line)
        assertClose(layer.kernel.grad.array, back.dW, "conv2dT dW \(tag)", file: file, line: line)
        if let bias = layer.bias { assertClose(bias.grad.array, back.db, "conv2dT db \(tag)", file: file, line: line) }
        // A second parameter backward rebuilds chunked inputs from the kept x: dW doubles.
        _ = layer.backward(dy, needs: .parameters)
        assertClose(layer.kernel.grad.array, back.dW.map { 2 * $0 }, "conv2dT 2nd dW \(tag)", file: file, line: line)
    }

    /// The transpose is the adjoint of the conv it is built from: <Conv(u), v> = <u, ConvT(v)>
    /// when both share a kernel. Ties the reference transpose to the reference conv.
    func testReferenceTransposeIsAdjointOfConv() {
        for (size, k, stride) in [(14, 5, 2), (10, 5, 2), (7, 5, 1), (8, 3, 2)] {
            let small = size / stride
            let conv = Reference.ConvShape(n: 1, c: 2, h: size, w: size, outChannels: 3, k: k, stride: stride)
            let transpose = Reference.ConvShape(n: 1, c: 3, h: small, w: small, outChannels: 2, k: k, stride: stride)
            // Conv kernel [O=3, C=2, k, k] is, read as a transpose kernel, [C=3, O=2, k, k]: the same memory.
            let kernel = randomTensor([3, 2, k, k], seed: 13).array
            let u = randomTensor([1, 2, size, size], seed: 14).array
            let v = randomTensor([1, 3, small, small], seed: 15).array
            let cu = Reference.conv2dForward(x: u, shape: conv, kernel: kernel, bias: nil).y
            let tv = Reference.conv2dTransposeForward(x: v, shape: transpose, kernel: kernel, bias: nil).y
            let lhs = zip(cu, v).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let rhs = zip(u, tv).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            XCTAssertEqual(lhs, rhs, accuracy: 1e-4 * max(abs(lhs), 1), "size \(size) k \(k) s \(stride)")
        }
    }
}
