import ZooEngine
import ZooRegistry

/// Generating images from a stored model, by name.
public extension ModelStore {
    /// The most images one request may ask for (memory stays under ~32 MB of pixels).
    static let maximumCount = 10_000

    /// Draws `count` images. For conditional models, `labels` gives each image's class
    /// (nil: cycle through the classes); unconditional models reject labels.
    /// Noise comes from RandomSource(seed), so the same request draws the same images.
    func generate(
        model name: String, count: Int, labels: [Int]? = nil, seed: UInt64,
        checkpoint: CheckpointSelector = .latest
    ) throws -> Tensor {
        guard (1...Self.maximumCount).contains(count) else {
            throw ZooError.countOutOfRange(count, limit: Self.maximumCount)
        }
        let loaded = try load(name, checkpoint: checkpoint, networks: ["generator"], weightsOnly: true)
        return try generate(with: loaded, count: count, labels: labels, seed: seed)
    }

    /// `noise`: the latent vectors to draw from ([count, latent], e.g. `--noise FILE.npy`, so
    /// the same noise can be fed to an exported model); nil draws them from `seed`.
    func generate(with loaded: Loaded, count: Int, labels: [Int]?, seed: UInt64, noise: Tensor? = nil) throws -> Tensor
    {
        let descriptor = loaded.architecture.descriptor
        if let noise {
            guard noise.shape == [count, descriptor.latentSize] else {
                throw ZooError.invalidNoise(
                    "it has shape \(noise.shape); \(loaded.info.name) needs [\(count), \(descriptor.latentSize)]")
            }
            guard noise.buffer.allSatisfy(\.isFinite) else {
                throw ZooError.invalidNoise("it holds NaN or infinite values")
            }
        }
        guard let generator = loaded.architecture as? any ImageGenerating else {
            throw ZooError.notAGenerator(model: loaded.info.name, architecture: descriptor.name)
        }
        var classLabels: [Int]? = nil
        if let labels {
            guard descriptor.conditional else { throw ZooError.notConditional(model: loaded.info.name) }
            guard labels.count == count else { preconditionFailure("\(labels.count) labels for \(count) images") }
            for label in labels where !(0..<descriptor.classes).contains(label) {
                throw ZooError.digitOutOfRange(label, classes: descriptor.classes)
            }
            classLabels = labels
        } else if descriptor.conditional {
            classLabels = (0..<count).map { $0 % descriptor.classes }
        }
        return Self.sample(
            generator, latentSize: descriptor.latentSize, imageShape: descriptor.imageShape,
            count: count, labels: classLabels, seed: seed, noise: noise)
    }

    /// Runs the generator in batches of at most 256 in inference mode, on `given` noise rows or
    /// on noise drawn from `seed`.
    static func sample(
        _ generator: any ImageGenerating, latentSize: Int, imageShape: [Int], count: Int,
        labels: [Int]?, seed: UInt64, noise given: Tensor? = nil
    ) -> Tensor {
        let rng = RandomSource(seed: seed)
        let out = Tensor(shape: [count] + imageShape)
        let perImage = imageShape.reduce(1, *)
        let noise = Tensor(shape: [0])
        var start = 0
        while start < count {
            let n = min(256, count - start)
            noise.resize([n, latentSize])
            if let given {
                noise.data.update(from: given.data + start * latentSize, count: n * latentSize)
            } else {
                generator.latentPrior.fill(noise, rng: rng)
            }
            let images = generator.generate(noise: noise, labels: labels.map { Array($0[start..<start + n]) })
            (out.data + start * perImage).update(from: images.data, count: n * perImage)
            start += n
        }
        return out
    }
}
