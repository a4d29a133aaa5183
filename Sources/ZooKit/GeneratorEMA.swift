import ZooEngine

/// An exponential moving average of a generator's weights (StudioGAN's G_ema): after each
/// G update, shadow ← d·shadow + (1 − d)·w for every trainable tensor, with the decay
/// warmed up as d = min(decay, (1 + t)/(10 + t)) after the t-th update (TensorFlow's
/// ExponentialMovingAverage with num_updates), so early epochs are not dominated by the
/// initial weights. Non-trainable state (BatchNorm's moving statistics) is copied as is:
/// it describes the live network's activations, the best estimate available for the average.
///
/// The shadows are stored as network `generator#ema` (the '#' marks state that is not a
/// parameter of its own: listings do not count it) under the generator's paths.
public final class GeneratorEMA {
    public static let network = "generator#ema"
    public let decay: Float
    /// The generator's tensors, in `namedParameters` order, and their averages.
    let sources: [(path: String, parameter: Parameter)]
    public let shadows: [Tensor]

    public init(of generator: Sequential, decay: Float) {
        self.decay = decay
        sources = generator.namedParameters.map { (path: $0.path, parameter: $0.parameter) }
        shadows = sources.map { $0.parameter.value.copy() }
    }

    /// The decay applied by the `updates`-th update (1-based).
    public func effectiveDecay(updates: Int) -> Float {
        let t = Float(max(updates, 1) - 1)
        return min(decay, (1 + t) / (10 + t))
    }

    /// Folds the generator's current weights in; `updates` is the generator's Adam step count
    /// (stored with every checkpoint, so a resumed run averages exactly as an unbroken one).
    public func update(updates: Int) {
        let d = effectiveDecay(updates: updates), keep = 1 - d
        for (source, shadow) in zip(sources, shadows) {
            let w = source.parameter.value.data, s = shadow.data
            if source.parameter.trainable {
                Threads.parallelFor(shadow.count) { range in
                    for i in range { s[i] = d * s[i] + keep * w[i] }
                }
            } else {
                shadow.copy(from: source.parameter.value)
            }
        }
    }

    public var namedTensors: [(network: String, path: String, tensor: Tensor)] {
        zip(sources, shadows).map { (network: Self.network, path: $0.path, tensor: $1) }
    }

    /// Runs `body` with the averages in the generator's tensors, then puts the live weights back.
    public func withAverageWeights<T>(_ body: () throws -> T) rethrows -> T {
        let live = sources.map { $0.parameter.value.copy() }
        for (source, shadow) in zip(sources, shadows) { source.parameter.value.copy(from: shadow) }
        defer { for (source, saved) in zip(sources, live) { source.parameter.value.copy(from: saved) } }
        return try body()
    }

    /// Puts the averages into the generator for good (a model loaded for generation).
    public func install() {
        for (source, shadow) in zip(sources, shadows) { source.parameter.value.copy(from: shadow) }
    }
}
