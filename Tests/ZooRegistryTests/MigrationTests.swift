import Foundation
import XCTest
@testable import ZooRegistry

/// Schema version 2 (progress frames) on registries made by version 1.
final class MigrationTests: XCTestCase {
    /// Every row of every version-1 table, as text (blobs as hex), in a fixed order.
    func dump(_ db: Database) throws -> [String: [String]] {
        var result: [String: [String]] = [:]
        for table in ["architectures", "models", "checkpoints", "tensors", "metrics", "training_log", "aliases"] {
            result[table] = try db.query("SELECT * FROM \(table) ORDER BY rowid") { s in
                (0..<s.columnCount).map { column in s.isBlob(column) ? s.blob(column).map { String(format: "%02x", $0) }.joined() : s.text(column) }
                    .joined(separator: "|")
            }
        }
        return result
    }

    /// A version-1 file (a version-2 registry taken back to exactly the version-1 schema)
    /// migrates on open: every model, checkpoint and tensor bit-identical, the frames table
    /// added and empty, and its checkpoints load as before.
    func testVersionOneRegistryMigratesKeepingEveryRow() throws {
        let files = try TempFiles(); defer { files.cleanUp() }
        let path = files.path("old.sqlite")
        do {
            let registry = try Registry(path: path)
            try Fixture.registry(registry)
            try registry.saveCheckpoint(model: "dcgan-mnist", Fixture.checkpoint(epoch: 1, step: 10))
            try registry.saveCheckpoint(model: "dcgan-mnist", Fixture.checkpoint(epoch: 2, step: 20, seed: 2))
            try registry.recordMetric(model: "dcgan-mnist", checkpoint: .latest, name: "score", value: 7.5, sampleCount: 100,
                                      evaluator: "test", details: "{}")
        }
        let before: [String: [String]]
        do {
            let raw = try Database(path: path, readOnly: false)
            try raw.exec("DROP TABLE progress_frames; PRAGMA user_version = 1;")
            before = try dump(raw)
            XCTAssertEqual(try raw.scalarInt("SELECT count(*) FROM sqlite_master WHERE name = 'progress_frames'"), 0)
        }
        XCTAssertEqual(before["tensors"]?.count, 6)

        // Read-only, a version-1 file is read as it is (an import's source): no frames, no change.
        let readOnly = try Registry(path: path, readOnly: true)
        XCTAssertEqual(readOnly.schemaVersion, 1)
        XCTAssertEqual(try readOnly.progressFrameCount(of: "dcgan-mnist"), 0)
        XCTAssertEqual(try readOnly.progressFrames(of: "dcgan-mnist"), [])

        let migrated = try Registry(path: path)
        XCTAssertEqual(migrated.schemaVersion, 2)
        XCTAssertEqual(try dump(migrated.db), before)
        XCTAssertEqual(try migrated.progressFrameCount(of: "dcgan-mnist"), 0)
        XCTAssertEqual(try migrated.loadCheckpoint(model: "dcgan-mnist", checkpoint: .latest).tensors,
                       Fixture.checkpoint(epoch: 2, step: 20, seed: 2).tensors)
        XCTAssertEqual(try migrated.verify().ok, true)
        // Frames go in from now on.
        try migrated.saveProgressFrame(model: "dcgan-mnist", ProgressFrame(epoch: 2, step: 20, png: Data([1, 2, 3])))
        XCTAssertEqual(try migrated.progressFrames(of: "dcgan-mnist").map(\.epoch), [2])
    }

    /// Frames travel with export and import; a version-1 export imports without them.
    func testFramesTravelWithExportAndImport() throws {
        let files = try TempFiles(); defer { files.cleanUp() }
        let source = try Registry(path: files.path("a.sqlite"))
        try Fixture.registry(source)
        var record = Fixture.checkpoint(epoch: 1, step: 10)
        record.progressFrame = Data([7, 7, 7])
        try source.saveCheckpoint(model: "dcgan-mnist", record)
        try source.export(model: "dcgan-mnist", to: files.path("m.zoo"))
        let target = try Registry(path: files.path("b.sqlite"))
        try target.import(from: files.path("m.zoo"), as: "copy")
        XCTAssertEqual(try target.progressFrames(of: "copy"), [ProgressFrame(epoch: 1, step: 10, png: Data([7, 7, 7]))])

        let raw = try Database(path: files.path("m.zoo"), readOnly: false)
        try raw.exec("DROP TABLE progress_frames; PRAGMA user_version = 1;")
        try target.import(from: files.path("m.zoo"), as: "old-copy")
        XCTAssertEqual(try target.progressFrameCount(of: "old-copy"), 0)
        XCTAssertEqual(try target.loadCheckpoint(model: "old-copy", checkpoint: .latest).tensors, record.tensors)
    }

    /// Hostile frame rows (from someone's file) are refused by size before their blobs are read.
    func testOversizedFramesAreRefusedBeforeReading() throws {
        let registry = try Registry.inMemory()
        try Fixture.registry(registry)
        try registry.saveProgressFrame(model: "dcgan-mnist", ProgressFrame(epoch: 1, step: 1, png: Data([1])))
        // As an edited file would hold them: one blob over the per-frame cap, then many under it.
        try registry.db.run("INSERT INTO progress_frames (model_id, epoch, step, png, created_at) SELECT model_id, 2, 2, zeroblob(?), 0 FROM progress_frames",
                            [.int(Registry.maximumFrameBytes + 1)])
        XCTAssertThrowsRegistryError(try registry.progressFrames(of: "dcgan-mnist")) { "\($0)".contains("epoch 2") }
        try registry.db.run("DELETE FROM progress_frames WHERE epoch = 2")
        for epoch in 2...4 {
            try registry.db.run("INSERT INTO progress_frames (model_id, epoch, step, png, created_at) SELECT model_id, ?, 0, zeroblob(1000), 0 FROM progress_frames WHERE epoch = 1",
                                [.int(epoch)])
        }
        XCTAssertEqual(try registry.progressFrames(of: "dcgan-mnist", byteLimit: 3001).count, 4)
        XCTAssertThrowsRegistryError(try registry.progressFrames(of: "dcgan-mnist", byteLimit: 3000)) { "\($0)".contains("more than") }
        XCTAssertEqual(try registry.progressFrames(of: "dcgan-mnist", epoch: 1).map(\.png), [Data([1])], "one frame still reads")
    }

    /// A checkpoint's frame commits with it or not at all.
    func testFrameIsPartOfTheCheckpointTransaction() throws {
        let registry = try Registry.inMemory()
        try Fixture.registry(registry)
        var record = Fixture.checkpoint(epoch: 1, step: 10)
        record.progressFrame = Data()   // refused: empty
        XCTAssertThrowsError(try registry.saveCheckpoint(model: "dcgan-mnist", record))
        XCTAssertEqual(try registry.checkpoints(of: "dcgan-mnist").count, 0)
        record.progressFrame = Data([1])
        try registry.saveCheckpoint(model: "dcgan-mnist", record)
        XCTAssertEqual(try registry.checkpoints(of: "dcgan-mnist").count, 1)
        XCTAssertEqual(try registry.progressFrameCount(of: "dcgan-mnist"), 1)
    }
}
