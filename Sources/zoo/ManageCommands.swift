import ArgumentParser
import Foundation
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
        abstract: "Export one model (all checkpoints) to a standalone registry file.",
        discussion: "Example:\n  zoo export my-dcgan my-dcgan.zoo")
    @Argument(help: "Model name.") var name: String
    @Argument(help: "Output file (must not exist).") var file: String
    @OptionGroup var registry: RegistryOptions

    func run() throws {
        if FileManager.default.fileExists(atPath: file) {
            throw UsageError("\(file) already exists; choose another file name")
        }
        try OutputFile.checkWritable(file)
        try Locations.store(registry.path).export(name, to: file)
        let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        print("Exported \(name) to \(file) (\(Format.bytes(size)))")
    }
}

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a model from an exported file.",
        discussion:
            "Examples:\n  zoo import my-dcgan.zoo\n  zoo import my-dcgan.zoo --as dcgan-copy\n  zoo import Zoo/pretrained.sqlite --model cgan-mnist --as cgan-copy"
    )
    @Argument(help: "File written by `zoo export`.") var file: String
    @Option(name: .customLong("as"), help: "Import under this name.") var newName: String?
    @Option(help: "The model to import, when the file holds several (a shipped zoo, a registry).") var model: String?
    @OptionGroup var registry: RegistryOptions

    func run() throws {
        guard FileManager.default.fileExists(atPath: file) else { throw UsageError("\(file) does not exist") }
        let info = try Locations.store(registry.path).importModel(from: file, model: model, as: newName)
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
