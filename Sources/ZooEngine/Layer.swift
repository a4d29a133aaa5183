/// A named tensor that training updates, with its gradient beside it.
/// Non-trainable state (BatchNorm moving statistics) is a Parameter with `trainable == false`.
public final class Parameter {
    public let name: String
    public let value: Tensor
    public let grad: Tensor
    public let trainable: Bool

    public init(_ name: String, shape: [Int], trainable: Bool = true) {
        self.name = name
        self.value = Tensor(shape: shape)
        self.grad = Tensor(shape: trainable ? shape : [0])
        self.trainable = trainable
    }

    /// `other` itself (value and gradient) under another name: a container layer lists its
    /// inner layers' parameters by their paths inside it ("conv1.kernel").
    public init(_ other: Parameter, renamed name: String) {
        self.name = name
        value = other.value
        grad = other.grad
        trainable = other.trainable
    }

    /// The same name and value tensor as `other` (so updates to one are the other's), with a
    /// gradient of its own: a replica layer's parameter.
    public init(sharingValueOf other: Parameter) {
        name = other.name
        value = other.value
        grad = Tensor(shape: other.grad.shape)
        trainable = other.trainable
    }
}

/// Which gradients a backward pass must produce. The first layer of a network rarely
/// needs its input gradient, and a frozen discriminator (generator step) needs no
/// parameter gradients: skipping them is a large share of the step.
public struct GradientNeeds: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let input = GradientNeeds(rawValue: 1)
    public static let parameters = GradientNeeds(rawValue: 2)
    public static let all: GradientNeeds = [.input, .parameters]
}

/// One layer: forward and backward side by side, caches kept by the layer itself.
///
/// Contract: `forward` returns a tensor owned by the layer (valid until the next forward);
/// `backward` must follow the matching `forward`, *adds* parameter gradients into
/// `Parameter.grad` when `.parameters` is needed, and returns dL/dx (owned by the layer,
/// unspecified content when `.input` is not needed).
public protocol Layer: AnyObject {
    func forward(_ x: Tensor, training: Bool) -> Tensor
    func backward(_ dy: Tensor, needs: GradientNeeds) -> Tensor
    /// Trainable parameters then non-trainable state, with names local to the layer
    /// ("kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance").
    var parameters: [Parameter] { get }
    /// Whether one image's output depends on the other images of the batch in training
    /// (BatchNorm's batch statistics). Callers that cut a batch into chunks, or that
    /// rescale one image's gradient after the backward, need this false for every layer.
    var mixesImages: Bool { get }
    /// A copy that shares this layer's parameter values but has its own gradients and
    /// caches, so two threads can run forward and backward on different images at once
    /// (GANStep's parallel discriminator). nil where a layer cannot have one (its state or
    /// randomness would be shared: BatchNorm's moving statistics, Dropout's generator).
    func replica() -> Layer?
    /// Called once at the start of every training step, before any forward of that step:
    /// layers with per-step state (spectral norm's power iteration) advance it here, so a
    /// step's many passes (real, fake, penalty) all see one weight, and a test's forwards
    /// (finite differences) see it unchanged.
    func beginTrainingStep()
    /// While held, a piecewise-linear activation keeps the on/off pattern of its last forward
    /// instead of reading it from its new input, so the network is exactly affine in its input
    /// around that forward (the gradient penalty's central difference uses it: see
    /// `GradientPenalty`). Layers without a pattern ignore it.
    func holdActivationPattern(_ hold: Bool)
}

public extension Layer {
    var parameters: [Parameter] { [] }
    var mixesImages: Bool { false }
    func replica() -> Layer? { nil }
    func beginTrainingStep() {}
    func holdActivationPattern(_ hold: Bool) {}
}

/// Layers in a row, each with a name; parameter paths are "layerName.paramName".
public final class Sequential {
    public let layers: [(name: String, layer: Layer)]

    public init(_ layers: [(String, Layer)]) {
        self.layers = layers.map { (name: $0.0, layer: $0.1) }
        var seen = Set<String>()
        for (name, _) in layers { precondition(seen.insert(name).inserted, "duplicate layer name \(name)") }
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        var h = x
        for entry in layers { h = entry.layer.forward(h, training: training) }
        return h
    }

    /// Backpropagates dy through every layer; `needs` says whether the caller wants
    /// dL/dinput and whether parameter gradients are accumulated.
    @discardableResult
    public func backward(_ dy: Tensor, needs: GradientNeeds) -> Tensor {
        var g = dy
        for index in layers.indices.reversed() {
            var layerNeeds: GradientNeeds = needs.contains(.parameters) ? [.parameters] : []
            if index > 0 || needs.contains(.input) { layerNeeds.insert(.input) }
            if layerNeeds.isEmpty { break }
            g = layers[index].layer.backward(g, needs: layerNeeds)
        }
        return g
    }

    /// Every layer's `beginTrainingStep`, in order.
    public func beginTrainingStep() {
        for entry in layers { entry.layer.beginTrainingStep() }
    }

    /// Every layer's `holdActivationPattern`.
    public func holdActivationPattern(_ hold: Bool) {
        for entry in layers { entry.layer.holdActivationPattern(hold) }
    }

    /// Every parameter and state tensor by path, in a stable order.
    public var namedParameters: [(path: String, parameter: Parameter)] {
        layers.flatMap { entry in entry.layer.parameters.map { (path: "\(entry.name).\($0.name)", parameter: $0) } }
    }

    /// Every layer's `replica`, or nil when some layer has none.
    public func replica() -> Sequential? {
        var copies: [(String, Layer)] = []
        for entry in layers {
            guard let copy = entry.layer.replica() else { return nil }
            copies.append((entry.name, copy))
        }
        return Sequential(copies)
    }

    /// Adds a replica's parameter gradients into this network's and zeroes the replica's.
    public func takeGradients(of replica: Sequential) {
        for (mine, theirs) in zip(trainableParameters, replica.trainableParameters) {
            precondition(mine.value === theirs.value, "takeGradients needs a replica of this network")
            let to = mine.grad.data, from = theirs.grad.data
            Threads.parallelFor(mine.grad.count) { r in addAndClear(to, from, r) }
        }
    }

    /// True when some layer mixes the images of a batch (`Layer.mixesImages`).
    public var mixesImages: Bool { layers.contains { $0.layer.mixesImages } }

    public var trainableParameters: [Parameter] { namedParameters.map(\.parameter).filter(\.trainable) }

    public var trainableCount: Int { trainableParameters.reduce(0) { $0 + $1.value.count } }
    public var totalCount: Int { namedParameters.reduce(0) { $0 + $1.parameter.value.count } }

    public func zeroGradients() {
        for p in trainableParameters { p.grad.fill(0) }
    }
}
