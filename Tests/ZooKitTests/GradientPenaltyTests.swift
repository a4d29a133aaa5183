import XCTest
import ZooEngine

@testable import ZooKit

/// WGAN-GP's penalty gradient (a central difference along ∇ₓD with D's activation pattern
/// held) against the exact gradient, computed in double: the penalty written out for a small
/// critic x → Dense → [LayerNorm] → LeakyReLU → Dense, its input gradient in closed form, and
/// its derivative in every weight by a central difference at 1e-6 (in double, with a critic
/// this small, no LeakyReLU flips within it).
final class GradientPenaltyTests: XCTestCase {
    let inputs = 6, hidden = 5, n = 4, alpha: Float = 0.2, lambda: Float = 10

    func critic(layerNorm: Bool, rng: RandomSource) -> Sequential {
        var layers: [(String, Layer)] = [("dense1", Dense(inputs: inputs, outputs: hidden, rng: rng))]
        if layerNorm {
            let norm = LayerNorm(features: hidden)
            rng.fillNormal(norm.gamma.value, mean: 1, std: 0.3)
            rng.fillNormal(norm.beta.value, std: 0.3)
            layers.append(("norm", norm))
        }
        layers += [("act", LeakyReLU(alpha: alpha)), ("dense2", Dense(inputs: hidden, outputs: 1, rng: rng))]
        let network = Sequential(layers)
        for p in network.trainableParameters where p.name == "bias" { rng.fillNormal(p.value, std: 0.3) }
        return network
    }

    /// λ/N Σ (‖∇ₓD(x̂ᵢ)‖ − 1)² in double, from the critic's weights by path.
    func penalty(_ w: [String: [Double]], layerNorm: Bool, mixed: [[Double]]) -> Double {
        let k1 = w["dense1.kernel"]!, b1 = w["dense1.bias"]!, k2 = w["dense2.kernel"]!
        var total = 0.0
        for x in mixed {
            var h = (0..<hidden).map { j in b1[j] + (0..<inputs).map { x[$0] * k1[$0 * hidden + j] }.reduce(0, +) }
            // Upstream of h: through the activation (its slope at LN's output or at h), then LN.
            var upstream = [Double](repeating: 0, count: hidden)
            if layerNorm {
                let gamma = w["norm.gamma"]!, beta = w["norm.beta"]!
                let mean = h.reduce(0, +) / Double(hidden)
                let variance = h.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(hidden)
                let r = 1 / (variance + 1e-5).squareRoot()
                let xhat = h.map { ($0 - mean) * r }
                let y = (0..<hidden).map { gamma[$0] * xhat[$0] + beta[$0] }
                let v = (0..<hidden).map { gamma[$0] * k2[$0] * (y[$0] > 0 ? 1 : Double(alpha)) }
                let meanV = v.reduce(0, +) / Double(hidden)
                let meanVX = (0..<hidden).map { v[$0] * xhat[$0] }.reduce(0, +) / Double(hidden)
                upstream = (0..<hidden).map { r * (v[$0] - meanV - xhat[$0] * meanVX) }
            } else {
                upstream = (0..<hidden).map { k2[$0] * (h[$0] > 0 ? 1 : Double(alpha)) }
            }
            h = upstream
            let g = (0..<inputs).map { i in (0..<hidden).map { k1[i * hidden + $0] * h[$0] }.reduce(0, +) }
            let norm = g.map { $0 * $0 }.reduce(0, +).squareRoot()
            total += Double(lambda) * (norm - 1) * (norm - 1)
        }
        return total / Double(mixed.count)
    }

    func check(layerNorm: Bool, step: Float, tolerance: Double) -> Double {
        let rng = RandomSource(seed: layerNorm ? 41 : 42)
        let network = critic(layerNorm: layerNorm, rng: rng)
        let real = Tensor(shape: [n, inputs]), fake = Tensor(shape: [n, inputs])
        rng.fillNormal(real)
        rng.fillNormal(fake)
        // The ε the penalty will draw, drawn here from a copy of its generator.
        let draws = RandomSource(seed: 7)
        let epsilons = (0..<n).map { _ in Double(draws.uniform()) }
        let mixed = (0..<n).map { i in
            (0..<inputs).map { j in
                Double(Float(epsilons[i]) * real[i * inputs + j] + (1 - Float(epsilons[i])) * fake[i * inputs + j])
            }
        }

        network.zeroGradients()
        let sum = GradientPenalty(weight: lambda, step: step).accumulate(
            discriminator: LabelledNetwork(network), real: real, fake: fake, labels: nil,
            inverseN: 1 / Float(n), rng: RandomSource(seed: 7))

        var weights: [String: [Double]] = [:]
        for (path, p) in network.namedParameters { weights[path] = p.value.array.map(Double.init) }
        XCTAssertEqual(sum / Double(n), penalty(weights, layerNorm: layerNorm, mixed: mixed), accuracy: 1e-4)

        var worst = 0.0
        for (path, p) in network.namedParameters where p.trainable {
            for i in 0..<p.value.count {
                var plus = weights, minus = weights
                plus[path]![i] += 1e-6
                minus[path]![i] -= 1e-6
                let exact =
                    (penalty(plus, layerNorm: layerNorm, mixed: mixed)
                        - penalty(minus, layerNorm: layerNorm, mixed: mixed))
                    / 2e-6
                let error = abs(Double(p.grad[i]) - exact) / max(1, abs(exact))
                worst = max(worst, error)
                XCTAssertEqual(
                    Double(p.grad[i]), exact, accuracy: tolerance * max(1, abs(exact)),
                    "\(layerNorm ? "LayerNorm critic" : "critic") \(path)[\(i)]")
            }
        }
        return worst
    }

    /// Piecewise linear: exact up to float rounding, at a small and at a large h.
    func testPenaltyGradientOfAPiecewiseLinearCriticIsExact() {
        for step: Float in [1e-2, 0.5] {
            let worst = check(layerNorm: false, step: step, tolerance: 1e-4)
            print("gradient penalty, Dense–LeakyReLU–Dense critic, h \(step): worst relative error \(worst)")
        }
    }

    /// LayerNorm is smooth, not linear: the difference's error shrinks with h (measured on the
    /// 2-core EPYC: 2.0e-3 at h = 1e-2, 6.9e-4 at 5e-3), within 0.5 % at the default step.
    func testPenaltyGradientThroughLayerNormIsCloseAtTheDefaultStep() {
        let atDefault = check(layerNorm: true, step: GradientPenalty().step, tolerance: 5e-3)
        let atHalf = check(layerNorm: true, step: GradientPenalty().step / 2, tolerance: 5e-3)
        print("gradient penalty, critic with LayerNorm: worst relative error \(atDefault) at h 1e-2, \(atHalf) at 5e-3")
        XCTAssertLessThan(atHalf, atDefault / 2, "the error should shrink as h²")
    }

    /// An image whose critic gradient has norm 1 costs nothing, and the penalty counts
    /// (‖g‖ − 1)² per image: a critic D(x) = c·Σx has ‖∇ₓD‖ = c·√F everywhere.
    func testPenaltyValueByHand() {
        let dense = Dense(inputs: 4, outputs: 1, bias: false, rng: RandomSource(seed: 1))
        for c: Float in [0.5, 1, 2] {
            dense.kernel.value.fill(c)
            let real = Tensor(shape: [3, 4]), fake = Tensor(shape: [3, 4])
            RandomSource(seed: 2).fillNormal(real)
            let sum = GradientPenalty(weight: 10).accumulate(
                discriminator: LabelledNetwork(Sequential([("dense", dense)])), real: real, fake: fake, labels: nil,
                inverseN: 1 / 3, rng: RandomSource(seed: 3))
            let norm = Double(c) * 2
            XCTAssertEqual(sum, 3 * 10 * (norm - 1) * (norm - 1), accuracy: 1e-4)
        }
    }

    /// The hinge and least-squares losses' terms and slopes, by hand.
    func testHingeAndLeastSquaresByHand() {
        let hinge = HingeLoss()
        XCTAssertEqual(hinge.real(0.25, realTarget: 1).term, 0.75)
        XCTAssertEqual(hinge.real(0.25, realTarget: 1).slope, -1)
        XCTAssertEqual(hinge.real(1.5, realTarget: 1).term, 0)
        XCTAssertEqual(hinge.real(1.5, realTarget: 1).slope, 0)
        XCTAssertEqual(hinge.fake(-0.5).term, 0.5)
        XCTAssertEqual(hinge.fake(-0.5).slope, 1)
        XCTAssertEqual(hinge.fake(-2).term, 0)
        XCTAssertEqual(hinge.fake(-2).slope, 0)
        XCTAssertEqual(hinge.generator(0.75).term, -0.75)
        XCTAssertEqual(hinge.generator(0.75).slope, -1)
        let ls = LeastSquaresLoss()
        XCTAssertEqual(ls.real(0.5, realTarget: 1).term, 0.125)  // ½(0.5 − 1)²
        XCTAssertEqual(ls.real(0.5, realTarget: 1).slope, -0.5)
        XCTAssertEqual(ls.real(0.5, realTarget: 0.9).term, 0.08, accuracy: 1e-7)  // smoothed target
        XCTAssertEqual(ls.fake(0.5).term, 0.125)
        XCTAssertEqual(ls.fake(0.5).slope, 0.5)
        XCTAssertEqual(ls.generator(3).term, 2)
        XCTAssertEqual(ls.generator(3).slope, 2)
        XCTAssertEqual(WassersteinLoss().real(2, realTarget: 1).term, -2)
        XCTAssertEqual(WassersteinLoss(penalty: GradientPenalty()).name, "wasserstein-gp")
    }
}
