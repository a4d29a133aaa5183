import XCTest
import ZooCatalog
import ZooData
import ZooEngine
import ZooRegistry

@testable import ZooKit

/// Models out to safetensors and back: the same images bit for bit, and a strict load that
/// names every missing, extra or mis-shaped tensor.
final class SafetensorsModelTests: XCTestCase {
    var dir: URL!
    var store: ModelStore!

    override func setUpWithError() throws {
        dir = try Fixtures.temporaryDirectory()
        store = try Fixtures.store(at: dir)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// A model with a few steps behind it (weights, BatchNorm statistics and the EMA moved).
    func trained(_ architecture: String, name: String) throws {
        let type = try builtinCatalog.lookup(architecture)
        var h = type.descriptor.defaults
        h.batchSize = 8
        let rng = RandomSource(seed: 4)
        let model = try type.init(hyperparameters: h, rng: rng)
        let images = Tensor(shape: [8] + type.descriptor.imageShape)
        rng.fillUniform(images, -1, 1)
        for _ in 0..<2 { _ = model.trainStep(Batch(images: images, labels: Array(0..<8)), rng: rng) }
        try store.save(model, name: name, hyperparameters: h, seed: 4, rng: rng)
    }

    func images(_ name: String, conditional: Bool) throws -> [Float] {
        try store.generate(model: name, count: 10, labels: conditional ? Array(0..<10) : nil, seed: 9).array
    }

    func testExportImportDrawsTheSameImages() throws {
        for architecture in ["cdcgan", "dcgan", "sngan", "acgan", "projection-cgan"] {
            try trained(architecture, name: "a-\(architecture)")
            let (data, count) = try store.safetensors(of: "a-\(architecture)", version: "test")
            let (metadata, entries) = try Safetensors.decode(data)
            XCTAssertEqual(entries.count, count)
            XCTAssertEqual(metadata["architecture"], architecture)
            XCTAssertNotNil(metadata["hyperparameters"])
            XCTAssertFalse(entries.contains { $0.name.contains("#adam") }, "no optimizer state unless asked")
            try store.importSafetensors(
                data, source: "x.safetensors", architecture: architecture, as: "b-\(architecture)")
            let conditional = try builtinCatalog.lookup(architecture).descriptor.conditional
            XCTAssertEqual(
                try images("a-\(architecture)", conditional: conditional),
                try images("b-\(architecture)", conditional: conditional), "\(architecture): images differ")
            let a = try store.load("a-\(architecture)", average: false).architecture.namedTensors
            let b = try store.load("b-\(architecture)", average: false).architecture.namedTensors
            XCTAssertEqual(a.map(\.path), b.map(\.path))
            for (x, y) in zip(a, b) { XCTAssertEqual(x.tensor.array, y.tensor.array, "\(architecture) \(x.path)") }
        }
    }

    func testOptimizerMomentsAndFloat16() throws {
        try trained("dcgan", name: "m")
        let (data, _) = try store.safetensors(of: "m", withOptimizer: true, dtype: .float16, version: "test")
        let entries = try Safetensors.decode(data).entries
        XCTAssertTrue(entries.contains { $0.name.hasPrefix("generator#adam.") })
        XCTAssertTrue(entries.allSatisfy { $0.dtype == .float16 })
        // The moments are not imported; the weights arrive at float16's precision.
        try store.importSafetensors(data, source: "m.safetensors", architecture: "dcgan", as: "m2")
        let kernel = try XCTUnwrap(
            store.load("m2", average: false).architecture.namedTensors.first { $0.path == "dense.kernel" })
        let original = try XCTUnwrap(
            store.load("m", average: false).architecture.namedTensors.first { $0.path == "dense.kernel" })
        XCTAssertEqual(kernel.tensor.array, original.tensor.array.map { Float(Float16($0)) })
    }

    /// A shipped-style model (generator average only, published) exports and imports as a
    /// generator-only model that draws the same images.
    func testGeneratorOnlyFilesImportAsDrawOnlyModels() throws {
        try trained("cdcgan", name: "full")
        let shipped = try Fixtures.store(
            at: dir.appendingPathComponent("shipped", isDirectory: true).creatingDirectory())
        try store.publish("full", to: shipped, float16: true, generatorOnly: true)
        let (data, _) = try shipped.safetensors(of: "full", version: "test")
        XCTAssertEqual(try Safetensors.decode(data).metadata["generator_is_average"], "true")
        try store.importSafetensors(data, source: "g.safetensors", architecture: "cdcgan", as: "draw-only")
        XCTAssertEqual(
            try shipped.generate(model: "full", count: 10, labels: Array(0..<10), seed: 9).array,
            try images("draw-only", conditional: true))
    }

    func testStrictLoadNamesEveryProblem() throws {
        try trained("dcgan", name: "s")
        let (data, _) = try store.safetensors(of: "s", version: "test")
        let (metadata, entries) = try Safetensors.decode(data)
        func attempt(_ changed: [Safetensors.Entry], metadata: [String: String] = [:], architecture: String = "dcgan")
            throws -> String
        {
            let file = try Safetensors.encode(changed, metadata: metadata)
            do {
                try store.importSafetensors(file, source: "bad.safetensors", architecture: architecture, as: "bad")
            } catch let error as ZooError {
                return error.description
            }
            XCTFail("import succeeded")
            return ""
        }
        var missing = entries
        missing.removeAll { $0.name == "generator.bn1.gamma" }
        XCTAssertTrue(try attempt(missing).contains("missing tensor generator.bn1.gamma [128]"))
        var extra = entries
        extra.append(.init(name: "generator.dense.bias", dtype: .float32, shape: [1], values: [0]))
        XCTAssertTrue(try attempt(extra).contains("unexpected tensor generator.dense.bias"))
        var misShaped = entries
        if let i = misShaped.firstIndex(where: { $0.name == "discriminator.logit.bias" }) {
            misShaped[i] = .init(name: misShaped[i].name, dtype: .float32, shape: [1, 1], values: [0])
        }
        XCTAssertTrue(
            try attempt(misShaped).contains("tensor discriminator.logit.bias has shape [1, 1], dcgan needs [1]"))
        XCTAssertTrue(
            try attempt(entries, metadata: metadata, architecture: "lsgan").contains("pass --architecture dcgan"))
        var crafted = metadata
        crafted["hyperparameters"] = #"{"batchSize": -5}"#
        XCTAssertThrowsError(
            try store.importSafetensors(
                try Safetensors.encode(entries, metadata: crafted), source: "c", architecture: "dcgan", as: "crafted"))
        XCTAssertThrowsError(try store.load("bad"), "a refused import leaves no model")
        XCTAssertThrowsError(try store.load("crafted"), "a refused import leaves no model")
    }
}
