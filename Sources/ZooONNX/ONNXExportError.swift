/// Why a generator cannot be exported to ONNX. Each message names the architecture and says
/// what to do instead.
public enum ONNXExportError: Error, CustomStringConvertible, Equatable {
    /// A layer the exporter has no ONNX mapping for (ONNXLayers.swift lists the ones it has).
    case unsupportedLayer(layer: String, type: String, architecture: String)
    /// The model lists no network named "generator".
    case noGenerator(architecture: String)
    /// The generator's body does not take noise (⊕ a one-hot label), as the exporter's inputs assume.
    case unexpectedGeneratorInput(architecture: String, expected: [Int], found: [Int])
    /// A layer's input is not the shape the layer was built for.
    case shapeMismatch(layer: String, architecture: String, detail: String)
    /// The generator's output per image is not the descriptor's image shape.
    case unexpectedOutputShape(architecture: String, expected: [Int], found: [Int])
    /// The protobuf encoder refused the model (for example a model over protobuf's 2 GB limit).
    case encodingFailed(architecture: String, detail: String)

    public var description: String {
        switch self {
        case let .unsupportedLayer(layer, type, architecture):
            return "architecture '\(architecture)' cannot be exported to ONNX: layer \(layer) of type \(type) "
                + "has no ONNX mapping (the exporter maps \(ONNXExport.supportedLayers.joined(separator: ", "))); "
                + "export its weights in another format instead, or add a mapping for \(type) to "
                + "Sources/ZooONNX/ONNXLayers.swift"
        case let .noGenerator(architecture):
            return "architecture '\(architecture)' has no network named \"generator\", so there is nothing to "
                + "export to ONNX; only GAN generators are exported"
        case let .unexpectedGeneratorInput(architecture, expected, found):
            return "architecture '\(architecture)' cannot be exported to ONNX: its generator takes \(found) per "
                + "sample, but the exporter feeds it noise (⊕ a one-hot label) of \(expected); check the "
                + "descriptor's latentSize, conditional and classes against the generator's first layer"
        case let .shapeMismatch(layer, architecture, detail):
            return "architecture '\(architecture)' cannot be exported to ONNX: layer \(layer): \(detail); "
                + "the generator's layers do not fit together as the exporter reads them"
        case let .unexpectedOutputShape(architecture, expected, found):
            return "architecture '\(architecture)' cannot be exported to ONNX: its generator makes images of "
                + "\(found), but its descriptor declares \(expected); fix the descriptor's imageShape"
        case let .encodingFailed(architecture, detail):
            return "the ONNX model of architecture '\(architecture)' could not be encoded: \(detail)"
        }
    }
}
