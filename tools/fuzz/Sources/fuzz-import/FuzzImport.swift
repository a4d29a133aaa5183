// libFuzzer target: importing a registry file from someone else, then using what came in.
// The input is the whole file. Whatever it holds, import must either refuse it with a typed
// error and leave the target registry as it was, or commit a model that verifies; loading that
// model (hyperparameters, training position, the planned tensor load) must succeed or throw a
// typed error. Seeds: ZOO_FUZZ_SEEDS=DIR makes the target write small valid exports there
// and exit (tools/fuzz does this first).
import Foundation
import ZooCatalog

@testable import ZooKit
@testable import ZooRegistry

private let path = FuzzScratch.file("fuzz-import")
/// One target registry for the whole run (creating one per input would cost more than the
/// import): every input starts with it empty, and a refused import must leave it so.
private let registry: Registry = {
    do { return try Registry.inMemory() } catch { fatalError("in-memory registry: \(error)") }
}()

enum FuzzImportSeeds {
    /// ZOO_FUZZ_SEEDS=DIR: write the seed exports there and exit.
    static func writeIfAsked() {
        guard let folder = ProcessInfo.processInfo.environment["ZOO_FUZZ_SEEDS"] else { return }
        do { try writeSeeds(to: folder) } catch { fatalError("cannot write the seeds: \(error)") }
        exit(0)
    }
}

func fuzzImport(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    FuzzScratch.write(bytes, count, to: path)
    defer { for suffix in ["-wal", "-shm", "-journal"] { unlink(path + suffix) } }
    let imported: ModelInfo
    do { imported = try registry.import(from: path) } catch let error as RegistryError {
        // Refused: nothing of it may have stayed behind.
        let left = (try? registry.listModels().count) ?? -1
        precondition(left == 0, "a refused import (\(error)) left \(left) models")
        return 0
    } catch { fatalError("untyped import error: \(error)") }

    do {
        let report = try registry.verify(model: imported.name)
        precondition(report.ok, "an imported model does not verify: \(report.problems)")
    } catch { fatalError("verify of an imported model threw: \(error)") }
    let store = ModelStore(registry: registry, catalog: builtinCatalog)
    do {
        _ = try store.load(imported.name)
        _ = try store.load(imported.name, withOptimizer: true)
    } catch is RegistryError {
    } catch is ZooError {
    } catch { fatalError("untyped load error: \(error)") }
    do { try registry.deleteModel(imported.name) } catch { fatalError("cannot delete the imported model: \(error)") }
    return 0
}

/// Small exports a fuzzer can start from: a conditional GAN's row with real hyperparameters
/// and training position but tiny tensors (two checkpoints, an alias, metrics, a frame), and
/// the same model published weights-only.
private func writeSeeds(to folder: String) throws {
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let registry = try Registry(path: "\(folder)/.seed-source-\(getpid()).sqlite")
    defer { for suffix in ["", "-wal", "-shm"] { unlink("\(folder)/.seed-source-\(getpid()).sqlite" + suffix) } }
    let type = try builtinCatalog.lookup("cgan")
    let d = type.descriptor
    try registry.registerArchitecture(
        name: d.name, version: d.version, summary: d.summary, conditional: d.conditional, kind: d.kind.rawValue)
    try registry.createModel(
        name: "seed", architecture: d.name, dataset: "mnist", hyperparameters: d.defaults.json(), seed: 7,
        description: "fuzz seed", parent: nil)
    var position = TrainingPosition(stepsPerEpoch: 3, datasetSize: 96)
    for (epoch, step) in [(1, 3), (2, 6)] {
        position.epoch = epoch
        position.globalStep = step
        position.optimizerSteps = ["generator": step, "discriminator": step]
        let values: [Float] = (0..<48).map { Float($0 + step) / 100 }
        try registry.saveCheckpoint(
            model: "seed",
            CheckpointRecord(
                epoch: epoch, step: step, isFinal: epoch == 2, trainingPosition: position.encoded(),
                rngState: Data(repeating: UInt8(step), count: 32),
                tensors: [
                    TensorRecord(network: "generator", path: "0.weight", shape: [4, 12], values: values),
                    TensorRecord(network: "discriminator", path: "0.bias", shape: [8], values: Array(values[0..<8])),
                    TensorRecord(network: "generator#adam", path: "0.weight.m", shape: [48], values: values),
                ],
                log: [TrainingLogRow(epoch: epoch, step: step, metrics: [StepMetric("d_loss", 1.2)], seconds: 0.1)]))
    }
    try registry.setAlias(model: "seed", alias: "best", checkpoint: .epoch(1))
    try registry.recordMetric(
        model: "seed", checkpoint: .latest, name: "score", value: 8.5, sampleCount: 2000, evaluator: "fuzz",
        details: #"{"epoch":2}"#)
    try registry.saveProgressFrame(model: "seed", ProgressFrame(epoch: 2, step: 6, png: Data([0x89, 0x50, 0x4e])))
    try registry.export(model: "seed", to: "\(folder)/seed-full.zoo")
    // The same file in 512-byte pages: a fifth of the size, so five times the inputs per second.
    let small = "\(folder)/seed-small-pages.zoo"
    try FileManager.default.copyItem(atPath: "\(folder)/seed-full.zoo", toPath: small)
    let db = try Database(path: small, readOnly: false)
    try db.exec("PRAGMA journal_mode = DELETE; PRAGMA page_size = 512; VACUUM")
}
