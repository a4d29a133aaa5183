import Foundation
import XCTest

@testable import ZooRegistry

/// Models, checkpoints, moving models: run against every backend (`eachBackend`).
final class ModelTests: BackendTestCase {
    func testCreateListAndSuggestions() throws {
        try eachBackend { backend in
            let registry = try backend.make()
            try Fixture.registry(registry, model: "dcgan-mnist")
            try registry.createModel(
                name: "dcgan-fashion", architecture: "dcgan", dataset: "fashion", seed: .max, parent: "dcgan-mnist")
            XCTAssertEqual(try registry.model(named: "dcgan-fashion").seed, .max)
            XCTAssertEqual(try registry.model(named: "dcgan-fashion").parent, "dcgan-mnist")
            XCTAssertThrowsRegistryError(try registry.model(named: "dcgan-mnsit")) {
                if case let .modelNotFound(name, suggestions) = $0 {
                    return name == "dcgan-mnsit" && suggestions.first == "dcgan-mnist"
                }
                return false
            }
            XCTAssertThrowsRegistryError(
                try registry.createModel(name: "x'; drop table models;--", architecture: "dcgan", dataset: "m", seed: 1)
            ) {
                if case .invalidModelName = $0 { return true }; return false
            }
            XCTAssertThrowsRegistryError(
                try registry.createModel(name: "dcgan-mnist", architecture: "dcgan", dataset: "m", seed: 1)
            ) {
                $0 == .modelExists("dcgan-mnist")
            }
            XCTAssertThrowsRegistryError(
                try registry.createModel(name: "n", architecture: "nope", dataset: "m", seed: 1)
            ) {
                $0 == .architectureNotFound("nope")
            }
            try registry.saveCheckpoint(model: "dcgan-mnist", Fixture.checkpoint(epoch: 1, step: 10))
            try registry.saveCheckpoint(model: "dcgan-mnist", Fixture.checkpoint(epoch: 2, step: 20))
            try registry.recordMetric(
                model: "dcgan-mnist", checkpoint: .latest, name: "fid", value: 30, sampleCount: 1000,
                evaluator: "clf:abc",
                details: #"{"seed":1}"#)
            try registry.recordMetric(model: "dcgan-mnist", name: "fid", value: 20, sampleCount: 1000)
            try registry.setStatus("dcgan-mnist", status: .ready)
            let list = try registry.listModels()
            XCTAssertEqual(list.map(\.name), ["dcgan-fashion", "dcgan-mnist"])
            let mnist = list[1]
            XCTAssertEqual(mnist.epochs, 2); XCTAssertEqual(mnist.steps, 20); XCTAssertEqual(mnist.checkpointCount, 2)
            XCTAssertEqual(mnist.parameterCount, 64 * 16 + 64 + 64)
            XCTAssertEqual(mnist.rawBytes, 2 * 4 * (64 * 16 + 64 + 64))
            XCTAssertGreaterThan(mnist.storedBytes, 0)
            XCTAssertEqual(mnist.metrics, ["fid": 20])
            XCTAssertEqual(mnist.status, .ready)
            XCTAssertEqual(try registry.listModels(status: .training).map(\.name), ["dcgan-fashion"])
            XCTAssertEqual(try registry.listModels(dataset: "mnist").map(\.name), ["dcgan-mnist"])
            XCTAssertEqual(try registry.listModels(sort: .updated).first?.name, "dcgan-mnist")

            XCTAssertEqual(try registry.checkpoints(of: "dcgan-mnist").map(\.aliases), [[], ["latest"]])
            try registry.setAlias(model: "dcgan-mnist", alias: "best", checkpoint: .epoch(1))
            XCTAssertEqual(try registry.loadCheckpoint(model: "dcgan-mnist", checkpoint: .alias("best")).step, 10)
            XCTAssertEqual(try registry.loadCheckpoint(model: "dcgan-mnist").log.count, 2)
            XCTAssertEqual(try registry.loadCheckpoint(model: "dcgan-mnist", checkpoint: .epoch(1)).log.count, 1)
            XCTAssertEqual(try registry.aliases(of: "dcgan-mnist").map(\.alias), ["best", "latest"])
            XCTAssertThrowsRegistryError(try registry.loadCheckpoint(model: "dcgan-mnist", checkpoint: .epoch(9))) {
                if case .checkpointNotFound = $0 { return true }; return false
            }
            XCTAssertThrowsRegistryError(
                try registry.saveCheckpoint(model: "dcgan-mnist", Fixture.checkpoint(epoch: 2, step: 20))
            ) {
                $0 == .checkpointExists(model: "dcgan-mnist", step: 20)
            }
            XCTAssertEqual(try registry.metrics(of: "dcgan-mnist").map(\.value), [30, 20])
            XCTAssertEqual(try registry.trainingLog(of: "dcgan-mnist").map(\.step), [10, 20])

            try registry.renameModel("dcgan-mnist", to: "dcgan-mnist-v2")
            try registry.updateDescription("dcgan-mnist-v2", description: "first try")
            XCTAssertEqual(try registry.model(named: "dcgan-mnist-v2").description, "first try")
            XCTAssertEqual(try registry.model(named: "dcgan-fashion").parent, "dcgan-mnist-v2")
            XCTAssertThrowsRegistryError(try registry.renameModel("dcgan-mnist-v2", to: "Bad Name")) {
                if case .invalidModelName = $0 { return true }; return false
            }
        }
    }

    func testInvalidTensorsAreRejectedOnSave() throws {
        try eachBackend { backend in
            let registry = try backend.make()
            try Fixture.registry(registry)
            let bad = CheckpointRecord(
                epoch: 0, step: 0, tensors: [TensorRecord(network: "g", path: "w", shape: [2, 2], values: [1, 2, 3])])
            XCTAssertThrowsRegistryError(try registry.saveCheckpoint(model: "dcgan-mnist", bad)) {
                $0.description.contains("g/w") && $0.description.contains("needs 4 values")
            }
            XCTAssertEqual(try backend.count(registry, "checkpoints"), 0)
        }
    }

    func testDeleteRemovesEveryRow() throws {
        try eachBackend { backend in
            let registry = try backend.make()
            try Fixture.registry(registry)
            try registry.saveCheckpoint(model: "dcgan-mnist", Fixture.checkpoint(epoch: 1, step: 1))
            try registry.saveCheckpoint(model: "dcgan-mnist", Fixture.checkpoint(epoch: 2, step: 2))
            try registry.recordMetric(model: "dcgan-mnist", name: "score", value: 9)
            try registry.setAlias(model: "dcgan-mnist", alias: "best", checkpoint: .epoch(1))
            let tables = ["models", "checkpoints", "tensors", "metrics", "training_log", "aliases"]
            XCTAssertTrue(try tables.allSatisfy { try backend.count(registry, $0) > 0 })
            try registry.deleteModel("dcgan-mnist")
            for table in tables { XCTAssertEqual(try backend.count(registry, table), 0, table) }
            XCTAssertEqual(try backend.count(registry, "architectures"), 1)
            XCTAssertThrowsRegistryError(try registry.deleteModel("dcgan-mnist")) {
                if case .modelNotFound = $0 { return true }; return false
            }
        }
    }

    func testExportImportRoundTrip() throws {
        try eachBackend { backend in
            let source = try backend.make()
            try Fixture.registry(source)
            try source.saveCheckpoint(model: "dcgan-mnist", Fixture.checkpoint(epoch: 1, step: 5))
            try source.saveCheckpoint(model: "dcgan-mnist", Fixture.checkpoint(epoch: 2, step: 9, seed: 2))
            try source.recordMetric(
                model: "dcgan-mnist", checkpoint: .epoch(1), name: "fid", value: 12.5, sampleCount: 500)
            try source.setAlias(model: "dcgan-mnist", alias: "best", checkpoint: .epoch(1))
            try Fixture.registry(source, model: "other")  // must not travel with the export
            let exported = files.path("export-\(backend.name).sqlite")
            try source.export(model: "dcgan-mnist", to: exported)
            XCTAssertThrowsRegistryError(try source.export(model: "dcgan-mnist", to: exported)) {
                if case .fileExists = $0 { return true }; return false
            }

            let target = try backend.make()
            let info = try target.import(from: exported)
            XCTAssertEqual(info.name, "dcgan-mnist"); XCTAssertEqual(info.seed, 42);
            XCTAssertEqual(info.hyperparameters, #"{"lr":0.0001}"#)
            for selector in [CheckpointSelector.latest, .alias("best"), .epoch(1)] {
                XCTAssertEqual(
                    try target.loadCheckpoint(model: "dcgan-mnist", checkpoint: selector),
                    try source.loadCheckpoint(model: "dcgan-mnist", checkpoint: selector))
            }
            let metric = try XCTUnwrap(target.metrics(of: "dcgan-mnist").first)
            XCTAssertEqual(metric.value, 12.5)
            XCTAssertEqual(
                metric.checkpointID, try target.aliases(of: "dcgan-mnist").first { $0.alias == "best" }?.checkpointID)
            XCTAssertEqual(try target.trainingLog(of: "dcgan-mnist").count, 2)
            XCTAssertEqual(try target.listModels().map(\.name), ["dcgan-mnist"])

            XCTAssertThrowsRegistryError(try target.import(from: exported)) {
                $0 == .importClash("dcgan-mnist") && $0.description.contains("--as NEW")
            }
            let renamed = try target.import(from: exported, as: "dcgan-copy")
            XCTAssertEqual(renamed.name, "dcgan-copy")
            XCTAssertEqual(
                try target.loadCheckpoint(model: "dcgan-copy").tensors,
                try source.loadCheckpoint(model: "dcgan-mnist").tensors)
            XCTAssertTrue(try target.verify(model: nil).ok)
            // The file is the path between backends: a SQLite zoo reads what this one exported.
            let laptop = try Registry(path: files.path("laptop-\(backend.name).sqlite"))
            try laptop.import(from: exported)
            XCTAssertEqual(
                try laptop.loadCheckpoint(model: "dcgan-mnist", checkpoint: .alias("best")),
                try source.loadCheckpoint(model: "dcgan-mnist", checkpoint: .alias("best")))
            // A file of several models: the import asks which.
            let several = files.path("several-\(backend.name).sqlite")
            do {
                let file = try Registry(path: several)
                try Fixture.registry(file)
                try Fixture.registry(file, model: "other")
            }
            XCTAssertThrowsRegistryError(try target.import(from: several)) {
                if case let .importNeedsModel(_, available) = $0 { return available == ["dcgan-mnist", "other"] };
                return false
            }
            XCTAssertEqual(try target.import(from: several, model: "other").name, "other")
        }
    }

    /// A planned load checks every stored name and shape before it decodes anything: a
    /// mismatch names each path and leaves every destination as it was.
    /// Files edited by someone else: a flipped byte in a weight, a view in place of a table,
    /// an oversized history. Each import is refused with a typed error and the target registry
    /// keeps exactly what it had; an export leaves only the finished file.
    func testHostileImportsAreRefusedAndLeaveTheRegistryAsItWas() throws {
        try eachBackend { backend in
            let files = try TempFiles()
            defer { files.cleanUp() }
            let source = try backend.make()
            try Fixture.registry(source)
            try source.saveCheckpoint(model: "dcgan-mnist", Fixture.checkpoint(epoch: 1, step: 10))
            try source.export(model: "dcgan-mnist", to: files.path("m.zoo"))
            XCTAssertEqual(
                try FileManager.default.contentsOfDirectory(atPath: files.directory.path).filter {
                    $0.contains(".part-")
                },
                [])
            let target = try backend.make()
            func unchanged() throws -> Bool { try target.listModels().isEmpty && backend.count(target, "tensors") == 0 }

            // One flipped byte in the middle of a compressed weight.
            try FileManager.default.copyItem(atPath: files.path("m.zoo"), toPath: files.path("flipped.zoo"))
            do {
                let raw = try Database(path: files.path("flipped.zoo"), readOnly: false)
                var blob = try XCTUnwrap(
                    raw.first("SELECT blob FROM tensors WHERE path = 'dense.weight'") { $0.blob(0) })
                blob[blob.startIndex + blob.count / 2] ^= 0x5a
                try raw.run("UPDATE tensors SET blob = ? WHERE path = 'dense.weight'", [.blob(blob)])
            }
            XCTAssertThrowsRegistryError(try target.import(from: files.path("flipped.zoo"))) {
                guard case .importRefused = $0 else { return false }
                return $0.description.contains("generator/dense.weight")
            }
            XCTAssertTrue(try unchanged())

            // A recursive view where the training log should be.
            try FileManager.default.copyItem(atPath: files.path("m.zoo"), toPath: files.path("view.zoo"))
            try Database(path: files.path("view.zoo"), readOnly: false).exec(
                """
                DROP TABLE training_log;
                CREATE VIEW training_log AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n)
                    SELECT i AS id, 1 AS model_id, i AS epoch, i AS step, 0.0 AS seconds, '{}' AS metrics FROM n;
                """)
            XCTAssertThrowsRegistryError(try target.import(from: files.path("view.zoo"))) {
                $0.description.contains("training_log is a view")
            }
            XCTAssertTrue(try unchanged())

            // A trigger, which no registry has.
            try FileManager.default.copyItem(atPath: files.path("m.zoo"), toPath: files.path("trigger.zoo"))
            try Database(path: files.path("trigger.zoo"), readOnly: false).exec(
                "CREATE TRIGGER t AFTER INSERT ON metrics BEGIN DELETE FROM models; END;")
            XCTAssertThrowsRegistryError(try target.import(from: files.path("trigger.zoo"))) {
                $0.description.contains("trigger (t)")
            }
            XCTAssertTrue(try unchanged())

            // More log rows than any run writes.
            try FileManager.default.copyItem(atPath: files.path("m.zoo"), toPath: files.path("long.zoo"))
            try Database(path: files.path("long.zoo"), readOnly: false).exec(
                """
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 1000001)
                INSERT INTO training_log (model_id, epoch, step, metrics, seconds) SELECT 1, 1, i, '{}', 0 FROM n;
                """)
            XCTAssertThrowsRegistryError(try target.import(from: files.path("long.zoo"))) {
                $0.description.contains("training_log rows")
            }
            XCTAssertTrue(try unchanged())

            // The untouched file still imports.
            XCTAssertEqual(try target.import(from: files.path("m.zoo")).name, "dcgan-mnist")
        }
    }

    func testPlannedLoadValidatesBeforeWritingAnything() throws {
        try eachBackend { backend in
            let registry = try backend.make()
            try Fixture.registry(registry, model: "m")
            let record = Fixture.checkpoint(epoch: 0, step: 0)
            try registry.saveCheckpoint(model: "m", record)
            let buffers = record.tensors.map { tensor -> UnsafeMutablePointer<Float> in
                let p = UnsafeMutablePointer<Float>.allocate(capacity: tensor.values.count)
                p.initialize(repeating: -7, count: tensor.values.count)
                return p
            }
            defer { buffers.forEach { $0.deallocate() } }
            func plan(_ tensors: [TensorRecord], skipping: Set<String> = []) -> (CheckpointHeader) throws -> LoadPlan {
                { _ in
                    LoadPlan(
                        tensors: zip(tensors, buffers).map {
                            ExpectedTensor(
                                network: $0.network, path: $0.path, shape: $0.shape,
                                destination: Registry.TensorDestination($1))
                        }, skippedNetworks: skipping)
                }
            }
            func untouched() -> Bool {
                zip(record.tensors, buffers).allSatisfy { tensor, p in
                    (0..<tensor.values.count).allSatisfy { p[$0] == -7 }
                }
            }

            XCTAssertThrowsRegistryError(
                try registry.loadCheckpoint(model: "m", plan: plan(Array(record.tensors.prefix(2))))
            ) {
                $0 == .tensorMismatch(model: "m", missing: [], extra: ["discriminator/out.weight"], misShaped: [])
                    && $0.description.contains("unexpected discriminator/out.weight")
            }
            var wrong = record.tensors; wrong[1].shape = [32]
            XCTAssertThrowsRegistryError(try registry.loadCheckpoint(model: "m", plan: plan(wrong))) {
                $0.description.contains("wrong shape generator/dense.bias (stored [64], expected [32])")
            }
            var renamed = record.tensors; renamed[0].path = "dense.kernel"
            XCTAssertThrowsRegistryError(try registry.loadCheckpoint(model: "m", plan: plan(renamed))) {
                $0
                    == .tensorMismatch(
                        model: "m", missing: ["generator/dense.kernel"], extra: ["generator/dense.weight"],
                        misShaped: [])
            }
            XCTAssertTrue(untouched(), "a failed load wrote into a live tensor")

            // The generator alone, the discriminator skipped: only the generator's buffers change.
            let generator = try registry.loadCheckpoint(
                model: "m", plan: plan(Array(record.tensors.prefix(2)), skipping: ["discriminator"]))
            XCTAssertEqual(generator.tensors.map(\.path), ["dense.weight", "dense.bias"])
            XCTAssertTrue(generator.tensors.allSatisfy { $0.values.isEmpty }, "decoded in place, not into records")
            for (tensor, p) in zip(record.tensors.prefix(2), buffers) {
                XCTAssertEqual(Array(UnsafeBufferPointer(start: p, count: tensor.values.count)), tensor.values)
            }
            XCTAssertTrue(buffers[2][0] == -7, "a skipped network is not read")
            XCTAssertEqual(generator.trainingPosition, record.trainingPosition)
        }
    }
}
