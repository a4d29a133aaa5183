import ArgumentParser
import Foundation
import ZooKit

struct Prune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete the checkpoints models no longer need and give the space back to the file system.",
        discussion: """
            Keeps, per model, the newest --keep checkpoints whole (the latest is where `zoo resume` \
            starts), and final and aliased checkpoints as weights without optimizer state, so \
            `--checkpoint final` or an alias still draws. Figures measured on a removed checkpoint \
            stay, with their epoch. Trainings prune as they go (train --keep-checkpoints); this is \
            for models trained before, or with --keep-checkpoints 0. Without a name, every model that \
            is not training is pruned. The file is compacted only while no training writes it.

            Examples:
              zoo prune dcgan-mnist
              zoo prune --keep 1
            """)

    @Argument(help: "Models to prune (default: every model not being trained).") var names: [String] = []
    @Option(help: "Newest checkpoints kept whole per model (≥ 1).") var keep: Int = Trainer.defaultKeptCheckpoints
    @Flag(help: "Only delete; leave the freed space inside the file (later checkpoints reuse it).") var noCompact =
        false
    @OptionGroup var registry: RegistryOptions

    func run() throws {
        guard keep >= 1 else { throw UsageError("--keep must be ≥ 1 (a model keeps the checkpoint it resumes from)") }
        let store = try Locations.store(registry.path)
        let before = try store.storageSpace()
        let training = Set(try store.modelsBeingTrained())
        var targets = names
        if targets.isEmpty {
            let all = try store.models().map(\.name)
            targets = all.filter { !training.contains($0) }
            for name in all where training.contains(name) { print("\(name): skipped, it is being trained") }
        }
        for name in targets {
            let r = try store.pruneCheckpoints(of: name, keepLatest: keep)
            var line = "\(name): removed \(r.checkpointsRemoved) checkpoint\(r.checkpointsRemoved == 1 ? "" : "s")"
            if r.checkpointsThinned > 0 { line += ", dropped the optimizer state of \(r.checkpointsThinned)" }
            line += " (\(Format.bytes(r.bytesRemoved))); \(r.checkpointsKept) kept"
            print(line)
        }
        if noCompact {
            print(
                "Not compacted (--no-compact): \(Format.bytes(try store.storageSpace().freeBytes)) free inside the file."
            )
            return
        }
        if let busy = training.first {
            print(
                "Not compacted: \(busy) is being trained in this registry, and compacting would hold up its checkpoints. "
                    + "The freed space is reused by later checkpoints; run `zoo prune` again when the training ends.")
            return
        }
        FileHandle.standardError.write("Compacting \(store.location) …\n")
        try store.compact()
        let after = try store.storageSpace()
        print("Registry \(store.location): \(Format.bytes(before.bytes)) → \(Format.bytes(after.bytes))")
    }
}
