import Foundation
import SwiftProtobuf
import ZooEngine
import ZooKit

/// Exports a GAN's generator as an ONNX model (opset 17), so it can be run outside the zoo
/// (onnxruntime, any ONNX reader):
///
///     noise  float32 [N, latent]        N(0, 1) noise (metadata latent_prior names another), N dynamic
///     labels int64   [N]                class indices 0..<classes (conditional models only)
///     images float32 [N, C, H, W]       in [-1, 1], as `zoo generate` draws them
///
/// The graph is the generator's layers one for one (ONNXLayers.swift), in inference form
/// (BatchNorm with its moving statistics), with the weights generation uses: the moving
/// average where the model keeps one.
public enum ONNXExport {
    public static let opsetVersion: Int64 = 17
    /// IR version 8 is the one ONNX 1.12, which introduced opset 17, writes: the oldest IR a
    /// runtime that knows opset 17 reads, so the file opens in as many runtimes as possible.
    public static let irVersion = Int64(Onnx_Version.irVersion2021730.rawValue)
    public static let noiseInput = "noise"
    public static let labelsInput = "labels"
    public static let imagesOutput = "images"
    /// The symbolic batch dimension of the inputs and the output.
    public static let batchDimension = "N"
    public static let producerName = "zoo"
    /// The engine layer types the exporter maps (ONNXLayers.swift); any other is refused.
    public static let supportedLayers = [
        "Dense", "BatchNorm", "Reshape", "Conv2DTranspose", "Tanh", "ReLU", "LeakyReLU",
    ]

    /// The generator of `model` as a serialized ONNX ModelProto, with `metadata` as its
    /// metadata_props (the caller's model name, architecture, checkpoint, weights sha256, …).
    /// Throws `ONNXExportError` for a generator the exporter cannot express.
    public static func generatorModel(
        of model: any ImageGenerating, descriptor: ArchitectureDescriptor, metadata: [String: String]
    ) throws -> Data {
        let proto = try generatorProto(of: model, descriptor: descriptor, metadata: metadata)
        do {
            return try proto.serializedData()
        } catch {
            throw ONNXExportError.encodingFailed(architecture: descriptor.name, detail: "\(error)")
        }
    }

    /// The same model as a message, before serialization.
    public static func generatorProto(
        of model: any ImageGenerating, descriptor: ArchitectureDescriptor, metadata: [String: String]
    ) throws -> Onnx_ModelProto {
        guard let generator = model.networks.first(where: { $0.name == "generator" })?.network else {
            throw ONNXExportError.noGenerator(architecture: descriptor.name)
        }
        let classes = descriptor.conditional ? descriptor.classes : 0
        let expected = [descriptor.latentSize + classes]
        // The body's declared input (AdversarialArchitecture: noise ⊕ one-hot) must be what we feed it.
        if let declared = model.inputShape(of: "generator"), declared != expected {
            throw ONNXExportError.unexpectedGeneratorInput(
                architecture: descriptor.name, expected: expected, found: declared)
        }
        // Built inside so the weights copied into the initializers are the ones generation uses.
        let graph = try model.withGenerationWeights {
            try generatorGraph(generator, descriptor: descriptor, classes: classes)
        }
        var proto = Onnx_ModelProto()
        proto.irVersion = irVersion
        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""
        opset.version = opsetVersion
        proto.opsetImport = [opset]
        proto.producerName = producerName
        proto.docString = "\(descriptor.title) generator (\(descriptor.name)): \(descriptor.summary)"
        proto.graph = graph
        // Sorted: the same model and metadata always give the same bytes.
        proto.metadataProps = metadata.sorted { $0.key < $1.key }.map { key, value in
            var entry = Onnx_StringStringEntryProto()
            entry.key = key
            entry.value = value
            return entry
        }
        return proto
    }

    private static func generatorGraph(
        _ generator: Sequential, descriptor: ArchitectureDescriptor, classes: Int
    ) throws -> Onnx_GraphProto {
        var builder = ONNXGraphBuilder(
            architecture: descriptor.name, input: noiseInput, shape: [descriptor.latentSize],
            reserved: [labelsInput, imagesOutput])
        var inputs = [valueInfo(noiseInput, elementType: .float, shape: [descriptor.latentSize])]
        if classes > 0 {
            inputs.append(valueInfo(labelsInput, elementType: .int64, shape: []))
            builder.concatOneHot(labels: labelsInput, classes: classes)
        }
        for (name, layer) in generator.layers { try builder.add(layer, name: name) }
        guard builder.shape == descriptor.imageShape, !builder.nodes.isEmpty else {
            throw ONNXExportError.unexpectedOutputShape(
                architecture: descriptor.name, expected: descriptor.imageShape, found: builder.shape)
        }
        builder.nameOutput(imagesOutput)

        var graph = Onnx_GraphProto()
        graph.name = "\(descriptor.name)-generator"
        graph.node = builder.nodes
        graph.initializer = builder.initializers
        graph.input = inputs
        graph.output = [valueInfo(imagesOutput, elementType: .float, shape: descriptor.imageShape)]
        return graph
    }

    /// A tensor value [N] + shape, N symbolic.
    private static func valueInfo(
        _ name: String, elementType: Onnx_TensorProto.DataType, shape: [Int]
    ) -> Onnx_ValueInfoProto {
        var batch = Onnx_TensorShapeProto.Dimension()
        batch.dimParam = batchDimension
        var tensorShape = Onnx_TensorShapeProto()
        tensorShape.dim =
            [batch]
            + shape.map { size in
                var dimension = Onnx_TensorShapeProto.Dimension()
                dimension.dimValue = Int64(size)
                return dimension
            }
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = Int32(elementType.rawValue)
        tensor.shape = tensorShape
        var type = Onnx_TypeProto()
        type.tensorType = tensor
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type = type
        return info
    }
}

extension ONNXGraphBuilder {
    /// A conditional generator's body reads concat(noise, one-hot(label)) (LabelledNetwork).
    /// The one-hot rows are gathered from an identity matrix: Gather is in every runtime, and
    /// a label outside 0..<classes is an error there, as it is for `zoo generate`, where
    /// OneHot would give a silent zero row.
    mutating func concatOneHot(labels: String, classes: Int) {
        var identity = [Float](repeating: 0, count: classes * classes)
        for index in 0..<classes { identity[index * classes + index] = 1 }
        let noise = current
        let table = constant("one_hot.identity", shape: [classes, classes], values: identity)
        node("Gather", name: "one_hot", inputs: [table, labels], attributes: [.int("axis", 0)])
        let oneHot = current
        node("Concat", name: "noise_and_label", inputs: [noise, oneHot], attributes: [.int("axis", 1)])
        shape = [shape[0] + classes]
    }
}
