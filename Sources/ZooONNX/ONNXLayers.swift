import ZooEngine

/// One ONNX mapping per engine layer type, each the layer's inference forward exactly.
extension ONNXGraphBuilder {
    /// Appends `layer`'s nodes; a layer type without a mapping is a typed error naming it.
    mutating func add(_ layer: Layer, name: String) throws {
        switch layer {
        case let dense as Dense: try add(dense, name: name)
        case let norm as BatchNorm: try add(norm, name: name)
        case let reshape as Reshape: try add(reshape, name: name)
        case let deconv as Conv2DTranspose: try add(deconv, name: name)
        case is Tanh: node("Tanh", name: name, inputs: [current])
        case is ReLU: node("Relu", name: name, inputs: [current])
        case let leaky as LeakyReLU:
            node("LeakyRelu", name: name, inputs: [current], attributes: [.float("alpha", leaky.alpha)])
        default:
            throw ONNXExportError.unsupportedLayer(
                layer: name, type: String(describing: type(of: layer)), architecture: architecture)
        }
    }

    /// Dense (kernel [in, out], Keras layout): y = x·W (+ b) is Gemm without transposes.
    private mutating func add(_ dense: Dense, name: String) throws {
        let kernel = dense.kernel.value.shape
        // The engine's Dense reads each sample as one row whatever its shape; Gemm needs rank 2.
        if shape.count != 1 { try flatten(before: name) }
        guard shape == [kernel[0]] else {
            throw mismatch(name, "Dense with \(kernel[0]) inputs gets \(shape) per sample")
        }
        var inputs = [current, parameter(dense.kernel, of: name)]
        if let bias = dense.bias { inputs.append(parameter(bias, of: name)) }
        node("Gemm", name: name, inputs: inputs)
        shape = [kernel[1]]
    }

    /// BatchNorm in inference: γ·(x − moving mean)/√(moving variance + ε) + β per feature of
    /// [N, F] or per channel of [N, C, H, W], which is BatchNormalization's formula on axis 1.
    /// A fused LeakyReLU (`negativeSlope` ≠ 1) becomes its own node after it.
    private mutating func add(_ norm: BatchNorm, name: String) throws {
        let features = norm.gamma.value.count
        guard shape.first == features else {
            throw mismatch(name, "BatchNorm of \(features) features gets \(shape) per sample")
        }
        let inputs = [
            current, parameter(norm.gamma, of: name), parameter(norm.beta, of: name),
            parameter(norm.movingMean, of: name), parameter(norm.movingVariance, of: name),
        ]
        // momentum only matters in training mode (off: the default training_mode 0); kept for readers.
        node(
            "BatchNormalization", name: name, inputs: inputs,
            attributes: [.float("epsilon", norm.epsilon), .float("momentum", norm.momentum)])
        if norm.negativeSlope != 1 {
            node(
                "LeakyRelu", name: "\(name).leaky_relu", inputs: [current],
                attributes: [.float("alpha", norm.negativeSlope)])
        }
    }

    /// Reshape per sample: the target is [-1] + the layer's shape, so the batch stays dynamic.
    private mutating func add(_ reshape: Reshape, name: String) throws {
        let target = reshape.perSampleShape
        guard target.reduce(1, *) == shape.reduce(1, *) else {
            throw mismatch(name, "Reshape to \(target) gets \(shape) per sample")
        }
        let targetName = int64Constant("\(name).shape", values: [-1] + target.map(Int64.init))
        node("Reshape", name: name, inputs: [current, targetName])
        shape = target
    }

    /// Conv2DTranspose with Keras "same" padding: output H·s. The transposed convolution's full
    /// output is (H − 1)·s + k, so k − s rows are cropped, the smaller half at the top (as
    /// ConvGeometry.padTop and Reference.conv2dTransposeForward place taps). With k < s the
    /// full output is s − k short, and output_padding adds those rows at the end.
    /// The kernel [C_in, C_out, k, k] is ONNX's ConvTranspose layout as it is.
    private mutating func add(_ deconv: Conv2DTranspose, name: String) throws {
        let kernel = deconv.kernel.value.shape
        guard shape.count == 3, shape[0] == kernel[0] else {
            throw mismatch(name, "Conv2DTranspose of \(kernel[0]) input channels gets \(shape) per sample")
        }
        let size = kernel[2], stride = deconv.stride
        let crop = max(size - stride, 0), before = crop / 2, after = crop - before
        let outputPadding = max(stride - size, 0)
        var inputs = [current, parameter(deconv.kernel, of: name)]
        if let bias = deconv.bias { inputs.append(parameter(bias, of: name)) }
        var attributes: [Onnx_AttributeProto] = [
            .ints("kernel_shape", [size, kernel[3]]), .ints("strides", [stride, stride]),
            .ints("pads", [before, before, after, after]),
        ]
        if outputPadding > 0 { attributes.append(.ints("output_padding", [outputPadding, outputPadding])) }
        node("ConvTranspose", name: name, inputs: inputs, attributes: attributes)
        shape = [kernel[1], shape[1] * stride, shape[2] * stride]
    }

    /// [N, ...] → [N, prod(...)] as a Reshape (one op fewer for a reader to support than Flatten).
    private mutating func flatten(before layer: String) throws {
        let width = shape.reduce(1, *)
        let targetName = int64Constant("\(layer).flatten_shape", values: [-1, Int64(width)])
        node("Reshape", name: "\(layer).flatten", inputs: [current, targetName])
        shape = [width]
    }
}
