import XCTest
import ZooCatalog
import ZooEngine
import ZooRegistry

@testable import ZooKit

/// Runs over every catalog entry, so a new plugin is tested by being listed.
final class CatalogSuiteTests: XCTestCase {
    /// Keras's trainable parameter counts for the seed networks (DESIGN.md).
    let kerasCounts: [String: [String: Int]] = [
        "dense-gan": ["generator": 1_489_936, "discriminator": 533_505],
        "dcgan": ["generator": 2_305_472, "discriminator": 212_865],
        "cgan": ["generator": 115_344, "discriminator": 236_545],
        // Not a seed: counted by hand. G: 110·6272 + 2·6272 + 128·64·25 + 2·64 + 64·25;
        // D: 11·32·25 + 32 + 32·64·25 + 64 + 3136 + 1.
        "cdcgan": ["generator": 908_992, "discriminator": 63_233],
    ]

    func make(_ type: any Architecture.Type, seed: UInt64 = 3) throws -> (any Architecture, RandomSource) {
        let rng = RandomSource(seed: seed)
        var h = type.descriptor.defaults
        h.batchSize = 8
        return (try type.init(hyperparameters: h, rng: rng), rng)
    }

    /// Every generic suite reaches a plugin listed only in a catalog (the test-only one).
    func testTheTestOnlyPluginIsCheckedByEveryGenericSuite() throws {
        XCTAssertTrue(testCatalog.names.contains("test-gan"))
        XCTAssertFalse(builtinCatalog.names.contains("test-gan"))
        XCTAssertTrue(GANStepTests.adversarial.contains("test-gan"), "\(GANStepTests.adversarial)")
        let (model, _) = try make(TinyTestGAN.self)
        XCTAssertEqual(model.inputShape(of: "generator"), [18])
        XCTAssertEqual(model.inputShape(of: "discriminator"), [794])
    }

    func testCatalogNamesAreUniqueAndLookupSuggests() throws {
        XCTAssertEqual(Set(builtinCatalog.names).count, builtinCatalog.names.count)
        XCTAssertThrowsError(try builtinCatalog.lookup("dcgna")) { error in
            guard case let ZooError.unknownArchitecture(_, suggestions, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(suggestions.first, "dcgan")
        }
    }

    func testParameterCountsMatchKeras() throws {
        for type in testCatalog.entries {
            let (model, _) = try make(type)
            for (network, expected) in kerasCounts[type.descriptor.name] ?? [:] {
                XCTAssertEqual(model.trainableCount(of: network), expected, "\(type.descriptor.name) \(network)")
            }
        }
        let (dcgan, _) = try make(try builtinCatalog.lookup("dcgan"))
        XCTAssertEqual(dcgan.networks.first { $0.name == "generator" }?.network.totalCount, 2_330_944)
    }

    func testOutputShapes() throws {
        for type in testCatalog.entries {
            let d = type.descriptor
            let (model, rng) = try make(type)
            if let generator = model as? any ImageGenerating {
                let noise = Tensor(shape: [5, d.latentSize])
                rng.fillNormal(noise)
                let images = generator.generate(noise: noise, labels: d.conditional ? [0, 1, 2, 3, 4] : nil)
                XCTAssertEqual(images.shape, [5] + d.imageShape, d.name)
                XCTAssertTrue(images.buffer.allSatisfy { $0 >= -1 && $0 <= 1 }, "\(d.name) output outside [-1, 1]")
            }
            if let classifier = model as? any ImageClassifying {
                let images = Tensor(shape: [5] + d.imageShape)
                rng.fillUniform(images, -1, 1)
                let (p, f) = classifier.classify(images)
                XCTAssertEqual(p.shape, [5, d.classes])
                XCTAssertEqual(f.batch, 5)
                for i in 0..<5 {
                    XCTAssertEqual((0..<d.classes).map { p[i * d.classes + $0] }.reduce(0, +), 1, accuracy: 1e-4)
                }
            }
        }
    }

    /// Directional finite difference over every parameter of every network at once:
    /// catches a wrong gradient anywhere in the composed network, not just per layer.
    func testWholeNetworkGradientsAgreeWithFiniteDifferences() throws {
        for type in testCatalog.entries {
            let (model, rng) = try make(type)
            for (name, network) in model.networks {
                let shape = try XCTUnwrap(
                    model.inputShape(of: name), "\(type.descriptor.name) declares no input shape for \(name)")
                let x = Tensor(shape: [4] + shape)
                rng.fillNormal(x, std: 0.5)
                let saved = rng.state
                func loss() -> Double {
                    rng.state = saved  // the same dropout masks every evaluation
                    let y = network.forward(x, training: true)
                    var sum = 0.0
                    for i in 0..<y.count { sum += Double(y[i]) * Double(i % 7) * 0.1 }
                    return sum
                }
                network.zeroGradients()
                rng.state = saved
                let y = network.forward(x, training: true)
                let dy = Tensor(shape: y.shape)
                for i in 0..<y.count { dy[i] = Float(i % 7) * 0.1 }
                network.backward(dy, needs: .parameters)
                let (numeric, analytic) = directionalDerivatives(
                    network.trainableParameters, rng: rng, eps: 1e-4, loss: loss)
                XCTAssertEqual(
                    numeric, analytic, accuracy: 0.05 * max(1, abs(analytic)),
                    "\(type.descriptor.name).\(name): numeric \(numeric) vs analytic \(analytic)")
            }
        }
    }

    func testSaveLoadRoundTripReproducesImages() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Fixtures.store(at: dir, catalog: testCatalog)
        for type in testCatalog.entries {
            let d = type.descriptor
            let (model, rng) = try make(type)
            // A few steps so BatchNorm statistics and weights are not at their initial values.
            let images = Tensor(shape: [8] + d.imageShape)
            rng.fillUniform(images, -1, 1)
            for _ in 0..<2 { _ = model.trainStep(Batch(images: images, labels: Array(0..<8)), rng: rng) }
            let name = "roundtrip-\(d.name)"
            try store.save(model, name: name, hyperparameters: d.defaults, seed: 3, rng: rng)
            // average: false keeps the trained generator in place (a model with an EMA would
            // otherwise draw from the average; both are compared here, EMA included).
            let loaded = try store.load(name, average: false)
            for (live, stored) in zip(model.namedTensors, loaded.architecture.namedTensors) {
                XCTAssertEqual(live.path, stored.path)
                XCTAssertEqual(live.tensor.array, stored.tensor.array, "\(name) \(live.network).\(live.path)")
            }
            // Decoding straight into the live tensors gives the same weights, and the records
            // then carry no values.
            let network = model.networks[0].name
            let inPlace = try store.load(name, networks: [network], weightsOnly: true, average: false)
            for (full, direct) in zip(loaded.architecture.namedTensors, inPlace.architecture.namedTensors)
            where full.network == network {
                XCTAssertEqual(full.tensor.array, direct.tensor.array, "\(name) in place \(full.network).\(full.path)")
            }
            XCTAssertTrue(inPlace.checkpoint.tensors.allSatisfy { $0.values.isEmpty }, name)
            XCTAssertFalse(inPlace.checkpoint.tensors.isEmpty, name)
            if model is any ImageGenerating {
                let labels: [Int]? = d.conditional ? Array(repeating: 7, count: 6) : nil
                // Drawn as `generate` draws: with the generator's average when it has one.
                let generator = model as! any ImageGenerating
                let a = generator.withGenerationWeights {
                    ModelStore.sample(
                        generator, latentSize: d.latentSize, imageShape: d.imageShape, count: 6, labels: labels,
                        seed: 42)
                }
                let b = try store.generate(model: name, count: 6, labels: labels, seed: 42)
                XCTAssertEqual(a.array, b.array, "\(name): generated images differ after a registry round trip")
            }
        }
    }
}
