import Foundation
import ZooData
import ZooEngine
import ZooRegistry

/// Models as safetensors: one checkpoint's tensors named NETWORK.PATH as the registry stores them
/// ("generator.dense.kernel", "generator#ema.bn0.gamma", "discriminator#adam.conv1.kernel.m"),
/// with the architecture and hyperparameters in `__metadata__`.
public extension ModelStore {
    enum TensorType: String, Sendable, CaseIterable {
        case asStored = "as-stored", float32, float16
    }

    /// The safetensors bytes of one checkpoint of `name`: every tensor it holds (the optimizer's
    /// moments too with `withOptimizer`, which only the latest checkpoint keeps).
    func safetensors(
        of name: String, checkpoint: CheckpointSelector = .latest, withOptimizer: Bool = false,
        dtype: TensorType = .asStored, version: String
    ) throws -> (data: Data, tensors: Int) {
        let loaded: Loaded
        do {
            loaded = try load(name, checkpoint: checkpoint, withOptimizer: withOptimizer, average: false)
        } catch ZooError.averageOnly {
            // A shipped model keeps only its generator's average, stored as the generator.
            loaded = try load(name, checkpoint: checkpoint, withOptimizer: withOptimizer, average: true)
        }
        let entries = loaded.checkpoint.tensors.map { record -> Safetensors.Entry in
            let type: Safetensors.DType
            switch dtype {
            case .asStored: type = record.storedDType == "float16" ? .float16 : .float32
            case .float32: type = .float32
            case .float16: type = .float16
            }
            return Safetensors.Entry(
                name: "\(record.network).\(record.path)", dtype: type, shape: record.shape, values: record.values)
        }
        var metadata = [
            "format": "zoo", "zoo_version": version, "model": name, "architecture": loaded.info.architecture,
            "architecture_version": String(loaded.architecture.descriptor.version),
            "dataset": loaded.info.dataset, "hyperparameters": loaded.info.hyperparameters,
            "checkpoint_epoch": String(loaded.checkpoint.epoch), "checkpoint_step": String(loaded.checkpoint.step),
        ]
        if loaded.position.generatorIsAverage == true { metadata["generator_is_average"] = "true" }
        if let published = loaded.position.publishedNetworks {
            metadata["networks"] = published.joined(separator: ",")
        }
        return (try Safetensors.encode(entries, metadata: metadata), entries.count)
    }

    /// Builds `architecture` and loads it strictly from safetensors bytes, as a new ready
    /// model: every tensor of every network must be there with its shape, and nothing else
    /// (optimizer moments excepted: they are not imported). A file without any tensor of the
    /// discriminator (a shipped model's export) becomes a generator-only model that draws but
    /// cannot be resumed. Hyperparameters come from the file's metadata when it has them
    /// (validated as for any stored model), else the architecture's defaults; a generator
    /// average is kept only when the file holds one.
    @discardableResult
    func importSafetensors(
        _ data: Data, source: String, architecture name: String, as modelName: String
    ) throws -> ModelInfo {
        try ModelName.validate(modelName)
        let (metadata, entries) = try Safetensors.decode(data)
        let type = try catalog.lookup(name)
        if let declared = metadata["architecture"], declared != name {
            throw ZooError.tensorsDoNotFit(
                source: source, architecture: name,
                problems: ["its metadata says it holds a \(declared); pass --architecture \(declared)"])
        }
        var hyperparameters = type.descriptor.defaults
        if let json = metadata["hyperparameters"] {
            hyperparameters = try Hyperparameters.decode(
                json: json, model: modelName, networks: type.descriptor.trainedNetworks)
        }
        let byName = Dictionary(entries.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let names = Set(byName.keys)
        if hyperparameters.aids.emaDecay > 0, !names.contains(where: { $0.hasPrefix(GeneratorEMA.network + ".") }) {
            hyperparameters.aids.emaDecay = 0
        }
        let rng = RandomSource(seed: 0)
        let model = try type.uninitialised(hyperparameters: hyperparameters, rng: rng)
        let live = model.namedTensors
        let present = Set(live.filter { names.contains("\($0.network).\($0.path)") }.map(\.network))
        // A network none of whose tensors is in the file is absent as a whole (a generator-only
        // file); one that is there must be complete.
        let generatorOnly =
            model is any ImageGenerating && present == ["generator"]
            && live.contains { $0.network != "generator" }
        var problems: [String] = []
        var expected = Set<String>()
        for entry in live where !generatorOnly || entry.network == "generator" {
            let key = "\(entry.network).\(entry.path)"
            expected.insert(key)
            guard let found = byName[key] else {
                problems.append("missing tensor \(key) \(entry.tensor.shape)")
                continue
            }
            guard found.shape == entry.tensor.shape else {
                problems.append("tensor \(key) has shape \(found.shape), \(name) needs \(entry.tensor.shape)")
                continue
            }
        }
        for extra in names.subtracting(expected).sorted() {
            let network = String(extra.prefix { $0 != "." })
            if Self.isOptimizerState(network) { continue }
            problems.append("unexpected tensor \(extra) (\(name) has no such parameter)")
        }
        guard problems.isEmpty else {
            throw ZooError.tensorsDoNotFit(source: source, architecture: name, problems: problems)
        }
        for entry in live where expected.contains("\(entry.network).\(entry.path)") {
            guard let found = byName["\(entry.network).\(entry.path)"] else { continue }
            found.values.withUnsafeBufferPointer {
                if let base = $0.baseAddress { entry.tensor.data.update(from: base, count: $0.count) }
            }
        }
        let description = "imported from \((source as NSString).lastPathComponent)"
        let dataset = metadata["dataset"] ?? "mnist"
        guard generatorOnly else {
            return try save(
                model, name: modelName, hyperparameters: hyperparameters, seed: 0, dataset: dataset, rng: rng,
                description: description)
        }
        try register(type)
        var position = TrainingPosition(stepsPerEpoch: 1, datasetSize: 0)
        position.publishedNetworks = ["generator"]
        if metadata["generator_is_average"] == "true" { position.generatorIsAverage = true }
        let tensors = live.filter { $0.network == "generator" }.map {
            TensorRecord(network: $0.network, path: $0.path, shape: $0.tensor.shape, values: $0.tensor.array)
        }
        var info: ModelInfo?
        try backend.batch {
            info = try backend.createModel(
                name: modelName, architecture: name, dataset: dataset, hyperparameters: hyperparameters.json(),
                seed: 0, description: description, parent: nil)
            try backend.saveCheckpoint(
                model: modelName,
                CheckpointRecord(
                    epoch: 0, step: 0, isFinal: true, trainingPosition: position.encoded(),
                    rngState: encodeRNG(rng.state),
                    tensors: tensors, log: []), float16: false)
            try backend.setStatus(modelName, status: .ready, error: nil)
        }
        guard let info else { throw ZooError.corruptModel(modelName, "the import stored no model row") }
        return info
    }
}
