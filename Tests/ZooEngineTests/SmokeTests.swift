import XCTest

@testable import ZooEngine

final class RandomSourceTests: XCTestCase {
    func testRestoreReproducesStream() {
        let rng = RandomSource(seed: 42)
        _ = (0..<7).map { _ in rng.normal() }  // odd count: a spare normal is pending
        let saved = rng.state
        let a = (0..<100).map { _ in rng.normal() } + (0..<10).map { _ in rng.uniform() }
        let other = RandomSource(seed: 1)
        other.state = saved
        let b = (0..<100).map { _ in other.normal() } + (0..<10).map { _ in other.uniform() }
        XCTAssertEqual(a, b)
    }

    func testNormalMoments() {
        let rng = RandomSource(seed: 7)
        let xs = (0..<100_000).map { _ in Double(rng.normal()) }
        let mean = xs.reduce(0, +) / Double(xs.count)
        let variance = xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(xs.count)
        XCTAssertEqual(mean, 0, accuracy: 0.02)
        XCTAssertEqual(variance, 1, accuracy: 0.02)
    }

    /// Row views (GAN step chunks) and reshapes of them address the right memory.
    func testRowViewsAndTheirReshapes() {
        let t = Tensor(shape: [4, 2, 3], values: (0..<24).map(Float.init))
        let middle = t.rows(1..<3)
        XCTAssertEqual(middle.shape, [2, 2, 3])
        XCTAssertEqual(middle.array, (6..<18).map(Float.init))
        let flat = middle.reshaped([2, 6])
        XCTAssertEqual(flat[0], 6)
        XCTAssertEqual(flat.rows(1..<2).array, (12..<18).map(Float.init))
        flat[1] = -1
        XCTAssertEqual(t[7], -1, "a view writes through to its owner")
    }
}
