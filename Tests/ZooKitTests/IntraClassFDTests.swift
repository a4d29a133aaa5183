import XCTest
import ZooCatalog
import ZooEngine
import ZooRegistry

@testable import ZooKit

/// Per-class Fréchet distance: known answers on synthetic features, the degenerate classes
/// it must skip (with a note, never NaN), and the figures an evaluation stores.
final class IntraClassFDTests: XCTestCase {
    /// `perClass` Gaussian rows per class in `dimension` dimensions, class c centred on
    /// c + shift(c) in every coordinate; Box–Muller on a fixed LCG so the answer is repeatable.
    func features(
        classes: Int, perClass: Int, dimension: Int, seed: UInt64, shift: (Int) -> Double = { _ in 0 }
    ) -> (features: [Double], labels: [Int]) {
        var state = seed
        func uniform() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (Double(state >> 11) + 0.5) / Double(1 << 53)
        }
        var features: [Double] = [], labels: [Int] = []
        for i in 0..<(classes * perClass) {
            let c = i % classes
            labels.append(c)
            for _ in 0..<dimension {
                let normal = (-2 * log(uniform())).squareRoot() * cos(2 * .pi * uniform())
                features.append(Double(c) + shift(c) + normal)
            }
        }
        return (features, labels)
    }

    func distances(
        _ generated: (features: [Double], labels: [Int]), _ reference: (features: [Double], labels: [Int]),
        dimension: Int, classes: Int
    ) -> EvaluationMath.ClassFrechetDistances {
        EvaluationMath.classFrechetDistances(
            generated: .init(
                features: generated.features, labels: generated.labels, dimension: dimension, classes: classes),
            reference: .init(
                features: reference.features, labels: reference.labels, dimension: dimension, classes: classes))
    }

    func testIdenticalClassesAreAtZeroAndAShiftedClassStandsOut() throws {
        let reference = features(classes: 3, perClass: 2000, dimension: 4, seed: 1)
        let same = distances(reference, reference, dimension: 4, classes: 3)
        XCTAssertEqual(same.notes, [])
        for fd in same.distances { XCTAssertEqual(try XCTUnwrap(fd), 0, accuracy: 1e-6) }
        XCTAssertEqual(try XCTUnwrap(same.mean), 0, accuracy: 1e-6)

        // Fresh draws from the same distributions: only sampling noise.
        let resampled = distances(
            features(classes: 3, perClass: 2000, dimension: 4, seed: 2), reference, dimension: 4, classes: 3)
        for fd in resampled.distances { XCTAssertLessThan(try XCTUnwrap(fd), 0.05) }

        // Class 1 moved by 3 in each of 4 coordinates: |Δμ|² = 36, the covariances unchanged.
        let shifted = distances(
            features(classes: 3, perClass: 2000, dimension: 4, seed: 2, shift: { $0 == 1 ? 3 : 0 }), reference,
            dimension: 4, classes: 3)
        XCTAssertEqual(try XCTUnwrap(shifted.distances[1]), 36, accuracy: 1.5)
        XCTAssertLessThan(try XCTUnwrap(shifted.distances[0]), 0.05)
        XCTAssertLessThan(try XCTUnwrap(shifted.distances[2]), 0.05)
        XCTAssertEqual(try XCTUnwrap(shifted.mean), 12, accuracy: 0.6)
    }

    func testDegenerateClassesAreSkippedWithANoteNeverNaN() throws {
        // Class 0: 5 generated, 5 reference; class 1: one generated image; class 2: no
        // reference image; class 3: a non-finite feature; class 4: constant features (a zero,
        // singular covariance) on both sides.
        let d = 8
        var generated: [Double] = [], generatedLabels: [Int] = []
        var reference: [Double] = [], referenceLabels: [Int] = []
        func add(_ value: (Int) -> Double, label: Int, count: Int, toReference: Bool) {
            for i in 0..<count {
                let row = (0..<d).map { _ in value(i) }
                if toReference {
                    reference += row
                    referenceLabels.append(label)
                } else {
                    generated += row
                    generatedLabels.append(label)
                }
            }
        }
        for side in [false, true] {
            add({ Double($0) }, label: 0, count: 5, toReference: side)
            add({ _ in side ? 7 : 4 }, label: 4, count: 3, toReference: side)
        }
        add({ _ in 1 }, label: 1, count: 1, toReference: false)
        add({ Double($0) }, label: 1, count: 5, toReference: true)
        add({ Double($0) }, label: 2, count: 5, toReference: false)
        add({ $0 == 2 ? .nan : Double($0) }, label: 3, count: 4, toReference: false)
        add({ Double($0) }, label: 3, count: 4, toReference: true)
        generatedLabels.append(9)  // a label beyond `classes` is not counted
        generated += [Double](repeating: 0, count: d)

        let result = EvaluationMath.classFrechetDistances(
            generated: .init(features: generated, labels: generatedLabels, dimension: d, classes: 5),
            reference: .init(features: reference, labels: referenceLabels, dimension: d, classes: 5))
        XCTAssertEqual(result.distances.count, 5)
        XCTAssertEqual(try XCTUnwrap(result.distances[0]), 0, accuracy: 1e-6)
        XCTAssertNil(result.distances[1])
        XCTAssertNil(result.distances[2])
        XCTAssertNil(result.distances[3])
        // Constant features: the distance is |Δμ|² = 8 × 3².
        XCTAssertEqual(try XCTUnwrap(result.distances[4]), 72, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(result.mean), 36, accuracy: 1e-6)
        XCTAssertEqual(result.notes.count, 3)
        XCTAssertTrue(result.notes[0].hasPrefix("class 1 skipped: 1 generated"), result.notes[0])
        XCTAssertTrue(result.notes[1].hasPrefix("class 2 skipped: 5 generated and 0 reference"), result.notes[1])
        XCTAssertTrue(result.notes[2].hasPrefix("class 3 skipped: its features"), result.notes[2])

        let nothing = EvaluationMath.classFrechetDistances(
            generated: .init(features: [], labels: [], dimension: d, classes: 2),
            reference: .init(features: [], labels: [], dimension: d, classes: 2))
        XCTAssertEqual(nothing.distances, [nil, nil])
        XCTAssertNil(nothing.mean)
    }

    /// A conditional generator's evaluation stores fd_class_0…9 and fd_intra_mean with the
    /// provenance of its other figures; an unconditional one stores none of them.
    func testEvaluationStoresPerClassFiguresForConditionalModelsOnly() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Fixtures.writeSyntheticMNIST(to: dir, count: 96, testCount: 200)
        let store = try Fixtures.store(at: dir)
        let rng = RandomSource(seed: 5)
        for (architecture, name) in [("classifier", "judge"), ("cgan", "conditional"), ("simple-gan", "plain")] {
            let type = try builtinCatalog.lookup(architecture)
            let model = try type.init(hyperparameters: type.descriptor.defaults, rng: rng)
            try store.save(
                model, name: name, hyperparameters: type.descriptor.defaults, seed: 5, dataset: "mnist", rng: rng)
        }
        let evaluator = try Evaluator(store: store, classifier: "judge", dataDirectory: dir.path)
        let report = try evaluator.evaluate(model: "conditional", samples: 100, seed: 2)
        let perClass = try XCTUnwrap(report.frechetDistancePerClass)
        XCTAssertEqual(perClass.count, 10)
        XCTAssertEqual(report.frechetDistanceClassNotes, [], "10 generated and 20 reference images per class")
        let values = perClass.compactMap { $0 }
        XCTAssertEqual(values.count, 10)
        XCTAssertTrue(values.allSatisfy { $0.isFinite && $0 >= 0 }, "\(values)")
        let mean = try XCTUnwrap(report.frechetDistanceIntraMean)
        XCTAssertEqual(mean, values.reduce(0, +) / 10, accuracy: 1e-9)

        let rows = try store.sqlite.metrics(of: "conditional")
        let byName = Dictionary(rows.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let fd = try XCTUnwrap(byName["fd"])
        for c in 0..<10 {
            let row = try XCTUnwrap(byName["fd_class_\(c)"], "fd_class_\(c) not stored")
            XCTAssertEqual(row.value, perClass[c] ?? -1, accuracy: 1e-12)
        }
        let stored = try XCTUnwrap(byName["fd_intra_mean"])
        XCTAssertEqual(stored.value, mean, accuracy: 1e-12)
        for name in ["fd_intra_mean", "fd_class_0", "fd_class_9"] {
            let row = try XCTUnwrap(byName[name])
            XCTAssertEqual(row.evaluator, fd.evaluator)
            XCTAssertEqual(row.sampleCount, 100)
            XCTAssertEqual(row.checkpointID, fd.checkpointID)
            XCTAssertEqual(row.details, fd.details)
        }
        // The details carry the whole report, so the per-class figures survive in it too.
        let details = try JSONDecoder().decode(EvaluationReport.self, from: Data(try XCTUnwrap(fd.details).utf8))
        XCTAssertEqual(details.frechetDistancePerClass?.count, 10)

        let plain = try evaluator.evaluate(model: "plain", samples: 100, seed: 2)
        XCTAssertNil(plain.frechetDistancePerClass)
        XCTAssertNil(plain.frechetDistanceIntraMean)
        let plainNames = Set(try store.sqlite.metrics(of: "plain").map(\.name))
        XCTAssertEqual(plainNames, ["score", "fd", "classes_covered", "kl_uniform"])
    }
}
