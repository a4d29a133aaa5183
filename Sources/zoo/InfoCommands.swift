import ArgumentParser
import Foundation
import ZooCatalog
import ZooKit
import ZooRegistry

struct Architectures: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "architectures",
        abstract: "List the architecture plugins this build knows.",
        discussion: "Example:\n  zoo architectures")

    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let entries: [ArchitectureDescriptor] = builtinCatalog.entries.map { type in type.descriptor }
        if json {
            print(Format.json(entries.map(ArchitectureJSON.entry)))
            return
        }
        for d in entries {
            let flags = [d.kind.rawValue, d.conditional ? "conditional" : nil].compactMap { $0 }.joined(separator: ", ")
            print("\(d.name)  —  \(d.title) (\(flags))")
            print("    \(d.summary)")
            for (index, recipe) in d.recipes.enumerated() {
                let h = recipe.hyperparameters
                let label =
                    index == 0
                    ? "recipe \(recipe.name) (used without --recipe)"
                    : "recipe \(recipe.name) (--recipe \(recipe.name))"
                print("    \(label): \(recipe.summary)")
                print("        " + Format.hyperparameters(h, gan: d.kind == .gan))
            }
            print("    reference: \(d.reference)")
        }
    }
}

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the models in the registry.",
        discussion: """
            Models are listed by name. --sort ranks them by a stored evaluation metric (each model's \
            latest, from `zoo evaluate` or `zoo train --eval-every`), best first: score and \
            requested_accuracy descending, fd ascending; models without that metric come last, by name.

            Examples:
              zoo list
              zoo list --architecture dcgan --json
              zoo list --sort fd
            """)

    @OptionGroup var registry: RegistryOptions
    @Option(help: "Only this architecture.") var architecture: String?
    @Option(help: "Only this dataset (mnist, fashion).") var dataset: String?
    @Option(help: "Only this status (training, ready, failed).") var status: String?
    @Option(help: "Rank by a stored metric, best first (score, fd, requested_accuracy); default: by name.")
    var sort: RankingMetric?
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        var statusFilter: ModelStatus? = nil
        if let status {
            guard let s = ModelStatus(rawValue: status) else {
                throw UsageError("--status must be training, ready or failed")
            }
            statusFilter = s
        }
        let store = try Locations.store(registry.path)
        let byName = try store.models(architecture: architecture, dataset: dataset, status: statusFilter, sort: .name)
        let models = sort.map { $0.rank(byName) } ?? byName
        if json {
            print(Format.json(models.map(ModelJSON.summary)))
            return
        }
        if models.isEmpty {
            print("No models. Train one: zoo train dcgan --name my-dcgan --epochs 5")
            return
        }
        let trained = Set(try store.modelsBeingTrained())
        let rows = models.map { m -> [String] in
            [m.name] + (sort.map { [$0.value(of: m).map { Format.number($0) } ?? "-"] } ?? []) + [
                Format.printable(m.architecture), Format.printable(m.dataset), "\(m.epochs)",
                Format.count(m.parameterCount),
                "\(Format.bytes(m.storedBytes))/\(Format.bytes(m.rawBytes))", keyMetrics(m.metrics),
                store.displayStatus(of: m.name, stored: m.status, trained: trained),
                Format.age(m.updatedAt),
            ]
        }
        print(
            Format.table(
                ["NAME"] + (sort.map { [$0.rawValue.uppercased()] } ?? []) + [
                    "ARCHITECTURE", "DATASET", "EPOCHS", "PARAMETERS", "SIZE (stored/raw)", "METRICS", "STATUS",
                    "UPDATED",
                ], rows))
    }

    func keyMetrics(_ metrics: [String: Double]) -> String {
        let keys = ["accuracy", "score", "fd", "requested_accuracy", "classes_covered"]
        let shown = keys.compactMap { k in
            metrics[k].map { "\(k)=\(Format.number($0, digits: k == "classes_covered" ? 0 : 3))" }
        }
        return shown.isEmpty ? "-" : shown.joined(separator: " ")
    }
}

extension RankingMetric: ExpressibleByArgument {}
