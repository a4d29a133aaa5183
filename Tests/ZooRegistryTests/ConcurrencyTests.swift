import Foundation
import XCTest

@testable import ZooRegistry

#if canImport(Glibc)
import Glibc
#endif

final class ConcurrencyTests: XCTestCase {
    var files: TempFiles!
    override func setUpWithError() throws { files = try TempFiles() }
    override func tearDown() { files.cleanUp() }

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
        let path = files.path("leased.sqlite")
        let registry = try Registry(path: path)
        try Fixture.registry(registry, model: "busy")
        XCTAssertFalse(try registry.isBeingTrained(model: "busy"))
        var lease = try registry.leaseTraining(model: "busy")
        XCTAssertNotNil(lease)
        let other = try Registry(path: path)  // another connection, as another process would open
        XCTAssertTrue(try other.isBeingTrained(model: "busy"))
        XCTAssertThrowsRegistryError(try other.leaseTraining(model: "busy")) {
            guard case .modelBusy("busy", let holder) = $0 else { return false }
            return holder?.contains("process \(getpid())") == true && $0.description.contains("is being trained")
        }
        XCTAssertThrowsRegistryError(try other.renameModel("busy", to: "renamed")) {
            $0 == .modelBusy("busy", holder: nil)
        }
        XCTAssertThrowsRegistryError(try other.deleteModel("busy")) { $0 == .modelBusy("busy", holder: nil) }
        lease = nil
        XCTAssertFalse(try other.isBeingTrained(model: "busy"))
        try other.renameModel("busy", to: "renamed")
        XCTAssertNotNil(try other.leaseTraining(model: "renamed"), "the lease follows the model, not its name")
        try other.deleteModel("renamed")
        let memory = try Registry.inMemory()
        try Fixture.registry(memory, model: "x")
        XCTAssertNil(try memory.leaseTraining(model: "x"), "an in-memory registry has no leases")
    }

    func testReaderNeverSeesBusyWhileWriterSavesCheckpoints() throws {
        let path = files.path("shared.sqlite")
        let writer = try Registry(path: path)
        try Fixture.registry(writer)
        let reader = try Registry(path: path)
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

    /// Run in a child process by `testKilledWriterLeavesConsistentRegistry`.
    func testCrashChildWriter() throws {
        guard let path = ProcessInfo.processInfo.environment["ZOO_CRASH_CHILD_DB"] else {
            throw XCTSkip("only runs as the child of the crash test")
        }
        let registry = try Registry(path: path)
        var step = 0
        while true {  // until killed
            step += 1
            try registry.saveCheckpoint(
                model: "dcgan-mnist", Fixture.checkpoint(epoch: step, step: step, seed: UInt64(step), size: 1024))
        }
    }

    func testKilledWriterLeavesConsistentRegistry() throws {
        #if os(Linux)
        let path = files.path("crash.sqlite")
        do {
            let registry = try Registry(path: path)
            try Fixture.registry(registry)
        }
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = ["ZooRegistryTests.ConcurrencyTests/testCrashChildWriter"]
        child.environment = ProcessInfo.processInfo.environment.merging(["ZOO_CRASH_CHILD_DB": path]) { $1 }
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        try child.run()
        let reader = try Registry(path: path)
        let deadline = Date().addingTimeInterval(60)
        while try reader.checkpoints(of: "dcgan-mnist").count < 6 {
            guard child.isRunning, Date() < deadline else {
                child.terminate()
                XCTFail("child writer did not produce checkpoints (running: \(child.isRunning))")
                return
            }
            usleep(20_000)
        }
        kill(child.processIdentifier, SIGKILL)  // mid-way through some checkpoint, most likely
        child.waitUntilExit()
        XCTAssertEqual(child.terminationReason, .uncaughtSignal)

        let after = try Registry(path: path)
        let report = try after.verify(model: nil)
        XCTAssertTrue(report.ok, "\(report.problems)")
        let checkpoints = try after.checkpoints(of: "dcgan-mnist")
        XCTAssertGreaterThanOrEqual(checkpoints.count, 6)
        for checkpoint in checkpoints {
            let record = try after.loadCheckpoint(model: "dcgan-mnist", checkpoint: .id(checkpoint.id))
            XCTAssertEqual(record.tensors.count, 3)
            XCTAssertEqual(
                record.tensors,
                Fixture.checkpoint(epoch: record.step, step: record.step, seed: UInt64(record.step), size: 1024).tensors
            )
        }
        XCTAssertEqual(try after.loadCheckpoint(model: "dcgan-mnist").step, checkpoints.last?.step)
        print("crash test: \(checkpoints.count) complete checkpoints survived kill -9")
        #else
        throw XCTSkip("the child-process crash test relies on Linux xctest's command line")
        #endif
    }
}

/// Written by the writer thread before it signals, read after the wait.
private final class Outcome: @unchecked Sendable { var error: Error? }
