import CConvKernels
import XCTest

@testable import ZooEngine

/// The C elementwise kernels (elementwise.c: AVX-512, AVX2 and baseline vector loops plus a
/// scalar tail) against their Swift references, bit for bit, at every level this CPU runs.
/// Lengths cover whole vectors only, a tail only, and both.
final class ElementwiseKernelTests: XCTestCase {
    static let lengths = [5, 16, 16 * 7 + 9, 1003]

    func atEveryLevel(_ body: (Int32) -> Void) { atEveryKernelLevel(body) }

    private func bits(_ t: Tensor) -> [UInt32] { t.array.map(\.bitPattern) }

    /// Activation-like inputs: normal values plus exact zeros of both signs, values inside
    /// fastTanh's linear band and beyond its clamp.
    private func inputs(_ n: Int, seed: UInt64) -> Tensor {
        let t = randomTensor([n], seed: seed, std: 3)
        let specials: [Float] = [0, -0.0, 0.0003, -0.0003, 8, -8, 40, -40, 7.90531110763549805, 1e-30]
        for (i, v) in specials.enumerated() where i * 7 < n { t[i * 7] = v }
        return t
    }

    func testAdamEqualsReference() {
        atEveryLevel { level in
            for n in Self.lengths {
                let w = randomTensor([n], seed: 1), g = randomTensor([n], seed: 2, std: 0.1)
                let m = randomTensor([n], seed: 3, std: 0.01), v = randomTensor([n], seed: 4, std: 0.01)
                for i in 0..<n { v[i] = abs(v[i]) }
                let (w2, g2, m2, v2) = (w.copy(), g.copy(), m.copy(), v.copy())
                zoo_adam_update(w.data, g.data, m.data, v.data, 0.9, 0.999, 1e-3, 1e-7, n)
                adamUpdate(
                    w: w2.data, g: g2.data, m: m2.data, v: v2.data, b1: 0.9, b2: 0.999, alpha: 1e-3, eps: 1e-7, 0..<n)
                for (name, c, swift) in [("w", w, w2), ("g", g, g2), ("m", m, m2), ("v", v, v2)] {
                    XCTAssertEqual(bits(c), bits(swift), "\(name), n \(n), level \(level)")
                }
                XCTAssertTrue(g.array.allSatisfy { $0 == 0 }, "gradient zeroed")
            }
        }
    }

    func testTanhEqualsFastTanh() {
        atEveryLevel { level in
            for n in Self.lengths {
                let x = inputs(n, seed: UInt64(n)), y = Tensor(shape: [n])
                zoo_tanh(x.data, y.data, n)
                XCTAssertEqual(bits(y), x.array.map { fastTanh($0).bitPattern }, "n \(n), level \(level)")
            }
        }
    }

    func testTanhBackwardEqualsFormula() {
        atEveryLevel { level in
            for n in Self.lengths {
                let y = randomTensor([n], seed: 5, std: 0.5), dy = randomTensor([n], seed: 6), dx = Tensor(shape: [n])
                zoo_tanh_backward(y.data, dy.data, dx.data, n)
                XCTAssertEqual(
                    bits(dx), (0..<n).map { (dy[$0] * (1 - y[$0] * y[$0])).bitPattern }, "n \(n), level \(level)")
            }
        }
    }

    func testLeakyEqualsReference() {
        atEveryLevel { level in
            for n in Self.lengths {
                for slope: Float in [0, 0.3] {
                    let x = inputs(n, seed: UInt64(n) + 10), d = randomTensor([n], seed: 7)
                    let forward = Tensor(shape: [n]), forwardRef = Tensor(shape: [n])
                    zoo_leaky(x.data, x.data, forward.data, slope, n)
                    leakyForward(x.data, forwardRef.data, slope: slope, 0..<n)
                    XCTAssertEqual(bits(forward), bits(forwardRef), "forward, slope \(slope), n \(n), level \(level)")
                    let backward = Tensor(shape: [n]), backwardRef = Tensor(shape: [n])
                    zoo_leaky(x.data, d.data, backward.data, slope, n)
                    leakyBackward(x.data, d.data, backwardRef.data, slope: slope, 0..<n)
                    XCTAssertEqual(
                        bits(backward), bits(backwardRef), "backward, slope \(slope), n \(n), level \(level)")
                }
            }
        }
    }
}

/// Dropout's mask from bulk draws and the C kernel against the draw-by-draw reference.
final class DropoutMaskTests: XCTestCase {
    func testFillWordsEqualsNext() {
        let a = RandomSource(seed: 42), b = RandomSource(seed: 42)
        var words = [UInt64](repeating: 0, count: 37)
        words.withUnsafeMutableBufferPointer { a.fill(words: $0.baseAddress!, count: 37) }
        XCTAssertEqual(words, (0..<37).map { _ in b.next() })
        XCTAssertEqual(a.state, b.state, "the state moves on by the words drawn")
    }

    /// Draws at, just below and just above the threshold, and at the ends of the range.
    func testKernelAtTheThreshold() {
        atEveryKernelLevel { level in
            for threshold in [0, 1, 19661, 65535, 65536] {
                let pattern = [threshold, threshold - 1, threshold + 1, 0, 65535].map { UInt16(clamping: $0) }
                let draws = (0..<53).map { pattern[$0 % pattern.count] }
                let x = randomTensor([53], seed: 3), mask = Tensor(shape: [53]), y = Tensor(shape: [53])
                zoo_dropout_mask(draws, Int32(threshold), 1.25, x.data, mask.data, y.data, 53)
                let expected = draws.map { Int($0) >= threshold ? Float(1.25) : 0 }
                XCTAssertEqual(mask.array, expected, "threshold \(threshold), level \(level)")
                XCTAssertEqual(y.array.map(\.bitPattern), zip(x.array, expected).map { ($0 * $1).bitPattern })
            }
        }
    }

    func testForwardMaskEqualsReferenceAtEveryLevel() {
        atEveryKernelLevel { level in
            for (count, rate) in [(5, Float(0.3)), (16 * 9 + 3, 0.5), (4003, 0.25), (64, 0.99999)] {
                let layer = Dropout(rate: rate, rng: RandomSource(seed: 7))
                let x = randomTensor([count], seed: 8)
                let y = layer.forward(x, training: true).array
                let mask = Dropout.referenceMask(count: count, rate: rate, rng: RandomSource(seed: 7))
                XCTAssertEqual(
                    y.map(\.bitPattern), zip(x.array, mask).map { ($0 * $1).bitPattern },
                    "n \(count), rate \(rate), level \(level)")
                let dy = randomTensor([count], seed: 9)
                let dx = layer.backward(dy, needs: .input).array
                XCTAssertEqual(
                    dx.map(\.bitPattern), zip(dy.array, mask).map { ($0 * $1).bitPattern }, "backward, level \(level)")
                if rate < 0.9 {
                    let kept = mask.filter { $0 != 0 }.count
                    XCTAssertGreaterThan(kept, 0)
                    XCTAssertLessThan(kept, count)
                } else {
                    XCTAssertEqual(mask.filter { $0 != 0 }.count, 0, "a rate this close to 1 keeps nothing")
                }
            }
        }
    }
}

/// BatchNorm's dense path through the C kernels (zoo_bn_*) against its Swift loops, bit for
/// bit: outputs, input and parameter gradients and moving statistics, in training and in
/// inference, plain and with a fused LeakyReLU, at every kernel level.
final class BatchNormKernelTests: XCTestCase {
    func run(vector: Bool, features: Int, slope: Float?, training: Bool) -> [[Float]] {
        let layer = BatchNorm(features: features, leakyAlpha: slope)
        layer.usesVectorKernels = vector
        randomizeBias(layer.beta, seed: 4)
        for i in 0..<features { layer.gamma.value[i] = 1 + 0.01 * Float(i % 7) }
        let x = randomTensor([9, features], seed: 5, std: 2)
        if !training { _ = layer.forward(x, training: true) }  // moving statistics to use
        let y = layer.forward(x, training: training).array
        let dx = layer.backward(randomTensor([9, features], seed: 6), needs: .all).array
        return [
            y, dx, layer.gamma.grad.array, layer.beta.grad.array, layer.movingMean.value.array,
            layer.movingVariance.value.array,
        ]
    }

    func testVectorKernelsEqualSwiftLoops() {
        atEveryKernelLevel { level in
            for features in [5, 37, 300] {
                for slope: Float? in [nil, 0.3] {
                    for training in [true, false] {
                        let c = run(vector: true, features: features, slope: slope, training: training)
                        let swift = run(vector: false, features: features, slope: slope, training: training)
                        for (i, (a, b)) in zip(c, swift).enumerated() {
                            XCTAssertEqual(
                                a.map(\.bitPattern), b.map(\.bitPattern),
                                "output \(i), \(features) features, slope \(String(describing: slope)), training \(training), level \(level)"
                            )
                        }
                        XCTAssertGreaterThan(c[1].map(abs).max() ?? 0, 0, "a zero gradient proves nothing")
                    }
                }
            }
        }
    }
}
