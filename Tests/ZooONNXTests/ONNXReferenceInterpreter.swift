import Foundation
import ZooONNX

/// A tensor in the interpreter: float32 or int64 values, row-major.
struct ReferenceValue {
    var shape: [Int]
    var floats: [Float] = []
    var ints: [Int64] = []
}

enum InterpreterError: Error, CustomStringConvertible {
    case unsupported(String)
    case malformed(String)

    var description: String {
        switch self {
        case let .unsupported(detail): return "unsupported by the reference interpreter: \(detail)"
        case let .malformed(detail): return "malformed graph: \(detail)"
        }
    }
}

/// Runs an ONNX graph node by node, written from the ONNX operator specifications (opset 17),
/// not from the zoo's engine, for exactly the ops the exporter emits; sums in Double. An op,
/// or an attribute of one, that it does not know is an error, never silently ignored, so a
/// graph it runs is a graph it has read in full.
struct ONNXReferenceInterpreter {
    let graph: Onnx_GraphProto

    func run(_ feeds: [String: ReferenceValue]) throws -> [String: ReferenceValue] {
        var values = feeds
        for tensor in graph.initializer { values[tensor.name] = try Self.decode(tensor) }
        for node in graph.node {
            let inputs = try node.input.map { name in
                guard let value = values[name] else { throw InterpreterError.malformed("\(node.name) reads \(name)") }
                return value
            }
            guard node.output.count == 1 else { throw InterpreterError.unsupported("\(node.output.count) outputs") }
            values[node.output[0]] = try evaluate(node, inputs)
        }
        var outputs: [String: ReferenceValue] = [:]
        for output in graph.output {
            guard let value = values[output.name] else { throw InterpreterError.malformed("no \(output.name)") }
            outputs[output.name] = value
        }
        return outputs
    }

    static func decode(_ tensor: Onnx_TensorProto) throws -> ReferenceValue {
        let shape = tensor.dims.map(Int.init), count = shape.reduce(1, *)
        var value = ReferenceValue(shape: shape)
        switch Onnx_TensorProto.DataType(rawValue: Int(tensor.dataType)) {
        case .float:
            // raw_data is little-endian float32; float_data the alternative encoding.
            value.floats =
                tensor.rawData.isEmpty
                ? tensor.floatData
                : tensor.rawData.withUnsafeBytes { raw in
                    (0..<raw.count / 4).map { index in
                        let bits = raw.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)
                        return Float(bitPattern: UInt32(littleEndian: bits))
                    }
                }
            guard value.floats.count == count else { throw InterpreterError.malformed("\(tensor.name) size") }
        case .int64:
            guard tensor.rawData.isEmpty else { throw InterpreterError.unsupported("raw int64 \(tensor.name)") }
            value.ints = tensor.int64Data
            guard value.ints.count == count else { throw InterpreterError.malformed("\(tensor.name) size") }
        default:
            throw InterpreterError.unsupported("data type \(tensor.dataType) of \(tensor.name)")
        }
        return value
    }

    private func evaluate(_ node: Onnx_NodeProto, _ inputs: [ReferenceValue]) throws -> ReferenceValue {
        let attributes = Attributes(node)
        switch node.opType {
        case "Gemm": return try gemm(inputs, try attributes.allowing("alpha", "beta", "transA", "transB"))
        case "BatchNormalization":
            return try batchNormalization(inputs, try attributes.allowing("epsilon", "momentum", "training_mode"))
        case "LeakyRelu":
            let alpha = try attributes.allowing("alpha").float("alpha", default: 0.01)
            return map(inputs[0]) { $0 >= 0 ? $0 : alpha * $0 }
        case "Relu": return map(inputs[0]) { max($0, 0) }
        case "Tanh": return map(inputs[0]) { Float(Foundation.tanh(Double($0))) }
        case "Reshape": return try reshape(inputs, try attributes.allowing("allowzero"))
        case "ConvTranspose":
            return try convTranspose(
                inputs,
                try attributes.allowing(
                    "kernel_shape", "strides", "pads", "output_padding", "dilations", "group", "auto_pad"))
        case "Concat": return try concat(inputs, axis: try attributes.allowing("axis").int("axis"))
        case "Gather": return try gather(inputs, axis: try attributes.allowing("axis").int("axis", default: 0))
        default: throw InterpreterError.unsupported("op \(node.opType)")
        }
    }

    private func map(_ x: ReferenceValue, _ f: (Float) -> Float) -> ReferenceValue {
        ReferenceValue(shape: x.shape, floats: x.floats.map(f))
    }

    /// Y = alpha·A·B + beta·C, C broadcast over rows ([N] or [1, N]).
    private func gemm(_ inputs: [ReferenceValue], _ attributes: Attributes) throws -> ReferenceValue {
        guard try attributes.int("transA", default: 0) == 0, try attributes.int("transB", default: 0) == 0 else {
            throw InterpreterError.unsupported("transposed Gemm")
        }
        let a = inputs[0], b = inputs[1]
        guard a.shape.count == 2, b.shape.count == 2, a.shape[1] == b.shape[0] else {
            throw InterpreterError.malformed("Gemm of \(a.shape) and \(b.shape)")
        }
        let alpha = Double(try attributes.float("alpha", default: 1))
        let beta = Double(try attributes.float("beta", default: 1))
        let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1])
        let bias = inputs.count > 2 ? inputs[2].floats : [Float](repeating: 0, count: n)
        guard bias.count == n else { throw InterpreterError.unsupported("Gemm bias of \(inputs[2].shape)") }
        var y = [Float](repeating: 0, count: m * n)
        for row in 0..<m {
            for column in 0..<n {
                var sum = 0.0
                for inner in 0..<k { sum += Double(a.floats[row * k + inner]) * Double(b.floats[inner * n + column]) }
                y[row * n + column] = Float(alpha * sum + beta * Double(bias[column]))
            }
        }
        return ReferenceValue(shape: [m, n], floats: y)
    }

    /// Inference form: Y = (X − mean)/√(var + ε)·scale + B per channel (axis 1).
    private func batchNormalization(_ inputs: [ReferenceValue], _ attributes: Attributes) throws -> ReferenceValue {
        guard try attributes.int("training_mode", default: 0) == 0 else {
            throw InterpreterError.unsupported("BatchNormalization in training mode")
        }
        let x = inputs[0], epsilon = Double(try attributes.float("epsilon", default: 1e-5))
        let channels = x.shape[1], plane = x.shape.dropFirst(2).reduce(1, *)
        guard inputs[1...4].allSatisfy({ $0.floats.count == channels }) else {
            throw InterpreterError.malformed("BatchNormalization statistics for \(x.shape)")
        }
        let (scale, shift, mean, variance) = (inputs[1].floats, inputs[2].floats, inputs[3].floats, inputs[4].floats)
        var y = x.floats
        for index in y.indices {
            let c = index / plane % channels
            let normalised = (Double(x.floats[index]) - Double(mean[c])) / (Double(variance[c]) + epsilon).squareRoot()
            y[index] = Float(normalised * Double(scale[c]) + Double(shift[c]))
        }
        return ReferenceValue(shape: x.shape, floats: y)
    }

    /// -1 takes what is left; 0 copies the input's dimension (allowzero 0).
    private func reshape(_ inputs: [ReferenceValue], _ attributes: Attributes) throws -> ReferenceValue {
        guard try attributes.int("allowzero", default: 0) == 0 else { throw InterpreterError.unsupported("allowzero") }
        let x = inputs[0]
        var shape = inputs[1].ints.enumerated().map { index, size in size == 0 ? x.shape[index] : Int(size) }
        let known = shape.filter { $0 != -1 }.reduce(1, *)
        if let free = shape.firstIndex(of: -1) { shape[free] = x.floats.count / max(known, 1) }
        guard shape.reduce(1, *) == x.floats.count else {
            throw InterpreterError.malformed("Reshape of \(x.shape) to \(inputs[1].ints)")
        }
        return ReferenceValue(shape: shape, floats: x.floats)
    }

    /// 2-D ConvTranspose, group 1, dilation 1: each input pixel (h, w) adds x·W[c, m, i, j] to
    /// output (h·s + i − pad_top, w·s + j − pad_left); the output is
    /// s·(H − 1) + output_padding + k − pad_top − pad_bottom rows (likewise columns).
    private func convTranspose(_ inputs: [ReferenceValue], _ attributes: Attributes) throws -> ReferenceValue {
        guard try attributes.int("group", default: 1) == 1,
            try attributes.ints("dilations", default: [1, 1]) == [1, 1],
            attributes.has("auto_pad") == false
        else { throw InterpreterError.unsupported("ConvTranspose with groups, dilation or auto_pad") }
        let x = inputs[0], w = inputs[1]
        let (n, c, h, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (m, kh, kw) = (w.shape[1], w.shape[2], w.shape[3])
        guard w.shape[0] == c, try attributes.ints("kernel_shape", default: [kh, kw]) == [kh, kw] else {
            throw InterpreterError.malformed("ConvTranspose kernel \(w.shape) on \(x.shape)")
        }
        let strides = try attributes.ints("strides", default: [1, 1])
        let pads = try attributes.ints("pads", default: [0, 0, 0, 0])
        let extra = try attributes.ints("output_padding", default: [0, 0])
        let oh = strides[0] * (h - 1) + extra[0] + kh - pads[0] - pads[2]
        let ow = strides[1] * (width - 1) + extra[1] + kw - pads[1] - pads[3]
        let bias = inputs.count > 2 ? inputs[2].floats : [Float](repeating: 0, count: m)
        var y = [Double](repeating: 0, count: n * m * oh * ow)
        for image in 0..<n {
            for out in 0..<m {
                for position in 0..<(oh * ow) { y[(image * m + out) * oh * ow + position] = Double(bias[out]) }
            }
            for channel in 0..<c {
                for row in 0..<h {
                    for column in 0..<width {
                        let v = Double(x.floats[((image * c + channel) * h + row) * width + column])
                        for out in 0..<m {
                            for i in 0..<kh {
                                let yr = row * strides[0] + i - pads[0]
                                guard yr >= 0 && yr < oh else { continue }
                                for j in 0..<kw {
                                    let yc = column * strides[1] + j - pads[1]
                                    guard yc >= 0 && yc < ow else { continue }
                                    y[((image * m + out) * oh + yr) * ow + yc] +=
                                        v * Double(w.floats[((channel * m + out) * kh + i) * kw + j])
                                }
                            }
                        }
                    }
                }
            }
        }
        return ReferenceValue(shape: [n, m, oh, ow], floats: y.map(Float.init))
    }

    /// Float inputs joined along `axis` (negative counts from the end).
    private func concat(_ inputs: [ReferenceValue], axis: Int) throws -> ReferenceValue {
        let rank = inputs[0].shape.count, axis = axis < 0 ? axis + rank : axis
        let outer = inputs[0].shape[..<axis].reduce(1, *)
        guard inputs.allSatisfy({ $0.shape.count == rank && $0.shape[..<axis] == inputs[0].shape[..<axis] }) else {
            throw InterpreterError.malformed("Concat of \(inputs.map(\.shape)) on axis \(axis)")
        }
        var shape = inputs[0].shape
        shape[axis] = inputs.reduce(0) { $0 + $1.shape[axis] }
        var y: [Float] = []
        for index in 0..<outer {
            for input in inputs {
                let inner = input.floats.count / outer
                y += input.floats[(index * inner)..<((index + 1) * inner)]
            }
        }
        return ReferenceValue(shape: shape, floats: y)
    }

    /// Rows of float data picked by int64 indices along axis 0 (negative indices count from the end).
    private func gather(_ inputs: [ReferenceValue], axis: Int) throws -> ReferenceValue {
        guard axis == 0 else { throw InterpreterError.unsupported("Gather on axis \(axis)") }
        let data = inputs[0], indices = inputs[1].ints, rows = data.shape[0], inner = data.floats.count / rows
        var y: [Float] = []
        for index in indices {
            let row = index < 0 ? Int(index) + rows : Int(index)
            guard (0..<rows).contains(row) else { throw InterpreterError.malformed("Gather index \(index)") }
            y += data.floats[(row * inner)..<((row + 1) * inner)]
        }
        return ReferenceValue(shape: inputs[1].shape + data.shape.dropFirst(), floats: y)
    }
}

/// A node's attributes by name, refusing names the op's evaluator does not read.
private struct Attributes {
    let byName: [String: Onnx_AttributeProto]
    let op: String

    init(_ node: Onnx_NodeProto) {
        byName = Dictionary(node.attribute.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        op = node.opType
    }

    func allowing(_ names: String...) throws -> Attributes {
        if let unknown = byName.keys.first(where: { !names.contains($0) }) {
            throw InterpreterError.unsupported("attribute \(unknown) of \(op)")
        }
        return self
    }

    func has(_ name: String) -> Bool { byName[name] != nil }

    func float(_ name: String, default value: Float) throws -> Float {
        guard let attribute = byName[name] else { return value }
        guard attribute.type == .float else { throw InterpreterError.malformed("\(op).\(name) is not a float") }
        return attribute.f
    }

    func int(_ name: String, default value: Int? = nil) throws -> Int {
        guard let attribute = byName[name] else {
            guard let value else { throw InterpreterError.malformed("\(op) needs \(name)") }
            return value
        }
        guard attribute.type == .int else { throw InterpreterError.malformed("\(op).\(name) is not an int") }
        return Int(attribute.i)
    }

    func ints(_ name: String, default value: [Int]) throws -> [Int] {
        guard let attribute = byName[name] else { return value }
        guard attribute.type == .ints else { throw InterpreterError.malformed("\(op).\(name) is not ints") }
        return attribute.ints.map(Int.init)
    }
}
