import Foundation
import XCTest
import ZooCatalog
import ZooEngine
import ZooKit
import ZooONNX

/// Every generator of the catalog exported, read back with the generated messages, and run by
/// a reference interpreter written from the ONNX specs: the file is well formed and computes
/// what `generate` draws. No Python, no onnxruntime (tools/test checks those separately).
final class ONNXExportTests: XCTestCase {
    static let metadata = [
        "model": "test-model", "architecture": "ignored-here", "checkpoint": "3", "weights_sha256": "ab12",
    ]

    /// Every GAN of the built-in catalog, built as CatalogSuiteTests builds them (batch 8), with
    /// every generator tensor (and its moving average) drawn at random, so BatchNorm's
    /// statistics and the biases are not their identity initial values.
    func catalogGenerators() throws -> [(ArchitectureDescriptor, any ImageGenerating)] {
        var models: [(ArchitectureDescriptor, any ImageGenerating)] = []
        for (index, type) in builtinCatalog.entries.enumerated() where type.descriptor.kind == .gan {
            let model = try make(type, seed: UInt64(10 + index))
            guard let generator = model as? any ImageGenerating else {
                XCTFail("\(type.descriptor.name) is a GAN but not ImageGenerating")
                continue
            }
            models.append((type.descriptor, generator))
        }
        XCTAssertGreaterThanOrEqual(models.count, 10)
        return models
    }

    func make(_ type: any Architecture.Type, seed: UInt64, extras: [String: Double] = [:]) throws -> any Architecture {
        var h = type.descriptor.defaults
        h.batchSize = 8
        h.extras.merge(extras) { _, new in new }
        let model = try type.init(hyperparameters: h, rng: RandomSource(seed: seed))
        randomizeGenerator(of: model, seed: seed)
        return model
    }

    /// Fresh values for the generator's tensors and their averages: different draws for the
    /// two, and the averages' kernels halved, so an export from the wrong set shows.
    func randomizeGenerator(of model: any Architecture, seed: UInt64) {
        let rng = RandomSource(seed: seed &+ 1000)
        for entry in model.namedTensors where entry.network == "generator" || entry.network == GeneratorEMA.network {
            let tensor = entry.tensor
            switch entry.path.split(separator: ".").last {
            case "gamma": rng.fillUniform(tensor, 0.5, 1.5)
            case "moving_variance": rng.fillUniform(tensor, 0.5, 2)
            case "bias", "beta", "moving_mean": rng.fillUniform(tensor, -0.3, 0.3)
            default:
                if entry.network == GeneratorEMA.network {
                    for index in 0..<tensor.count { tensor.data[index] *= 0.5 }
                }
            }
        }
    }

    func export(_ model: any ImageGenerating, _ descriptor: ArchitectureDescriptor) throws -> Onnx_ModelProto {
        let bytes = try ONNXExport.generatorModel(of: model, descriptor: descriptor, metadata: Self.metadata)
        return try Onnx_ModelProto(serializedBytes: bytes)
    }

    func testEveryGeneratorExportsOpset17WithDynamicBatchAndMetadata() throws {
        for (descriptor, model) in try catalogGenerators() {
            let name = descriptor.name
            let proto = try export(model, descriptor)
            XCTAssertEqual(proto.irVersion, 8, name)
            XCTAssertEqual(proto.opsetImport.map(\.domain), [""], name)
            XCTAssertEqual(proto.opsetImport.map(\.version), [17], name)
            XCTAssertEqual(proto.producerName, "zoo", name)

            let graph = proto.graph
            var inputs = [ValueSignature(name: "noise", type: .float, shape: ["N", "\(descriptor.latentSize)"])]
            if descriptor.conditional { inputs.append(ValueSignature(name: "labels", type: .int64, shape: ["N"])) }
            XCTAssertEqual(graph.input.map(ValueSignature.init), inputs, name)
            let images = ["N"] + descriptor.imageShape.map { "\($0)" }
            XCTAssertEqual(
                graph.output.map(ValueSignature.init), [ValueSignature(name: "images", type: .float, shape: images)],
                name)
            XCTAssertEqual(graph.node.last?.output, ["images"], name)
            XCTAssertTrue(graph.node.contains { $0.opType == "Tanh" }, "\(name): images in [-1, 1]")

            let metadata = Dictionary(uniqueKeysWithValues: proto.metadataProps.map { ($0.key, $0.value) })
            XCTAssertEqual(metadata, Self.metadata, name)
            XCTAssertEqual(proto.metadataProps.map(\.key), Self.metadata.keys.sorted(), name)

            let again = try ONNXExport.generatorModel(of: model, descriptor: descriptor, metadata: Self.metadata)
            XCTAssertEqual(try proto.serializedData(), again, "\(name): the same model exports to the same bytes")
        }
    }

    /// Each float initializer is a generator parameter under its path, with its shape, its
    /// element count and (bit for bit) the values generation uses; every parameter is exported.
    func testEveryInitializerIsTheGenerationWeightItCameFrom() throws {
        for (descriptor, model) in try catalogGenerators() {
            let name = descriptor.name
            let graph = try export(model, descriptor).graph
            let expected = generationWeights(of: model)
            var exported: Set<String> = []
            for tensor in graph.initializer {
                let value = try ONNXReferenceInterpreter.decode(tensor)
                if tensor.name == "one_hot.identity" {
                    XCTAssertTrue(descriptor.conditional, name)
                    XCTAssertEqual(value.shape, [descriptor.classes, descriptor.classes], name)
                    continue
                }
                if tensor.dataType == Int32(Onnx_TensorProto.DataType.int64.rawValue) {
                    XCTAssertTrue(tensor.name.hasSuffix(".shape"), "\(name): int64 \(tensor.name)")
                    continue
                }
                guard let (shape, values) = expected[tensor.name] else {
                    XCTFail("\(name): initializer \(tensor.name) is no generator parameter")
                    continue
                }
                exported.insert(tensor.name)
                XCTAssertEqual(tensor.dims, shape.map(Int64.init), "\(name) \(tensor.name)")
                XCTAssertEqual(tensor.rawData.count, 4 * shape.reduce(1, *), "\(name) \(tensor.name)")
                XCTAssertEqual(value.floats.map(\.bitPattern), values.map(\.bitPattern), "\(name) \(tensor.name)")
            }
            XCTAssertEqual(exported, Set(expected.keys), "\(name): every generator parameter is exported")
        }
    }

    /// The exported graph, run by the reference interpreter on random noise (and labels),
    /// gives `generate`'s images.
    func testEveryExportedGeneratorComputesWhatGenerateDraws() throws {
        for (descriptor, model) in try catalogGenerators() {
            try assertSameImages(model, descriptor, seed: 7)
        }
    }

    /// Every case of the "same" padding mapping: kernels smaller than, equal to and larger than
    /// the stride, odd and even (an even crop splits unevenly: more at the end), at strides 1 and 2.
    func testTransposedConvolutionPaddingMatchesTheEngineForEveryKernelSize() throws {
        let cases: [(k1: Double, k2: Double, k3: Double)] = [(3, 4, 1), (4, 3, 2), (1, 5, 3), (2, 2, 4), (5, 1, 5)]
        for (index, sizes) in cases.enumerated() {
            let model = try make(
                DeconvProbeGAN.self, seed: UInt64(50 + index), extras: ["k1": sizes.k1, "k2": sizes.k2, "k3": sizes.k3])
            guard let generator = model as? any ImageGenerating else { return XCTFail("not a generator") }
            try assertSameImages(generator, DeconvProbeGAN.descriptor, seed: UInt64(index))
        }
    }

    /// A model with a moving average exports the average, and the live weights are back after.
    func testTheMovingAverageIsExportedAndTheLiveWeightsStay() throws {
        let type = try builtinCatalog.lookup("cdcgan")
        let model = try make(type, seed: 5)
        guard let generator = model as? any ImageGenerating, generator.hasGeneratorAverage else {
            return XCTFail("cdcgan keeps a generator average by default")
        }
        func tensors(of network: String) -> [String: [Float]] {
            Dictionary(
                uniqueKeysWithValues: model.namedTensors.filter { $0.network == network }.map {
                    ($0.path, $0.tensor.array)
                })
        }
        let live = tensors(of: "generator"), averages = tensors(of: GeneratorEMA.network)
        XCTAssertNotEqual(averages["dense.kernel"], live["dense.kernel"])
        let graph = try export(generator, type.descriptor).graph
        XCTAssertEqual(tensors(of: "generator"), live, "the live weights are back")
        for path in ["dense.kernel", "bn0.gamma", "bn1.moving_variance", "deconv2.kernel"] {
            let tensor = try XCTUnwrap(graph.initializer.first { $0.name == path }, path)
            XCTAssertEqual(try ONNXReferenceInterpreter.decode(tensor).floats, averages[path], path)
        }
    }

    func testAnUnsupportedLayerIsRefusedWithATypedError() throws {
        let model = try make(DropoutGeneratorGAN.self, seed: 1)
        guard let generator = model as? any ImageGenerating else { return XCTFail("not a generator") }
        XCTAssertThrowsError(
            try ONNXExport.generatorModel(of: generator, descriptor: DropoutGeneratorGAN.descriptor, metadata: [:])
        ) { error in
            XCTAssertEqual(
                error as? ONNXExportError,
                .unsupportedLayer(layer: "drop", type: "Dropout", architecture: "test-dropout-gan"))
            XCTAssertTrue(
                "\(error)".contains("cannot be exported to ONNX: layer drop of type Dropout"), "\(error)")
        }
    }

    /// A descriptor that does not fit the generator (here: another architecture's) is refused,
    /// not exported with the wrong inputs.
    func testADescriptorThatDoesNotFitTheGeneratorIsRefused() throws {
        let model = try make(try builtinCatalog.lookup("dcgan"), seed: 2)
        guard let generator = model as? any ImageGenerating else { return XCTFail("not a generator") }
        let conditional = try builtinCatalog.lookup("cdcgan").descriptor
        XCTAssertThrowsError(
            try ONNXExport.generatorModel(of: generator, descriptor: conditional, metadata: [:])
        ) { error in
            XCTAssertEqual(
                error as? ONNXExportError,
                .unexpectedGeneratorInput(architecture: "cdcgan", expected: [110], found: [100]))
        }
    }

    // MARK: helpers

    /// Path → (shape, values) of the generator's parameters as generation uses them.
    func generationWeights(of model: any ImageGenerating) -> [String: ([Int], [Float])] {
        model.withGenerationWeights {
            let generator = model.networks.first { $0.name == "generator" }?.network
            return Dictionary(
                uniqueKeysWithValues: (generator?.namedParameters ?? []).map {
                    ($0.path, ($0.parameter.value.shape, $0.parameter.value.array))
                })
        }
    }

    func assertSameImages(
        _ model: any ImageGenerating, _ descriptor: ArchitectureDescriptor, seed: UInt64, count: Int = 3,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let rng = RandomSource(seed: seed)
        let noise = (0..<(count * descriptor.latentSize)).map { _ in rng.normal() }
        let labels = descriptor.conditional ? (0..<count).map { _ in rng.int(below: descriptor.classes) } : nil
        // As `zoo generate` and the progress frames draw: with the weights generation uses.
        let (expectedShape, expectedValues) = model.withGenerationWeights {
            let images = model.generate(
                noise: Tensor(shape: [count, descriptor.latentSize], values: noise), labels: labels)
            return (images.shape, images.array)
        }

        let graph = try export(model, descriptor).graph
        var feeds = ["noise": ReferenceValue(shape: [count, descriptor.latentSize], floats: noise)]
        if let labels { feeds["labels"] = ReferenceValue(shape: [count], ints: labels.map(Int64.init)) }
        let images = try XCTUnwrap(try ONNXReferenceInterpreter(graph: graph).run(feeds)["images"])
        XCTAssertEqual(images.shape, expectedShape, descriptor.name, file: file, line: line)
        XCTAssertEqual(images.shape, [count] + descriptor.imageShape, descriptor.name, file: file, line: line)
        let worst = zip(images.floats, expectedValues).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThan(worst, 1e-4, "\(descriptor.name): largest difference from generate", file: file, line: line)
        // Not all zero or saturated: the comparison says something.
        let spread = (expectedValues.max() ?? 0) - (expectedValues.min() ?? 0)
        XCTAssertGreaterThan(spread, 0.1, "\(descriptor.name): images vary", file: file, line: line)
    }
}

/// An input's or output's name, element type and shape (symbolic dimensions by name).
struct ValueSignature: Equatable {
    let name: String
    let type: Onnx_TensorProto.DataType?
    let shape: [String]

    init(name: String, type: Onnx_TensorProto.DataType, shape: [String]) {
        self.name = name; self.type = type; self.shape = shape
    }

    init(_ info: Onnx_ValueInfoProto) {
        name = info.name
        type = Onnx_TensorProto.DataType(rawValue: Int(info.type.tensorType.elemType))
        shape = info.type.tensorType.shape.dim.map { dimension in
            switch dimension.value {
            case let .dimParam(symbol)?: return symbol
            case let .dimValue(size)?: return "\(size)"
            case nil: return "?"
            }
        }
    }
}
