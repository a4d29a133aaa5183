import ArgumentParser
import Foundation
import ZooKit
import ZooRegistry

struct Alias: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alias",
        abstract: "Point an alias (e.g. best) at a checkpoint of a model.",
        discussion: "Examples:\n  zoo alias my-dcgan best --checkpoint 4\n  zoo generate my-dcgan --checkpoint best")

    @Argument(help: "Model name.") var name: String
    @Argument(help: "Alias, e.g. best.") var alias: String
    @Option(help: "Epoch of the checkpoint (default: the latest).") var checkpoint: Int?
    @OptionGroup var registry: RegistryOptions

    func run() throws {
        let selector: CheckpointSelector = checkpoint.map { .epoch($0) } ?? .latest
        try Locations.store(registry.path).setAlias(model: name, alias: alias, checkpoint: selector)
        print("\(name)@\(alias) → \(checkpoint.map { "epoch \($0)" } ?? "latest checkpoint")")
    }
}

struct Rename: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rename", abstract: "Rename a model.", discussion: "Example:\n  zoo rename my-dcgan dcgan-v2")
    @Argument(help: "Current name.") var old: String
    @Argument(help: "New name.") var new: String
    @OptionGroup var registry: RegistryOptions

    func run() throws {
        try Locations.store(registry.path).rename(old, to: new)
        print("Renamed \(old) → \(new)")
    }
}

struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete a model with all its checkpoints, metrics and history.",
        discussion: "Example:\n  zoo delete my-dcgan")
    @Argument(help: "Model name.") var name: String
    @OptionGroup var registry: RegistryOptions

    func run() throws {
        try Locations.store(registry.path).delete(name)
        print("Deleted \(name)")
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a model: a registry file, safetensors weights or an ONNX generator.",
        discussion: """
            zoo (default): the model with every checkpoint, history and metrics, for `zoo import`.
            safetensors: one checkpoint's tensors, named NETWORK.PATH, metadata in __metadata__.
            onnx: the generator alone (its moving average where it has one), opset 17.
            The format follows the file's extension (.zoo, .safetensors, .onnx) unless --format says.

            Examples:
              zoo export my-dcgan my-dcgan.zoo
              zoo export cdcgan-mnist cdcgan.safetensors --dtype float32
              zoo export cdcgan-mnist cdcgan.onnx
            """)
    @Argument(help: "Model name.") var name: String
    @Argument(help: "Output file (must not exist).") var file: String
    @Option(help: "zoo, safetensors or onnx (default: from the extension, else zoo).") var format: ExportFormat?
    @Option(help: "Checkpoint (safetensors, onnx): latest, an alias, or an epoch number.") var checkpoint: String =
        "latest"
    @Flag(help: "safetensors: add the Adam moments (the latest checkpoint keeps them).") var withOptimizer = false
    @Option(help: "safetensors: as-stored, float32 or float16.") var dtype: ModelStore.TensorType = .asStored
    @OptionGroup var registry: RegistryOptions

    func run() throws {
        if FileManager.default.fileExists(atPath: file) {
            throw UsageError("\(file) already exists; choose another file name")
        }
        try OutputFile.checkWritable(file)
        let chosen = format ?? ExportFormat(extensionOf: file) ?? .zoo
        let store = try Locations.store(registry.path)
        if chosen != .safetensors && (withOptimizer || dtype != .asStored) {
            throw UsageError("--with-optimizer and --dtype apply to --format safetensors only")
        }
        switch chosen {
        case .zoo:
            guard checkpoint == "latest" else {
                throw UsageError("a .zoo export carries every checkpoint; --checkpoint is for safetensors and onnx")
            }
            try store.export(name, to: file)
        case .safetensors:
            let (data, count) = try store.safetensors(
                of: name, checkpoint: try CheckpointArgument.parse(checkpoint), withOptimizer: withOptimizer,
                dtype: dtype, version: ZooCommand.zooVersion)
            try OutputFile.write(data, to: file)
            print("\(count) tensors")
        case .onnx:
            let data = try ONNXFile.export(store, name, checkpoint: try CheckpointArgument.parse(checkpoint))
            try OutputFile.write(data, to: file)
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        print("Exported \(name) to \(file) (\(chosen.rawValue), \(Format.bytes(size)))")
    }
}

enum ExportFormat: String, ExpressibleByArgument, CaseIterable {
    case zoo, safetensors, onnx

    init?(extensionOf file: String) {
        switch (file as NSString).pathExtension.lowercased() {
        case "safetensors": self = .safetensors
        case "onnx": self = .onnx
        case "zoo", "sqlite": self = .zoo
        default: return nil
        }
    }
}

extension ModelStore.TensorType: ExpressibleByArgument {}

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a model from an exported file (.zoo, a registry, or safetensors weights).",
        discussion: """
            Examples:
              zoo import my-dcgan.zoo
              zoo import my-dcgan.zoo --as dcgan-copy
              zoo import Zoo/pretrained.sqlite --model cgan-mnist --as cgan-copy
              zoo import weights.safetensors --architecture dcgan --name my-dcgan
            A safetensors file must hold every tensor of the architecture (names NETWORK.PATH, as \
            `zoo export --format safetensors` writes them), each with its shape, and nothing else.
            """)
    @Argument(help: "File written by `zoo export`, or a .safetensors file.") var file: String
    @Option(name: [.customLong("as"), .customLong("name")], help: "Import under this name.") var newName: String?
    @Option(help: "The model to import, when the file holds several (a shipped zoo, a registry).") var model: String?
    @Option(help: "safetensors: the architecture to build (see `zoo architectures`).") var architecture: String?
    @OptionGroup var registry: RegistryOptions

    func run() throws {
        guard FileManager.default.fileExists(atPath: file) else { throw UsageError("\(file) does not exist") }
        let store = try Locations.store(registry.path)
        if architecture != nil || (file as NSString).pathExtension.lowercased() == "safetensors" {
            guard let architecture else {
                throw UsageError("a safetensors file needs --architecture ARCH (see `zoo architectures`)")
            }
            guard let newName else { throw UsageError("a safetensors import needs --name NAME") }
            guard model == nil else { throw UsageError("--model picks a model of a registry file, not of safetensors") }
            let data = try InputFile.read(file, limit: InputFile.maximumWeightsBytes)
            let info = try store.importSafetensors(data, source: file, architecture: architecture, as: newName)
            print("Imported \(info.name) (\(architecture), from \(file))")
            return
        }
        let info = try store.importModel(from: file, model: model, as: newName)
        print("Imported \(info.name)")
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the registry's integrity and every stored tensor's checksum.",
        discussion: "Examples:\n  zoo verify\n  zoo verify my-dcgan")
    @Argument(help: "Only this model.") var name: String?
    @OptionGroup var registry: RegistryOptions

    func run() throws {
        let report = try Locations.store(registry.path).verify(model: name)
        print("checked \(report.tensorsChecked) tensors in \(report.modelsChecked) models")
        if report.problems.isEmpty {
            print("ok: integrity check passed, every checksum matches")
            return
        }
        for problem in report.problems { print("problem: \(problem)") }
        throw VerifyFailed(count: report.problems.count)
    }
}

struct VerifyFailed: Error, CustomStringConvertible {
    let count: Int
    var description: String {
        "\(count) problem(s) found; restore the registry from an export or delete the damaged models"
    }
}
