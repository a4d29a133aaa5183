import Foundation
import ZooKit
import ZooONNX
import ZooRegistry

/// `zoo export --format onnx`: the generator as generation uses it (its moving average where it
/// has one), with the model's name, architecture, checkpoint and a SHA-256 of those weights in
/// `metadata_props`.
enum ONNXFile {
    static func export(_ store: ModelStore, _ name: String, checkpoint: CheckpointSelector) throws -> Data {
        let loaded = try store.load(name, checkpoint: checkpoint, networks: ["generator"], weightsOnly: true)
        let descriptor = loaded.architecture.descriptor
        guard let generator = loaded.architecture as? any ImageGenerating else {
            throw ZooError.notAGenerator(model: name, architecture: descriptor.name)
        }
        // `load` has already put what generation draws from into the generator (its average,
        // or a shipped model's stored average, whose moving-average tensors are not loaded at
        // all): the exporter must take those weights, not swap in an average again.
        (generator as? any AdversarialArchitecture)?.gan.ema = nil
        let weights = generator.withGenerationWeights { () -> String in
            var bytes = Data()
            for (network, stored) in generator.networks where network == "generator" {
                for (path, parameter) in stored.namedParameters {
                    bytes.append(contentsOf: Array("\(path)\(parameter.value.shape)".utf8))
                    parameter.value.array.withUnsafeBytes { bytes.append(contentsOf: $0) }
                }
            }
            return bytes.withUnsafeBytes { SHA256.hex($0) }
        }
        var metadata = [
            "model": name, "architecture": descriptor.name, "dataset": loaded.info.dataset,
            "checkpoint": "epoch \(loaded.checkpoint.epoch), step \(loaded.checkpoint.step)",
            "weights_sha256": weights, "zoo_version": ZooCommand.zooVersion,
        ]
        // The graph takes noise as input: a reader must draw it as the model was trained.
        if !generator.latentPrior.isGaussian { metadata["latent_prior"] = generator.latentPrior.summary }
        return try ONNXExport.generatorModel(of: generator, descriptor: descriptor, metadata: metadata)
    }
}
