import ArgumentParser
import Foundation
import ZooData
import ZooEngine
import ZooKit

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score a model with the zoo's classifier and store the metrics.",
        discussion: """
            Generators: MNIST score (max 10), Fréchet distance to the 10k test digits on the \
            classifier's features, class coverage, KL from uniform, and for conditional models \
            requested-digit accuracy and the Fréchet distance per class (each class's generated \
            images against the test images of that class; stored as fd_class_0… and their mean \
            fd_intra_mean). Classifiers: test accuracy. --reference also prints the same \
            figures for real test digits, to read the numbers against.

            Examples:
              zoo evaluate dcgan-mnist
              zoo evaluate cgan-mnist --samples 10000 --reference
            """)

    @Argument(help: "Model name.") var name: String
    @Option(help: "Generated images to score (100–10000).") var samples: Int = 10_000
    @Option(help: "Noise seed.") var seed: UInt64 = 0
    @Option(
        help:
            "Classifier model used as the evaluator (default: mnist-classifier, fashion-classifier for Fashion-MNIST models)."
    ) var classifier: String?
    @Option(help: "The evaluator's dataset folder (default: $ZOO_DATA, else ./data/mnist; Fashion-MNIST: Debian's).")
    var data: String?
    @Option(help: "Checkpoint: latest, an alias, or an epoch number.") var checkpoint: String = "latest"
    @Flag(help: "Draw from the trained generator, not its moving average (figures printed, not stored).") var noEma =
        false
    @Flag(help: "Also score 10k real test digits against the training set.") var reference = false
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var registry: RegistryOptions

    func run() throws {
        guard (100...10_000).contains(samples) else { throw UsageError("--samples must be in 100...10000") }
        let store = try Locations.store(registry.path)
        // A model is judged on its own dataset: by its own test split (a classifier) or by
        // that dataset's classifier (a generator); Fashion-MNIST's files default to Debian's.
        let info = try store.model(named: name)
        let isClassifier = (try? store.catalog.lookup(info.architecture).descriptor.kind) == .classifier
        let judge = isClassifier ? name : (classifier ?? Evaluator.defaultClassifier(for: info.dataset))
        let judgeDataset = isClassifier ? info.dataset : ((try? store.model(named: judge).dataset) ?? info.dataset)
        let directory = data ?? (judgeDataset == DatasetChoice.fashion.rawValue ? nil : Locations.dataDirectory(nil))
        let evaluator = try Evaluator(store: store, classifier: judge, dataDirectory: directory)
        var reports = [
            try evaluator.evaluate(
                model: name, samples: samples, seed: seed,
                checkpoint: try CheckpointArgument.parse(checkpoint), average: !noEma)
        ]
        if reference { reports.append(try evaluator.referenceRow()) }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(reports), as: UTF8.self))
            return
        }
        for r in reports { print(Self.describe(r)) }
        let hasAverage =
            ((try? Hyperparameters.decode(
                json: info.hyperparameters, model: name,
                networks: try? store.catalog.lookup(info.architecture).descriptor.trainedNetworks))?.aids.emaDecay ?? 0)
            > 0
        let selector = try CheckpointArgument.parse(checkpoint)
        let stored =
            reports[0].testAccuracy != nil
            || Evaluator.stores(checkpoint: selector, average: !noEma, hasAverage: hasAverage)
        guard stored else {
            print(
                "Not stored: a model's figures are those of its latest checkpoint as it draws (no --checkpoint, no --no-ema)."
            )
            return
        }
        let scoredBy =
            reports[0].testAccuracy != nil
            ? "scored on \(reports[0].referenceSplit)"
            : "evaluator \(evaluator.classifierName)@\(evaluator.classifierSHA256.prefix(12))"
        print("Stored in the registry (see `zoo show \(name)`); \(scoredBy).")
    }

    static func describe(_ r: EvaluationReport) -> String {
        var lines = ["\(r.model)  (n=\(r.samples), seed \(r.seed))"]
        if let accuracy = r.testAccuracy {
            lines.append("  test accuracy      \(Format.number(accuracy * 100, digits: 2))%")
            return lines.joined(separator: "\n")
        }
        // Fashion-MNIST's figures come from its own classifier: the same measures, other words.
        let fashion = r.referenceSplit.hasPrefix(DatasetChoice.fashion.rawValue)
        let item = fashion ? "class" : "digit"
        lines.append("  \(fashion ? "Fashion score      " : "MNIST score        ")\(Format.number(r.score)) / 10")
        lines.append("  Fréchet distance   \(Format.number(r.frechetDistance)) (vs \(r.referenceSplit))")
        lines.append(
            "  classes covered    \(r.classesCovered)/10   KL from uniform \(Format.number(r.klFromUniform, digits: 4))"
        )
        let total = max(r.histogram.reduce(0, +), 1)
        lines.append(
            "  class histogram    "
                + r.histogram.enumerated().map {
                    "\($0.offset):\(Format.number(100 * Double($0.element) / Double(total), digits: 1))%"
                }.joined(separator: " "))
        if let accuracy = r.requestedAccuracy {
            lines.append("  requested \(item)    \(Format.number(accuracy * 100, digits: 2))% correct")
            if let per = r.requestedAccuracyPerDigit {
                lines.append(
                    "    per \(item)        "
                        + per.enumerated().map { "\($0.offset):\(Format.number($0.element * 100, digits: 1))" }.joined(
                            separator: " "))
            }
        }
        lines += describePerClass(r)
        return lines.joined(separator: "\n")
    }

    /// Conditional models' per-class Fréchet distances: one line, then why any class has none.
    static func describePerClass(_ r: EvaluationReport) -> [String] {
        guard let perClass = r.frechetDistancePerClass else { return [] }
        let mean = r.frechetDistanceIntraMean.map { Format.number($0) } ?? "n/a"
        return [
            "  Fréchet per class  intra mean \(mean)   "
                + perClass.enumerated().map { "\($0.offset):\($0.element.map { Format.number($0, digits: 2) } ?? "-")" }
                .joined(separator: " ")
        ] + (r.frechetDistanceClassNotes ?? []).map { "    \($0)" }
    }
}

struct Card: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "card",
        abstract: "Write a self-contained HTML model card.",
        discussion: "Example:\n  zoo card dcgan-mnist --html dcgan-mnist.html")

    @Argument(help: "Model name.") var name: String
    @Option(help: "Output HTML file.") var html: String
    @OptionGroup var registry: RegistryOptions

    func run() throws {
        try OutputFile.checkWritable(html)
        let store = try Locations.store(registry.path)
        var card = try ModelCard.collect(name, store: store, previewCount: 0)
        card.frames = try store.progressFrames(of: name)
        var grid: Data? = nil
        if let loaded = try? store.load(name), loaded.architecture is any ImageGenerating {
            let conditional = loaded.architecture.descriptor.conditional
            let images = try store.generate(
                with: loaded, count: conditional ? 100 : 64,
                labels: conditional ? (0..<100).map { $0 / 10 } : nil, seed: 0)
            let tiled = ImageGrid.tile(
                images, rows: conditional ? 10 : 8, cols: conditional ? 10 : 8, padding: 2, scale: 2)
            grid = try ImageGrid.pngData(pixels: tiled.pixels, width: tiled.width, height: tiled.height)
        }
        let page = HTMLCard.render(card, samplePNG: grid)
        do { try page.write(toFile: html, atomically: true, encoding: .utf8) } catch {
            throw UsageError("cannot write \(html): \(error.localizedDescription)")
        }
        print("Wrote \(html)")
    }
}
