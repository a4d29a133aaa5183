import ArgumentParser
import Foundation
import ZooEngine
import ZooKit
import ZooRegistry

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show a model card: hyperparameters, training history, metrics, checkpoints and a preview.",
        discussion: "Examples:\n  zoo show dcgan-mnist\n  zoo show cgan-mnist --json")

    @Argument(help: "Model name.") var name: String
    @Flag(help: "Print JSON.") var json = false
    @Flag(help: "Skip the generated preview.") var noPreview = false
    @OptionGroup var registry: RegistryOptions

    func run() throws {
        let store = try Locations.store(registry.path)
        let card = try ModelCard.collect(name, store: store, previewCount: noPreview ? 0 : 8)
        if json {
            print(Format.json(card.json))
            return
        }
        print(Format.printable(card.terminalText))
    }
}

/// Everything a model card shows, gathered once for the terminal, JSON and HTML forms.
struct ModelCard {
    let info: ModelInfo
    let descriptor: ArchitectureDescriptor?
    let log: [TrainingLogRow]
    let metrics: [MetricRow]
    let checkpoints: [CheckpointInfo]
    let aliases: [(alias: String, epoch: Int)]
    let preview: Tensor?
    let parameterCounts: [(network: String, trainable: Int)]
    /// Per-epoch progress frames (PNG): how many, and for the HTML card the frames themselves.
    let frameCount: Int
    var frames: [ProgressFrame] = []
    /// The status to show: the stored one, or "interrupted" for a model left training by a
    /// process that is gone (see `ModelStore.displayStatus`).
    var status = ""

    /// `--eval-every` scores, by metric name: (epoch, value) in epoch order. The epoch is the
    /// one stored in the figure's details (training scores), else its checkpoint's.
    var qualityCurve: [String: [(epoch: Int, value: Double)]] {
        let epochOf = Dictionary(checkpoints.map { ($0.id, $0.epoch) }, uniquingKeysWith: { a, _ in a })
        var curve: [String: [(epoch: Int, value: Double)]] = [:]
        for m in metrics.sorted(by: { $0.createdAt < $1.createdAt }) where m.sampleCount == Trainer.evaluationSamples {
            let details = m.details.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            guard let epoch = (details?["epoch"] as? Int) ?? m.checkpointID.flatMap({ epochOf[$0] }) else { continue }
            curve[m.name, default: []].removeAll { $0.epoch == epoch }
            curve[m.name, default: []].append((epoch, m.value))
        }
        return curve.mapValues { $0.sorted { $0.epoch < $1.epoch } }
    }

    /// The epochs trained (the history's last).
    var completedEpochs: Int { log.map(\.epoch).max() ?? 0 }

    var hyperparameters: Hyperparameters? {
        try? Hyperparameters.decode(json: info.hyperparameters, model: info.name, networks: descriptor?.trainedNetworks)
    }

    static func collect(_ name: String, store: ModelStore, previewCount: Int) throws -> ModelCard {
        let info = try store.model(named: name)
        let descriptor = try? store.catalog.lookup(info.architecture).descriptor
        let checkpoints = try store.checkpoints(of: name)
        var preview: Tensor? = nil
        var counts: [(String, Int)] = []
        if !checkpoints.isEmpty {
            let loaded = try store.load(name, weightsOnly: true)
            let stored = loaded.storedNetworks
            counts = loaded.architecture.networks.filter { stored.contains($0.name) }.map {
                ($0.name, $0.network.trainableCount)
            }
            if previewCount > 0, loaded.architecture is any ImageGenerating {
                preview = try store.generate(with: loaded, count: previewCount, labels: nil, seed: 0).copy()
            }
        }
        let aliases = try store.aliases(of: name).map { (alias: $0.alias, epoch: $0.epoch) }
        var card = ModelCard(
            info: info, descriptor: descriptor, log: try store.trainingLog(of: name),
            metrics: try store.metrics(of: name), checkpoints: checkpoints, aliases: aliases,
            preview: preview, parameterCounts: counts, frameCount: try store.progressFrameCount(of: name))
        card.status = try store.displayStatus(of: name, stored: info.status)
        return card
    }

    /// The step metrics the history holds, in the architecture's order (then any others).
    var metricNames: [String] {
        let declared = descriptor?.stepMetricNames ?? StepResult.adversarialNames
        let stored = Set(log.flatMap { $0.metrics.map(\.name) })
        return declared.filter(stored.contains) + stored.subtracting(declared).sorted()
    }

    var latestMetrics: [MetricRow] {
        var seen = Set<String>()
        return metrics.sorted { $0.createdAt > $1.createdAt }.filter { seen.insert($0.name).inserted }.sorted {
            $0.name < $1.name
        }
    }

    var terminalText: String {
        var out: [String] = []
        out.append(
            "\(info.name)  —  \(descriptor?.title ?? info.architecture) on \(info.dataset)  [\(status)]")
        if let d = info.description, !d.isEmpty { out.append("  \(d)") }
        if let e = info.error, !e.isEmpty { out.append("  error: \(e)") }
        out.append(
            "  created \(Format.age(info.createdAt)), updated \(Format.age(info.updatedAt)), seed \(info.seed)"
                + (info.parent.map { ", derived from \($0)" } ?? ""))
        if !parameterCounts.isEmpty {
            out.append(
                "  parameters: "
                    + parameterCounts.map { "\($0.network) \(Format.count($0.trainable))" }.joined(separator: ", "))
        }
        out.append("\nHyperparameters")
        if let h = hyperparameters {
            out.append(
                "  recipe " + (h.recipe ?? "none (trained before recipes)") + ": "
                    + Format.hyperparameters(h, gan: descriptor?.kind != .classifier))
        } else {
            out.append("  \(info.hyperparameters)")
        }
        out.append("\nTraining history (\(log.count) epochs)")
        if log.isEmpty {
            out.append("  none yet")
        } else {
            for name in metricNames {
                let values = log.map { $0.value(name) ?? .nan }
                out.append(
                    "  \(name.padding(toLength: 10, withPad: " ", startingAt: 0)) \(Sparkline.render(values, width: 40))  last \(Format.number(values.last ?? .nan))"
                )
            }
            let seconds = log.map(\.seconds).reduce(0, +)
            out.append(
                "  \(Format.duration(seconds)) of training, \(Format.number(seconds / Double(log.count), digits: 1)) s/epoch"
            )
        }
        let curve = qualityCurve
        if !curve.isEmpty {
            out.append("\nQuality during training (--eval-every, n=\(Trainer.evaluationSamples), by epoch)")
            for name in ["score", "fd", "requested_accuracy", "classes_covered"] {
                guard let points = curve[name], let first = points.first, let last = points.last else { continue }
                out.append(
                    "  \(name.padding(toLength: 19, withPad: " ", startingAt: 0)) \(Sparkline.render(points.map(\.value), width: min(40, points.count)))  "
                        + "\(Format.number(first.value)) at epoch \(first.epoch) → \(Format.number(last.value)) at epoch \(last.epoch)"
                )
            }
        }
        out.append(
            "\nProgress frames: "
                + (frameCount == 0
                    ? "none (trained before zoo stored them)"
                    : "\(frameCount), \(frameCount == completedEpochs ? "one per epoch" : "epochs 1 to \(completedEpochs) evenly spaced") "
                        + "(`zoo progress \(info.name) --out \(info.name).gif`)"))
        out.append("\nMetrics")
        if latestMetrics.isEmpty {
            out.append("  none (run `zoo evaluate \(info.name)`)")
        } else {
            // Ten per-class distances would crowd the card: one line, beside their mean (fd_intra_mean).
            let perClass = latestMetrics.compactMap { m in
                Int(m.name.dropFirst("fd_class_".count)).flatMap { m.name.hasPrefix("fd_class_") ? ($0, m.value) : nil }
            }.sorted { $0.0 < $1.0 }
            for m in latestMetrics where !m.name.hasPrefix("fd_class_") {
                out.append(
                    "  \(m.name.padding(toLength: 20, withPad: " ", startingAt: 0)) \(Format.number(m.value, digits: 4))  (n=\(m.sampleCount.map(String.init) ?? "?"), \(m.evaluator ?? "unknown evaluator"))"
                )
            }
            if !perClass.isEmpty {
                out.append(
                    "  fd per class         "
                        + perClass.map { "\($0.0):\(Format.number($0.1, digits: 2))" }.joined(separator: " "))
            }
        }
        out.append("\nCheckpoints (\(checkpoints.count))")
        for c in checkpoints.suffix(5) {
            out.append("  epoch \(c.epoch)  step \(c.step)\(c.isFinal ? "  final" : "")  \(Format.age(c.createdAt))")
        }
        if checkpoints.count > 5 { out.append("  … \(checkpoints.count - 5) earlier") }
        if !aliases.isEmpty {
            out.append("Aliases: " + aliases.map { "\($0.alias) → epoch \($0.epoch)" }.joined(separator: ", "))
        }
        if let preview {
            out.append("\nPreview (seed 0)")
            out.append(TerminalPreview.render(preview, columns: Terminal.previewColumns(maximum: preview.batch)))
        }
        return out.joined(separator: "\n")
    }

    var json: [String: Any] {
        var result: [String: Any] = [
            "name": info.name, "architecture": info.architecture, "dataset": info.dataset,
            "status": info.status.rawValue, "interrupted": status == "interrupted",
            "seed": info.seed,
            "hyperparameters": (try? JSONSerialization.jsonObject(with: Data(info.hyperparameters.utf8))) ?? [:],
            "created": ISO8601DateFormatter().string(from: info.createdAt),
            "updated": ISO8601DateFormatter().string(from: info.updatedAt),
            "parameters": Dictionary(
                parameterCounts.map { ($0.network, $0.trainable) }, uniquingKeysWith: { a, _ in a }),
            "history": log.map { row -> [String: Any] in
                var entry: [String: Any] = ["epoch": row.epoch, "step": row.step, "seconds": row.seconds]
                for metric in row.metrics { entry[metric.name] = metric.value }
                return entry
            },
            "metrics": latestMetrics.map {
                [
                    "name": $0.name, "value": $0.value, "samples": $0.sampleCount ?? NSNull(),
                    "evaluator": $0.evaluator ?? NSNull(),
                ] as [String: Any]
            },
            "checkpoints": checkpoints.map {
                ["epoch": $0.epoch, "step": $0.step, "final": $0.isFinal] as [String: Any]
            },
            "aliases": Dictionary(aliases.map { ($0.alias, $0.epoch) }, uniquingKeysWith: { a, _ in a }),
            "progressFrames": frameCount,
            "qualityCurve": qualityCurve.mapValues { $0.map { ["epoch": $0.epoch, "value": $0.value] } },
        ]
        if let d = info.description { result["description"] = d }
        if let e = info.error { result["error"] = e }
        return result
    }
}

enum Terminal {
    /// Digits per preview row that fit the terminal (each is 28 characters wide + a gap).
    static func previewColumns(maximum: Int) -> Int {
        var size = winsize()
        let width: Int
        if isatty(STDOUT_FILENO) != 0, ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 {
            width = Int(size.ws_col)
        } else {
            width = Int(ProcessInfo.processInfo.environment["COLUMNS"] ?? "") ?? 80
        }
        return max(1, min(maximum, width / 29))
    }
}
