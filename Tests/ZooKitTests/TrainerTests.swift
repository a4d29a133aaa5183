import XCTest
import ZooCatalog
import ZooEngine
import ZooRegistry

@testable import ZooKit

final class TrainerTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = try Fixtures.temporaryDirectory()
        try Fixtures.writeSyntheticMNIST(to: directory, count: 96)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func request(_ architecture: String, _ name: String, epochs: Int) -> TrainingRequest {
        var r = TrainingRequest(architecture: architecture, name: name, dataDirectory: directory.path)
        r.epochs = epochs
        r.batchSize = 32
        r.seed = 11
        return r
    }

    func weights(_ store: ModelStore, _ name: String) throws -> [String: [Float]] {
        let record = try store.sqlite.loadCheckpoint(model: name, checkpoint: .latest)
        return Dictionary(
            record.tensors.map { ("\($0.network)/\($0.path)", $0.values) }, uniquingKeysWith: { a, _ in a })
    }

    /// Two epochs straight == one epoch, stop, resume for one (DCGAN: BatchNorm + dropout,
    /// and a checkpoint mid-epoch via an interruption). The GAN family's new state too: spectral
    /// norm's power-iteration vectors (sngan), WGAN-GP's five critic steps per G step across a
    /// stop, ACGAN's class head.
    func testResumeIsBitExact() throws {
        for architecture in ["dcgan", "cgan", "sngan", "wgan-gp", "acgan"] {
            let store = try Fixtures.store(
                at: directory.appendingPathComponent(architecture, isDirectory: true).creatingDirectory())
            let trainer = Trainer(store: store)
            let straight = try trainer.train(request(architecture, "straight", epochs: 2))
            XCTAssertFalse(straight.interrupted)
            XCTAssertEqual(straight.steps, 6)

            _ = try trainer.train(request(architecture, "resumed", epochs: 1))
            _ = try trainer.resume("resumed", epochs: 2, dataDirectory: directory.path, checkpointEvery: nil)

            var stops = 0
            trainer.shouldStop = {
                stops += 1; return stops == 4
            }  // stop mid-epoch 2
            let interrupted = try trainer.train(request(architecture, "interrupted", epochs: 2))
            XCTAssertTrue(interrupted.interrupted)
            XCTAssertEqual(interrupted.steps, 4)
            trainer.shouldStop = { false }
            _ = try trainer.resume("interrupted", epochs: nil, dataDirectory: directory.path, checkpointEvery: nil)

            let reference = try weights(store, "straight")
            XCTAssertGreaterThan(reference.count, 4)
            XCTAssertEqual(try weights(store, "resumed"), reference, "\(architecture): resumed weights differ")
            XCTAssertEqual(
                try weights(store, "interrupted"), reference, "\(architecture): weights after an interruption differ")
            XCTAssertEqual(try store.sqlite.model(named: "resumed").status, .ready)
            // Extending the plan on resume is recorded with the model, the other settings kept.
            let plan = try Hyperparameters.decode(
                json: try store.sqlite.model(named: "resumed").hyperparameters, model: "resumed")
            XCTAssertEqual(plan.epochs, 2)
            XCTAssertEqual(plan.batchSize, request(architecture, "resumed", epochs: 1).batchSize)
            XCTAssertEqual(
                try store.sqlite.trainingLog(of: "straight").map { $0.value("d_loss") },
                try store.sqlite.trainingLog(of: "interrupted").map { $0.value("d_loss") })
        }
    }

    func testCheckpointEveryWritesCheckpointsAndLogsEpochs() throws {
        let store = try Fixtures.store(at: directory)
        let trainer = Trainer(store: store)
        var events: [TrainingProgress.Event] = []
        trainer.progress = { events.append($0.event) }
        trainer.keepCheckpoints = nil
        var r = request("cgan", "every", epochs: 2)
        r.checkpointEvery = 2
        _ = try trainer.train(r)
        XCTAssertEqual(events.filter { $0 == .epochEnd }.count, 2)
        let checkpoints = try store.sqlite.checkpoints(of: "every")
        XCTAssertEqual(checkpoints.map(\.step), [0, 2, 3, 4, 6], "the untrained state, every 2 steps, epoch ends")
        XCTAssertEqual(checkpoints.last?.isFinal, true)
        XCTAssertEqual(try store.sqlite.trainingLog(of: "every").map(\.epoch), [1, 2])
    }

    /// A training keeps its newest K checkpoints as it goes (and its final one), and a run
    /// resumed from a pruned model is still bit-exact with one that kept everything.
    func testTrainingPrunesAsItGoesAndStaysBitExact() throws {
        let store = try Fixtures.store(at: directory)
        let trainer = Trainer(store: store)
        var most = 0
        trainer.progress = { _ in most = max(most, (try? store.sqlite.checkpoints(of: "kept-2").count) ?? 0) }
        trainer.keepCheckpoints = 2
        var r = request("cgan", "kept-2", epochs: 3)
        r.checkpointEvery = 1
        _ = try trainer.train(r)
        XCTAssertEqual(try store.sqlite.checkpoints(of: "kept-2").map(\.step), [8, 9])
        XCTAssertEqual(most, 2, "never more than K checkpoints after a save")
        trainer.progress = { _ in }
        trainer.keepCheckpoints = 1
        _ = try trainer.resume("kept-2", epochs: 4, dataDirectory: directory.path, checkpointEvery: nil)
        // The epoch-3 final keeps its weights (its optimizer state goes); the newest is whole.
        let left = try store.sqlite.checkpoints(of: "kept-2")
        XCTAssertEqual(left.map(\.step), [9, 12])
        let final3 = try store.sqlite.loadCheckpoint(model: "kept-2", checkpoint: .id(left[0].id))
        XCTAssertFalse(final3.tensors.contains { $0.network.contains("#") })

        trainer.keepCheckpoints = nil
        _ = try trainer.train(request("cgan", "kept-all", epochs: 4))
        XCTAssertEqual(try store.sqlite.checkpoints(of: "kept-all").count, 5)
        XCTAssertEqual(try weights(store, "kept-2"), try weights(store, "kept-all"))
    }

    /// A checkpoint is compressed before the registry's write lock is taken. Two trainings on
    /// one file: one compressing a 100 MB checkpoint inside its transaction held the lock past
    /// the 5 s busy timeout, and the other died with "database is locked". Shown without a
    /// clock: while another connection holds the write lock, a record the codec refuses fails
    /// with the codec's own error; asking for the lock first would fail with "database is
    /// locked" after the timeout instead.
    func testCheckpointIsCompressedBeforeTheWriteLockIsTaken() throws {
        let store = try Fixtures.store(at: directory)
        let other = try Registry(path: directory.appendingPathComponent("registry.sqlite").path)
        let locked = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        var holderError: Error?
        let holder = Thread {
            do {
                try other.batch {
                    locked.signal()
                    release.wait()
                }
            } catch {
                holderError = error
                locked.signal()
            }
        }
        holder.start()
        locked.wait()
        defer { release.signal() }
        XCTAssertNil(holderError, "the other connection holds the write lock")
        let refused = CheckpointRecord(
            epoch: 1, step: 1, isFinal: false, trainingPosition: Data(), rngState: Data(),
            tensors: [TensorRecord(network: "generator", path: "w", shape: [4, 4], values: [1, 2, 3])])
        XCTAssertThrowsError(try store.checkpoint(model: "any", refused, keepLatest: 2)) { error in
            guard case RegistryError.invalidTensor(_, "generator", "w", _) = error else {
                return XCTFail("the codec's error, before any lock: got \(error)")
            }
        }
    }

    /// A training killed before its first checkpoint left a model stuck at "training" with
    /// nothing to resume from. Now the untrained state commits with the row: a copy of the
    /// registry taken during the first step resumes to the same weights as the full run.
    func testAModelIsResumableFromTheMomentItExists() throws {
        let store = try Fixtures.store(at: directory)
        let trainer = Trainer(store: store)
        let snapshot = directory.appendingPathComponent("during-step-1.zoo").path
        var first = true
        trainer.progress = { _ in
            guard first else { return }
            first = false
            let steps = (try? store.sqlite.checkpoints(of: "early"))?.map(\.step)
            XCTAssertEqual(steps, [0])
            do { try store.export("early", to: snapshot) } catch { XCTFail("export during training: \(error)") }
        }
        _ = try trainer.train(request("cgan", "early", epochs: 2))
        XCTAssertFalse(first)

        let other = try Fixtures.store(
            at: directory.appendingPathComponent("other", isDirectory: true).creatingDirectory())
        _ = try other.importModel(from: snapshot)
        XCTAssertEqual(try other.sqlite.model(named: "early").status, .training)
        XCTAssertEqual(try other.displayStatus(of: "early", stored: .training), "interrupted")
        let resumed = try Trainer(store: other).resume(
            "early", epochs: nil, dataDirectory: directory.path, checkpointEvery: nil)
        XCTAssertEqual(resumed.steps, 6)
        XCTAssertEqual(try weights(other, "early"), try weights(store, "early"))
    }

    /// A stop asked for on a step that --checkpoint-every just saved checkpoints once and
    /// leaves a resumable model (it used to save the step twice, fail and mark the model failed).
    func testStopOnACheckpointStepSavesOnce() throws {
        let store = try Fixtures.store(at: directory)
        let trainer = Trainer(store: store)
        var r = request("cgan", "stop-on-checkpoint", epochs: 2)
        r.checkpointEvery = 2
        var steps = 0
        trainer.shouldStop = {
            steps += 1; return steps == 2
        }
        let outcome = try trainer.train(r)
        XCTAssertTrue(outcome.interrupted)
        XCTAssertEqual(try store.sqlite.checkpoints(of: "stop-on-checkpoint").map(\.step), [0, 2])
        XCTAssertNotEqual(try store.sqlite.model(named: "stop-on-checkpoint").status, .failed)
        // Unfinished, it cannot be published (it would ship as "ready" with a mid-run epoch).
        let shipped = try Fixtures.store(
            at: directory.appendingPathComponent("shipped", isDirectory: true).creatingDirectory())
        XCTAssertThrowsError(try store.publish("stop-on-checkpoint", to: shipped, float16: true)) {
            XCTAssertTrue("\($0)".contains("is interrupted, not finished"), "\($0)")
        }
        XCTAssertFalse(try shipped.contains(model: "stop-on-checkpoint"))
        trainer.shouldStop = { false }
        let resumed = try trainer.resume(
            "stop-on-checkpoint", epochs: nil, dataDirectory: directory.path, checkpointEvery: 2)
        XCTAssertEqual(resumed.steps, 6)
        XCTAssertEqual(try store.sqlite.model(named: "stop-on-checkpoint").status, .ready)
    }

    func testFailuresLeaveNoModel() throws {
        let store = try Fixtures.store(at: directory)
        let trainer = Trainer(store: store)
        var bad = request("cgan", "nodata", epochs: 1)
        bad.dataDirectory = directory.appendingPathComponent("missing").path
        XCTAssertThrowsError(try trainer.train(bad))
        XCTAssertThrowsError(try trainer.train(request("cgann", "typo", epochs: 1))) { error in
            XCTAssertTrue("\(error)".contains("cgan"), "\(error)")
        }
        XCTAssertThrowsError(try trainer.train(request("cgan", "Bad Name", epochs: 1)))
        var huge = request("cgan", "huge-batch", epochs: 1)
        huge.batchSize = 1000
        XCTAssertThrowsError(try trainer.train(huge))
        XCTAssertEqual(try store.sqlite.listModels().count, 0)
    }

    func testGenerateValidatesRequests() throws {
        let store = try Fixtures.store(at: directory)
        _ = try Trainer(store: store).train(request("dcgan", "tiny", epochs: 1))
        XCTAssertThrowsError(try store.generate(model: "tiny", count: 4, labels: [1, 1, 1, 1], seed: 0)) { error in
            XCTAssertEqual(error as? ZooError, .notConditional(model: "tiny"))
        }
        XCTAssertThrowsError(try store.generate(model: "tiny", count: 0, seed: 0))
        XCTAssertThrowsError(try store.generate(model: "tiny", count: 1_000_000_000, seed: 0))
        let a = try store.generate(model: "tiny", count: 3, seed: 5)
        let b = try store.generate(model: "tiny", count: 3, seed: 5)
        XCTAssertEqual(a.array, b.array)
    }
}

extension URL {
    func creatingDirectory() throws -> URL {
        try FileManager.default.createDirectory(at: self, withIntermediateDirectories: true)
        return self
    }
}
