import ArgumentParser
import Foundation
import ZooKit
import ZooRegistry

struct Publish: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Copy models into a shippable registry: latest weights, history and metrics, no optimizer state.",
        discussion: """
            This is how Zoo/pretrained.sqlite is made (see tools/ship-zoo). A published model can \
            generate and be evaluated, but not resumed.

            Example:
              zoo publish dcgan-mnist cgan-mnist --to shipped.sqlite --float16
            """)

    @Argument(help: "Models to publish.") var names: [String]
    @Option(help: "Target registry file (created if missing).") var to: String
    @Flag(help: "Store the weights as float16.") var float16 = false
    @Flag(help: "GANs: ship the generator alone (drawing and scoring need nothing else).") var generatorOnly = false
    @Option(help: "At most this many progress frames per model, evenly spaced from the first epoch to the last.")
    var maxFrames: Int?
    @OptionGroup var registry: RegistryOptions

    func run() throws {
        guard !names.isEmpty else { throw UsageError("name at least one model to publish") }
        if let maxFrames, maxFrames < 2 { throw UsageError("--max-frames must be ≥ 2 (the first and the last epoch)") }
        let store = try Locations.store(registry.path)
        let target = ModelStore(registry: try Registry(path: to), catalog: store.catalog)
        for name in names {
            try store.publish(
                name, to: target, float16: float16, generatorOnly: generatorOnly, maxFrames: maxFrames)
            print("Published \(name) to \(to)\(float16 ? " (float16)" : "")\(generatorOnly ? ", generator only" : "")")
        }
    }
}
