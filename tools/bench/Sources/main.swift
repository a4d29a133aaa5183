// zoo-bench: the Zoo side of tools/bench/run (see tools/bench/README.md for the interface).
//   zoo-bench step --arch dense|dcgan|cgan --batch B --steps S --warmup W [--serial-d] [--json]
//   zoo-bench infer --arch A --batch B [--json]
//   zoo-bench rss --arch A [--batch B] [--steps S] [--json]
//   zoo-bench prepare-registry --out FILE
//   zoo-bench checkpoint-write --registry PATH|postgresql://… [--repeat N] [--json]
//   zoo-bench engine
import Foundation
import ZooCatalog
import ZooEngine
import ZooKit
import ZooPostgres
import ZooRegistry

struct BenchError: Error, CustomStringConvertible {
    let description: String
}

func option(_ name: String, _ args: [String]) -> String? {
    guard let i = args.firstIndex(of: "--\(name)"), i + 1 < args.count else { return nil }
    return args[i + 1]
}

func intOption(_ name: String, _ args: [String], default value: Int) throws -> Int {
    guard let text = option(name, args) else { return value }
    guard let n = Int(text), n > 0 else { throw BenchError(description: "--\(name) needs a positive integer") }
    return n
}

/// Benchmark names (shared with peers.py) → catalog names.
func architecture(_ args: [String]) throws -> (bench: String, type: any Architecture.Type) {
    let bench = option("arch", args) ?? "dcgan"
    let names = ["dense": "dense-gan", "dcgan": "dcgan", "cgan": "cgan"]
    guard let name = names[bench] else { throw BenchError(description: "--arch must be dense, dcgan or cgan") }
    return (bench, try builtinCatalog.lookup(name))
}

func make(_ type: any Architecture.Type, batch: Int, seed: UInt64 = 1) throws -> (any Architecture, RandomSource, Batch)
{
    let rng = RandomSource(seed: seed)
    // The seeds' values: the peers run the seed networks as the seeds train them.
    var h = (try? type.descriptor.recipe(named: Recipe.seedName))?.hyperparameters ?? type.descriptor.defaults
    h.batchSize = batch
    let model = try type.init(hyperparameters: h, rng: rng)
    let images = Tensor(shape: [batch] + type.descriptor.imageShape)
    rng.fillUniform(images, -1, 1)
    let labels = (0..<batch).map { $0 % 10 }
    return (model, rng, Batch(images: images, labels: labels))
}

func median(_ xs: [Double]) -> Double { percentile(xs, 0.5) }
func percentile(_ xs: [Double], _ q: Double) -> Double {
    let s = xs.sorted()
    return s[min(s.count - 1, Int((Double(s.count - 1) * q).rounded()))]
}

func emit(_ fields: [String: Any], json: Bool) {
    if json, let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]) {
        print(String(decoding: data, as: UTF8.self))
    } else {
        print(fields.keys.sorted().map { "\($0): \(fields[$0]!)" }.joined(separator: "  "))
    }
}

func peakRSSMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

func run(_ args: [String]) throws {
    guard let command = args.first else {
        throw BenchError(
            description: "usage: zoo-bench step|infer|rss|prepare-registry|checkpoint-write|engine [options]")
    }
    let json = args.contains("--json")
    Threads.configure()
    switch command {
    case "step":
        let (bench, type) = try architecture(args)
        let batch = try intOption("batch", args, default: 256)
        let steps = try intOption("steps", args, default: 20)
        let warmup = try intOption("warmup", args, default: 3)
        let (model, rng, data) = try make(type, batch: batch)
        // --serial-d: D's passes with split GEMMs instead of parallel slices (an A/B switch).
        if args.contains("--serial-d"), let gan = model as? any AdversarialArchitecture {
            gan.gan.parallelDiscriminator = false
        }
        for _ in 0..<warmup { _ = model.trainStep(data, rng: rng) }
        var times: [Double] = []
        for _ in 0..<steps {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = model.trainStep(data, rng: rng)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        emit(
            [
                "framework": "zoo", "arch": bench, "batch": batch, "median_ms": median(times),
                "p10_ms": percentile(times, 0.1),
                "p90_ms": percentile(times, 0.9), "steps": steps, "blas_core": BLASKernels.current,
                "threads": Threads.count,
            ], json: json)
    case "infer":
        let (bench, type) = try architecture(args)
        let batch = try intOption("batch", args, default: 256)
        let (model, rng, _) = try make(type, batch: batch)
        guard let generator = model as? any ImageGenerating else { throw BenchError(description: "not a generator") }
        let noise = Tensor(shape: [batch, type.descriptor.latentSize])
        rng.fillNormal(noise)
        let labels: [Int]? = type.descriptor.conditional ? (0..<batch).map { $0 % 10 } : nil
        var times: [Double] = []
        for i in 0..<23 {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = generator.generate(noise: noise, labels: labels)
            if i >= 3 { times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
        }
        emit(
            ["framework": "zoo", "arch": bench, "batch": batch, "images_per_s": Double(batch) / median(times)],
            json: json)
    case "rss":
        let (bench, type) = try architecture(args)
        let batch = try intOption("batch", args, default: 256)
        let steps = try intOption("steps", args, default: 5)
        let (model, rng, data) = try make(type, batch: batch)
        for _ in 0..<steps { _ = model.trainStep(data, rng: rng) }
        emit(["framework": "zoo", "arch": bench, "batch": batch, "peak_rss_mb": peakRSSMegabytes()], json: json)
    case "prepare-registry":
        guard let out = option("out", args) else { throw BenchError(description: "prepare-registry needs --out FILE") }
        try? FileManager.default.removeItem(atPath: out)
        let type = try builtinCatalog.lookup("dcgan")
        let (model, rng, _) = try make(type, batch: 256)
        let store = ModelStore(registry: try Registry(path: out), catalog: builtinCatalog)
        try store.save(
            model, name: "bench-dcgan", hyperparameters: type.descriptor.defaults, seed: 1, rng: rng,
            description: "untrained DCGAN for the cold-start benchmark")
        print("wrote \(out) with model bench-dcgan")
    case "checkpoint-write":
        // A DCGAN's whole training checkpoint (weights, Adam moments after two steps, RNG) stored
        // as a new model, `repeat` times: one `save` is one transaction of ~20 MB of tensors
        // (encoding included, the same for both backends).
        guard let location = option("registry", args) else {
            throw BenchError(description: "checkpoint-write needs --registry PATH or a postgresql:// URL")
        }
        let repeats = try intOption("repeat", args, default: 5)
        let type = try builtinCatalog.lookup("dcgan")
        let (model, rng, data) = try make(type, batch: 64)
        for _ in 0..<2 { _ = model.trainStep(data, rng: rng) }
        let backend: any RegistryBackend =
            PostgresURL.isPostgres(location) ? try PostgresRegistry(location) : try Registry(path: location)
        let store = ModelStore(registry: backend, catalog: builtinCatalog)
        var times: [Double] = []
        for i in 0..<repeats {
            let name = "bench-write-\(ProcessInfo.processInfo.processIdentifier)-\(i)"
            let start = Date()
            try store.save(model, name: name, hyperparameters: type.descriptor.defaults, seed: 1, rng: rng)
            times.append(Date().timeIntervalSince(start) * 1000)
        }
        let stored = try store.checkpoints(of: "bench-write-\(ProcessInfo.processInfo.processIdentifier)-0")
        emit(
            [
                "backend": store.location.hasPrefix("postgresql:") ? "postgresql" : "sqlite",
                "median_ms": median(times), "min_ms": times.min() ?? 0, "max_ms": times.max() ?? 0,
                "stored_mb": Double(stored.first?.storedBytes ?? 0) / 1e6,
                "raw_mb": Double(stored.first?.rawBytes ?? 0) / 1e6,
            ], json: json)
    case "engine":
        print(EngineBenchmark.run())
        let gemm =
            Threads.ownGEMMThreads ? "the engine's threads, single-threaded OpenBLAS per block" : "OpenBLAS's threads"
        print(
            "GEMM threading: \(gemm); OpenBLAS worker threads: \(Threads.ownGEMMThreads ? "stopped at start-up" : "running")"
        )
    default:
        throw BenchError(description: "unknown command \(command); use step, infer, rss, prepare-registry or engine")
    }
}

do {
    try run(Array(CommandLine.arguments.dropFirst()))
} catch {
    FileHandle.standardError.write(Data("zoo-bench: \(error)\n".utf8))
    exit(1)
}
