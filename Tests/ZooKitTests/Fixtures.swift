import Foundation
import XCTest
import ZooCatalog
import ZooEngine
import ZooRegistry

@testable import ZooKit

/// Small synthetic MNIST-format data written to a temp folder, so trainer tests need no
/// download: each "digit" is a blurry bar whose position depends on the label.
enum Fixtures {
    static func temporaryDirectory(_ tag: String = #function) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func writeSyntheticMNIST(to directory: URL, count: Int, testCount: Int = 200) throws {
        for (prefix, n) in [("train", count), ("t10k", testCount)] {
            var images = Data([0, 0, 8, 3])
            var labels = Data([0, 0, 8, 1])
            for value in [n, 28, 28] { images.append(contentsOf: bigEndian(value)) }
            labels.append(contentsOf: bigEndian(n))
            var state: UInt64 = 99
            for i in 0..<n {
                let label = i % 10
                labels.append(UInt8(label))
                for y in 0..<28 {
                    for x in 0..<28 {
                        state = state &* 6364136223846793005 &+ 1442695040888963407
                        let noise = Int(state >> 60)
                        let onBar = abs(x - (4 + 2 * label)) <= 1 && y > 4 && y < 24
                        images.append(UInt8(clamping: (onBar ? 230 : 10) + noise))
                    }
                }
            }
            try images.write(to: directory.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
            try labels.write(to: directory.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
        }
    }

    static func bigEndian(_ value: Int) -> [UInt8] {
        let v = UInt32(value)
        return [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]
    }

    static func store(at directory: URL, catalog: Catalog = builtinCatalog) throws -> ModelStore {
        ModelStore(
            registry: try Registry(path: directory.appendingPathComponent("registry.sqlite").path), catalog: catalog)
    }
}

/// Directional finite difference over many parameters at once: the analytic gradient
/// (already in `grad`) dotted with a ±1 direction on a random ~1 % of the entries, against
/// (L(w + εd) − L(w − εd)) / 2ε. Small ε keeps ReLU networks within one linear piece.
/// Each entry's sign follows its analytic gradient (+1 at zero), so the terms add up instead
/// of cancelling to a sum that float noise swamps (a random sign left some directions with
/// a derivative of 0.006 beside finite-difference noise of 0.005); a gradient with a wrong
/// sign or size on any chosen entry still moves the sum away from the difference.
func directionalDerivatives(
    _ parameters: [Parameter], rng: RandomSource, eps: Float,
    loss: () -> Double
) -> (numeric: Double, analytic: Double) {
    var analytic = 0.0
    var direction: [[Float]] = []
    for p in parameters {
        var d = [Float](repeating: 0, count: p.value.count)
        for i in 0..<d.count where rng.uniform() < 0.01 { d[i] = p.grad[i] < 0 ? -1 : 1 }
        for i in 0..<d.count { analytic += Double(d[i]) * Double(p.grad[i]) }
        direction.append(d)
    }
    func shift(_ scale: Float) {
        for (p, d) in zip(parameters, direction) { for i in 0..<d.count where d[i] != 0 { p.value[i] += scale * d[i] } }
    }
    shift(eps); let plus = loss()
    shift(-2 * eps); let minus = loss()
    shift(eps)
    return ((plus - minus) / Double(2 * eps), analytic)
}

extension ModelStore {
    /// The SQLite registry behind a test's store, for checks on raw records.
    var sqlite: Registry {
        guard let registry = backend as? Registry else {
            preconditionFailure("the tests' stores are SQLite registries")
        }
        return registry
    }
}
