import Foundation
import XCTest

@testable import ZooRegistry

#if canImport(Glibc)
import Glibc
#endif

/// Several connections and processes on one registry; the lease, reader/writer, two-writer and
/// kill -9 tests run against every backend (`eachBackend`), the file-creation ones are SQLite's.
final class ConcurrencyTests: BackendTestCase {
    /// Several connections opening one brand-new file at once (a training and a `zoo show`
    /// polling it) all get the schema, created once: none sees "table already exists".
    func testConnectionsCreatingOneNewFileAtOnceAllSucceed() throws {
        for round in 0..<10 {
            let path = files.path("new-\(round).sqlite")
            // Every connection open before any migrates, so all of them read version 0.
            let connections = try (0..<6).map { _ in try Database(path: path, readOnly: false) }
            let errors = NSLock()
            var failures: [String] = []
            DispatchQueue.concurrentPerform(iterations: connections.count) { i in
                do { try Migrations.migrate(connections[i]) } catch { errors.withLock { failures.append("\(error)") } }
            }
            XCTAssertEqual(failures, [], "round \(round)")
            XCTAssertEqual(try Registry(path: path).schemaVersion, Migrations.latest)
        }
    }

    /// A new registry appears complete (its seeding done) or not at all: a fill that fails
    /// leaves no file at the path, and of several creating one path at once, one wins, each
    /// returns, and the path holds the winner's registry. No temporary file stays behind.
    func testNewRegistryIsCreatedCompleteOrNotAtAll() throws {
        let path = files.path("seeded.sqlite")
        struct Killed: Error {}
        XCTAssertThrowsError(
            try Registry.createComplete(at: path) { registry in
                try Fixture.registry(registry, model: "first")
                throw Killed()
            })
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "a half-seeded registry was left at the path")

        let lock = NSLock()
        var wins = 0, failures: [String] = []
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            do {
                let won = try Registry.createComplete(at: path) { registry in
                    try Fixture.registry(registry, model: "seeded-\(i)")
                    try registry.saveCheckpoint(model: "seeded-\(i)", Fixture.checkpoint(epoch: 1, step: 1))
                }
                lock.withLock { if won { wins += 1 } }
            } catch { lock.withLock { failures.append("\(error)") } }
        }
        XCTAssertEqual(failures, [])
        XCTAssertEqual(wins, 1)
        let registry = try Registry(path: path)
        XCTAssertEqual(try registry.listModels().count, 1)
        XCTAssertTrue(try registry.verify().ok)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: files.directory.path).filter {
            $0.contains(".new-")
        }
        XCTAssertEqual(leftovers, [])
    }

    /// A model's training lease: while held, a second trainer, a rename and a delete are
    /// refused with a message naming the holder; once released (the process ends), all work.
    func testTrainingLeaseRefusesASecondWriterRenameAndDelete() throws {
        try eachBackend { backend in
            let registry = try backend.make()
            try Fixture.registry(registry, model: "busy")
            XCTAssertFalse(try registry.isBeingTrained(model: "busy"))
            var lease = try registry.leaseTraining(model: "busy")
            XCTAssertNotNil(lease)
            let other = try Backend.open(backend.location(registry))  // as another process would open it
            XCTAssertTrue(try other.isBeingTrained(model: "busy"))
            try Fixture.registry(other, model: "idle")
            XCTAssertEqual(try other.modelsBeingTrained(), ["busy"], "all at once, as `zoo list` asks")
            XCTAssertThrowsRegistryError(try other.leaseTraining(model: "busy") as Any) {
                guard case .modelBusy("busy", let holder) = $0 else { return false }
                return holder?.contains("process \(getpid())") == true && $0.description.contains("is being trained")
            }
            // Not even its holder takes it twice.
            XCTAssertThrowsRegistryError(try registry.leaseTraining(model: "busy") as Any) {
                if case .modelBusy("busy", _) = $0 { return true }; return false
            }
            XCTAssertThrowsRegistryError(try other.renameModel("busy", to: "renamed")) {
                if case .modelBusy("busy", _) = $0 { return true }; return false
            }
            XCTAssertThrowsRegistryError(try other.deleteModel("busy")) {
                if case .modelBusy("busy", _) = $0 { return true }; return false
            }
            lease = nil
            XCTAssertFalse(try other.isBeingTrained(model: "busy"))
            XCTAssertEqual(try other.modelsBeingTrained(), [])
            try other.renameModel("busy", to: "renamed")
            XCTAssertNotNil(try other.leaseTraining(model: "renamed"), "the lease follows the model, not its name")
            try other.deleteModel("renamed")
        }
        let memory = try Registry.inMemory()
        try Fixture.registry(memory, model: "x")
        XCTAssertNil(try memory.leaseTraining(model: "x"), "an in-memory registry has no leases")
    }

    func testReaderNeverSeesBusyWhileWriterSavesCheckpoints() throws {
        try eachBackend { backend in
            let writer = try backend.make()
            try Fixture.registry(writer)
            let reader = try Backend.open(backend.location(writer))
            let done = DispatchSemaphore(value: 0)
            let outcome = Outcome()
            let thread = Thread {
                do {
                    for step in 1...40 {
                        try writer.saveCheckpoint(
                            model: "dcgan-mnist", Fixture.checkpoint(epoch: step, step: step, size: 256))
                    }
                } catch { outcome.error = error }
                done.signal()
            }
            thread.start()
            var reads = 0
            while done.wait(timeout: .now()) == .timedOut {
                let list = try reader.listModels()
                XCTAssertEqual(list.count, 1)
                _ = try reader.checkpoints(of: "dcgan-mnist")
                reads += 1
            }
            XCTAssertNil(outcome.error)
            XCTAssertEqual(try reader.listModels().first?.checkpointCount, 40)
            XCTAssertGreaterThan(reads, 0)
        }
    }

    /// Two trainings of different models write one registry at once, each a process of its own
    /// with its own connection and lease (as on two machines): every checkpoint of both is stored
    /// whole. A third process's training of either model is refused while they hold them.
    func testTwoWritersOfDifferentModelsAtOnce() throws {
        #if os(Linux)
        try eachBackend { backend in
            let first = try backend.make()
            try Fixture.registry(first, model: "left")
            try Fixture.registry(first, model: "right")
            let location = backend.location(first)
            let release = files.path("release-\(backend.name)")
            let children = try ["left", "right"].enumerated().map { i, name -> (Process, Pipe) in
                let child = Process()
                child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
                child.arguments = ["ZooRegistryTests.ConcurrencyTests/testWriterChild"]
                child.environment = ProcessInfo.processInfo.environment.merging([
                    "ZOO_WRITER_CHILD_DB": location, "ZOO_WRITER_CHILD_MODEL": name,
                    "ZOO_WRITER_CHILD_SEED": "\(100 * i)", "ZOO_WRITER_CHILD_RELEASE": release,
                ]) { $1 }
                let output = Pipe()
                child.standardOutput = output
                child.standardError = output
                try child.run()
                return (child, output)
            }
            let third = try Backend.open(location)
            // Both hold their leases (and keep them until told) before the third asks.
            let deadline = Date().addingTimeInterval(60)
            while try third.modelsBeingTrained() != ["left", "right"], Date() < deadline { usleep(10_000) }
            XCTAssertEqual(try third.modelsBeingTrained(), ["left", "right"], "\(backend.name)")
            XCTAssertThrowsRegistryError(try third.leaseTraining(model: "left") as Any) {
                if case .modelBusy("left", _) = $0 { return true }; return false
            }
            FileManager.default.createFile(atPath: release, contents: Data())
            for (child, output) in children {
                let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                child.waitUntilExit()
                XCTAssertEqual(child.terminationStatus, 0, "\(backend.name) writer: \(text.suffix(2000))")
            }
            XCTAssertTrue(try third.verify(model: nil).ok)
            for (i, name) in ["left", "right"].enumerated() {
                XCTAssertEqual(try third.checkpoints(of: name).count, 25, name)
                XCTAssertEqual(
                    try third.loadCheckpoint(model: name, checkpoint: .epoch(7)).tensors,
                    Fixture.checkpoint(epoch: 7, step: 7, seed: UInt64(7 + 100 * i), size: 256).tensors)
                XCTAssertFalse(try third.isBeingTrained(model: name), "the lease goes with its holder")
            }
        }
        #else
        throw XCTSkip("the child-process writers rely on Linux xctest's command line")
        #endif
    }

    /// Run in child processes by `testTwoWritersOfDifferentModelsAtOnce`: leases its model, saves 25
    /// checkpoints, and holds the lease until the parent's release file appears.
    func testWriterChild() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let location = environment["ZOO_WRITER_CHILD_DB"], let name = environment["ZOO_WRITER_CHILD_MODEL"],
            let seed = environment["ZOO_WRITER_CHILD_SEED"].flatMap(Int.init),
            let release = environment["ZOO_WRITER_CHILD_RELEASE"]
        else { throw XCTSkip("only runs as a child of the two-writers test") }
        let writer = try Backend.open(location)
        let lease = try writer.leaseTraining(model: name)
        for step in 1...25 {
            try writer.saveCheckpoint(
                model: name, Fixture.checkpoint(epoch: step, step: step, seed: UInt64(step + seed), size: 256))
        }
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: release), Date() < deadline { usleep(10_000) }
        withExtendedLifetime(lease) {}
    }

    /// Run in a child process by `testKilledWriterLeavesConsistentRegistry`.
    func testCrashChildWriter() throws {
        guard let location = ProcessInfo.processInfo.environment["ZOO_CRASH_CHILD_DB"] else {
            throw XCTSkip("only runs as the child of the crash test")
        }
        let registry = try Backend.open(location)
        // Held as a training holds it: kill -9 must release it too.
        let lease = try registry.leaseTraining(model: "dcgan-mnist")
        defer { withExtendedLifetime(lease) {} }
        var step = 0
        while true {  // until killed
            step += 1
            try registry.saveCheckpoint(
                model: "dcgan-mnist", Fixture.checkpoint(epoch: step, step: step, seed: UInt64(step), size: 1024))
        }
    }

    /// kill -9 of a process in the middle of its checkpoints leaves only whole checkpoints (the
    /// SQLite file's journal, the server's rollback of the dead connection's transaction), every
    /// one loading to exactly what was saved, and the training lease free.
    func testKilledWriterLeavesConsistentRegistry() throws {
        #if os(Linux)
        try eachBackend { backend in
            let registry = try backend.make()
            try Fixture.registry(registry)
            let location = backend.location(registry)
            let child = Process()
            child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
            child.arguments = ["ZooRegistryTests.ConcurrencyTests/testCrashChildWriter"]
            child.environment = ProcessInfo.processInfo.environment.merging(["ZOO_CRASH_CHILD_DB": location]) { $1 }
            child.standardOutput = FileHandle.nullDevice
            child.standardError = FileHandle.nullDevice
            try child.run()
            let reader = try Backend.open(location)
            let deadline = Date().addingTimeInterval(60)
            while try reader.checkpoints(of: "dcgan-mnist").count < 6 {
                guard child.isRunning, Date() < deadline else {
                    child.terminate()
                    XCTFail("\(backend.name): child writer did not produce checkpoints (running: \(child.isRunning))")
                    return
                }
                usleep(20_000)
            }
            XCTAssertTrue(try reader.isBeingTrained(model: "dcgan-mnist"))
            kill(child.processIdentifier, SIGKILL)  // mid-way through some checkpoint, most likely
            child.waitUntilExit()
            XCTAssertEqual(child.terminationReason, .uncaughtSignal)

            let after = try Backend.open(location)
            let report = try after.verify(model: nil)
            XCTAssertTrue(report.ok, "\(report.problems)")
            let checkpoints = try after.checkpoints(of: "dcgan-mnist")
            XCTAssertGreaterThanOrEqual(checkpoints.count, 6)
            for checkpoint in checkpoints {
                let record = try after.loadCheckpoint(model: "dcgan-mnist", checkpoint: .id(checkpoint.id))
                XCTAssertEqual(record.tensors.count, 3)
                XCTAssertEqual(
                    record.tensors,
                    Fixture.checkpoint(epoch: record.step, step: record.step, seed: UInt64(record.step), size: 1024)
                        .tensors)
            }
            XCTAssertEqual(try after.loadCheckpoint(model: "dcgan-mnist").step, checkpoints.last?.step)
            XCTAssertEqual(
                try after.trainingLog(of: "dcgan-mnist").count, checkpoints.count, "no log row without its checkpoint")
            // The server notices the dead connection at once (the kernel closes its socket).
            let freed = Date().addingTimeInterval(10)
            while try after.isBeingTrained(model: "dcgan-mnist"), Date() < freed { usleep(50_000) }
            XCTAssertFalse(try after.isBeingTrained(model: "dcgan-mnist"), "kill -9 released the lease")
            print("crash test (\(backend.name)): \(checkpoints.count) complete checkpoints survived kill -9")
        }
        #else
        throw XCTSkip("the child-process crash test relies on Linux xctest's command line")
        #endif
    }
}

/// Written by the writer thread before it signals, read after the wait.
private final class Outcome: @unchecked Sendable { var error: Error? }
