import XCTest
import ZooCatalog
import ZooData
import ZooEngine
import ZooRegistry

@testable import ZooKit

final class EvaluatorTests: XCTestCase {
    func testEvaluateStoresMetricsWithProvenance() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Fixtures.writeSyntheticMNIST(to: dir, count: 96, testCount: 200)
        let store = try Fixtures.store(at: dir)
        let trainer = Trainer(store: store)
        for (architecture, name) in [("classifier", "tiny-classifier"), ("cgan", "tiny-cgan")] {
            var r = TrainingRequest(architecture: architecture, name: name, dataDirectory: dir.path)
            r.epochs = 1
            r.batchSize = 32
            _ = try trainer.train(r)
        }
        let evaluator = try Evaluator(store: store, classifier: "tiny-classifier", dataDirectory: dir.path)
        XCTAssertEqual(evaluator.classifierSHA256.count, 64)
        let report = try evaluator.evaluate(model: "tiny-cgan", samples: 100, seed: 3)
        XCTAssertEqual(report.histogram.reduce(0, +), 100)
        XCTAssertNotNil(report.requestedAccuracy)
        XCTAssertEqual(report.requestedAccuracyPerDigit?.count, 10)
        XCTAssertTrue(report.score >= 1 && report.score <= 10, "\(report.score)")
        XCTAssertTrue(report.frechetDistance >= 0)

        let rows = try store.sqlite.metrics(of: "tiny-cgan")
        // A conditional model also gets its per-class distances (see IntraClassFDTests).
        XCTAssertEqual(
            Set(rows.map(\.name)),
            Set(["score", "fd", "classes_covered", "kl_uniform", "requested_accuracy", "fd_intra_mean"])
                .union((0..<10).map { "fd_class_\($0)" }))
        for row in rows {
            XCTAssertEqual(row.sampleCount, 100)
            XCTAssertTrue(
                row.evaluator?.contains("tiny-classifier@\(evaluator.classifierSHA256.prefix(12))") == true,
                "\(row.evaluator ?? "nil")")
            XCTAssertTrue(row.evaluator?.contains("seed 3") == true)
            XCTAssertNotNil(row.checkpointID)
        }
        // The same request gives the same figures.
        let again = try evaluator.evaluate(model: "tiny-cgan", samples: 100, seed: 3)
        XCTAssertEqual(again.frechetDistance, report.frechetDistance)
        // An earlier checkpoint's figures are returned, not stored: the model's figures stay its latest.
        let metricCount = try store.sqlite.metrics(of: "tiny-cgan").count
        _ = try evaluator.evaluate(model: "tiny-cgan", samples: 100, seed: 4, checkpoint: .epoch(1))
        XCTAssertEqual(try store.sqlite.metrics(of: "tiny-cgan").count, metricCount)

        XCTAssertThrowsError(try Evaluator(store: store, classifier: "tiny-cgan", dataDirectory: dir.path)) { error in
            XCTAssertEqual(error as? ZooError, .notAClassifier(model: "tiny-cgan", architecture: "cgan"))
        }
        let accuracy = try evaluator.evaluate(model: "tiny-classifier", samples: 100, seed: 0)
        XCTAssertNotNil(accuracy.testAccuracy)
        // A classifier's accuracy names the split it was measured on (its own dataset's test set).
        XCTAssertEqual(accuracy.referenceSplit, "mnist-test-200")
        let stored = try store.sqlite.metrics(of: "tiny-classifier").filter { $0.name == "accuracy" }
        XCTAssertEqual(stored.count, 1)
        XCTAssertEqual(stored.first?.evaluator, "self@\(accuracy.classifierSHA256.prefix(12)) on mnist-test-200")
        XCTAssertEqual(stored.first?.value ?? -1, accuracy.testAccuracy ?? -2, accuracy: 1e-12)
    }

    /// A Fashion-MNIST classifier judges Fashion generators against Fashion's test split (and
    /// says so in every stored figure), and refuses to judge an MNIST generator.
    func testEvaluatorJudgesOnlyItsOwnDataset() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Fixtures.writeSyntheticMNIST(to: dir, count: 96, testCount: 200)
        let store = try Fixtures.store(at: dir)
        let rng = RandomSource(seed: 4)
        for (architecture, name, dataset) in [
            ("classifier", "fashion-judge", "fashion"), ("cgan", "fashion-cgan", "fashion"),
            ("cgan", "mnist-cgan", "mnist"),
        ] {
            let type = try builtinCatalog.lookup(architecture)
            let model = try type.init(hyperparameters: type.descriptor.defaults, rng: rng)
            try store.save(
                model, name: name, hyperparameters: type.descriptor.defaults, seed: 4, dataset: dataset, rng: rng)
        }
        let evaluator = try Evaluator(store: store, classifier: "fashion-judge", dataDirectory: dir.path)
        XCTAssertEqual(evaluator.dataset, "fashion")
        XCTAssertEqual(evaluator.referenceSplit, "fashion-test-200")
        let report = try evaluator.evaluate(model: "fashion-cgan", samples: 100, seed: 1)
        XCTAssertEqual(report.referenceSplit, "fashion-test-200")
        for row in try store.sqlite.metrics(of: "fashion-cgan") {
            XCTAssertTrue(row.evaluator?.hasSuffix("vs fashion-test-200") == true, "\(row.evaluator ?? "nil")")
        }
        XCTAssertThrowsError(try evaluator.evaluate(model: "mnist-cgan", samples: 100, seed: 1)) { error in
            guard
                case ZooError.wrongEvaluator(
                    model: "mnist-cgan", dataset: "mnist", classifier: "fashion-judge",
                    classifierDataset: "fashion", suggestion: "mnist-classifier")? = error as? ZooError
            else {
                return XCTFail("\(error)")
            }
            XCTAssertTrue("\(error)".contains("--classifier mnist-classifier"))
        }
        XCTAssertTrue(try store.sqlite.metrics(of: "mnist-cgan").isEmpty, "a refused evaluation stores nothing")
        XCTAssertEqual(Evaluator.defaultClassifier(for: "fashion"), "fashion-classifier")
        XCTAssertEqual(Evaluator.defaultClassifier(for: "mnist"), "mnist-classifier")
    }
}

/// The committed zoo must open, verify and draw: what a new user gets after setup.
final class ShippedZooTests: XCTestCase {
    func testShippedRegistryVerifiesAndGenerates() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Zoo/pretrained.sqlite").path
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("Zoo/pretrained.sqlite not present") }
        // The issue's bound, "at most 25 MB", read as decimal megabytes (tools/ship-zoo refuses more).
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? .max
        XCTAssertLessThanOrEqual(size, 25_000_000, "Zoo/pretrained.sqlite is \(size) bytes")
        // Work on a copy: opening the shipped file must never change it.
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let copy = dir.appendingPathComponent("pretrained.sqlite").path
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        let registry = try Registry(path: copy)
        let report = try registry.verify()
        XCTAssertTrue(report.ok, "\(report.problems)")
        let store = ModelStore(registry: registry, catalog: builtinCatalog)
        let models = try registry.listModels()
        XCTAssertTrue(
            Set(models.map(\.name)).isSuperset(of: [
                "mnist-classifier", "cgan-mnist", "cdcgan-mnist", "dense-gan-mnist", "dcgan-mnist", "simple-gan-mnist",
                "dcgan-variant-mnist", "cdcgan-fashion", "dcgan-fashion", "fashion-classifier", "acgan-mnist",
            ]))
        // Every shipped model carries its evaluation, so `zoo list` shows figures out of the box.
        for model in models {
            XCTAssertFalse(try registry.metrics(of: model.name).isEmpty, "\(model.name) ships without metrics")
        }
        // Every shipped generator carries its training's progress frames.
        for model in models where model.architecture != "classifier" {
            // Every epoch's frame, or (tools/ship-zoo: --max-frames 20) 20 from the first to the last.
            let frames = try registry.progressFrames(of: model.name).map(\.epoch)
            XCTAssertTrue(
                frames.count == model.epochs || frames.count == 20, "\(model.name) ships \(frames.count) frames")
            XCTAssertEqual(frames.first, 1, model.name)
            XCTAssertEqual(frames.last, model.epochs, model.name)
            XCTAssertEqual(frames, frames.sorted(), model.name)
            let h = try Hyperparameters.decode(
                json: try registry.model(named: model.name).hyperparameters, model: model.name)
            XCTAssertNotNil(h.recipe, "\(model.name) does not say its recipe")
        }
        for model in models {
            let loaded = try store.load(model.name)
            if loaded.architecture is any ImageGenerating {
                let images = try store.generate(with: loaded, count: 10, labels: nil, seed: 1)
                XCTAssertEqual(images.shape, [10, 1, 28, 28])
                let tiled = ImageGrid.tile(images, rows: 2, cols: 5)
                let png = dir.appendingPathComponent("\(model.name).png").path
                try ImageGrid.writePNG(pixels: tiled.pixels, width: tiled.width, height: tiled.height, to: png)
                let back = try ImageGrid.readPNG(path: png)
                XCTAssertEqual(back.width, tiled.width)
                XCTAssertEqual(back.pixels, tiled.pixels)
                // Not a blank image: generated digits have ink.
                XCTAssertGreaterThan(Set(tiled.pixels).count, 10, model.name)
            }
        }
    }
}
