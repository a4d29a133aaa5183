import Foundation
import SwiftProtobuf
import ZooEngine

/// The graph as it is built: nodes in order, the initializers they read, and the value the
/// next layer reads with its shape per sample (the batch dimension stays dynamic throughout).
struct ONNXGraphBuilder {
    let architecture: String
    private(set) var nodes: [Onnx_NodeProto] = []
    private(set) var initializers: [Onnx_TensorProto] = []
    /// The value the next layer reads.
    var current: String
    /// Its shape without the batch dimension.
    var shape: [Int]
    private var names: Set<String>

    init(architecture: String, input: String, shape: [Int], reserved: Set<String>) {
        self.architecture = architecture
        current = input
        self.shape = shape
        names = reserved.union([input])
    }

    /// Adds a node reading `inputs` and makes its one output the current value. The node and
    /// its output are named after the layer (`name`), made unique if a layer name repeats an
    /// input's or initializer's name.
    mutating func node(
        _ op: String, name: String, inputs: [String], attributes: [Onnx_AttributeProto] = []
    ) {
        let output = unique(name)
        var node = Onnx_NodeProto()
        node.opType = op
        node.name = output
        node.input = inputs
        node.output = [output]
        node.attribute = attributes
        nodes.append(node)
        current = output
    }

    /// A network parameter as a float32 initializer named by its path ("deconv1.kernel"),
    /// with its own shape; returns the name.
    mutating func parameter(_ parameter: Parameter, of layer: String) -> String {
        let name = unique("\(layer).\(parameter.name)")
        initializers.append(
            Self.floatTensor(
                name: name, shape: parameter.value.shape, values: UnsafeBufferPointer(parameter.value.buffer)))
        return name
    }

    /// A float32 constant that is not a network parameter (the one-hot table); returns its name.
    mutating func constant(_ name: String, shape: [Int], values: [Float]) -> String {
        let name = unique(name)
        values.withUnsafeBufferPointer { buffer in
            initializers.append(Self.floatTensor(name: name, shape: shape, values: buffer))
        }
        return name
    }

    /// An int64 vector constant (a Reshape's target shape); returns its name.
    mutating func int64Constant(_ name: String, values: [Int64]) -> String {
        let name = unique(name)
        var tensor = Onnx_TensorProto()
        tensor.name = name
        tensor.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        tensor.dims = [Int64(values.count)]
        tensor.int64Data = values
        initializers.append(tensor)
        return name
    }

    /// Renames the last node's output: the graph's output gets its public name.
    mutating func nameOutput(_ name: String) {
        guard !nodes.isEmpty else { return }
        nodes[nodes.count - 1].output = [name]
        current = name
    }

    /// A shape mismatch at `layer`, for the exporter's typed error.
    func mismatch(_ layer: String, _ detail: String) -> ONNXExportError {
        .shapeMismatch(layer: layer, architecture: architecture, detail: detail)
    }

    private mutating func unique(_ base: String) -> String {
        var name = base, suffix = 1
        while names.contains(name) {
            suffix += 1
            name = "\(base)_\(suffix)"
        }
        names.insert(name)
        return name
    }

    /// Raw little-endian float32 bytes, the layout every ONNX reader loads without conversion.
    private static func floatTensor(name: String, shape: [Int], values: UnsafeBufferPointer<Float>) -> Onnx_TensorProto
    {
        var tensor = Onnx_TensorProto()
        tensor.name = name
        tensor.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensor.dims = shape.map(Int64.init)
        var bytes = Data(count: values.count * MemoryLayout<UInt32>.size)
        bytes.withUnsafeMutableBytes { raw in
            for (index, value) in values.enumerated() {
                raw.storeBytes(
                    of: value.bitPattern.littleEndian, toByteOffset: index * MemoryLayout<UInt32>.size, as: UInt32.self)
            }
        }
        tensor.rawData = bytes
        return tensor
    }
}

/// Node attributes, one constructor per kind the exporter writes.
extension Onnx_AttributeProto {
    static func float(_ name: String, _ value: Float) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .float
        attribute.f = value
        return attribute
    }

    static func int(_ name: String, _ value: Int) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .int
        attribute.i = Int64(value)
        return attribute
    }

    static func ints(_ name: String, _ values: [Int]) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .ints
        attribute.ints = values.map(Int64.init)
        return attribute
    }
}
