import Foundation
import XCTest

@testable import ZooRegistry

/// Registries made by earlier schema versions: version 2 added progress frames, version 3
/// renamed what checkpoints and log rows hold.
final class MigrationTests: XCTestCase {
    /// Every row of every version-1 table, as text (blobs as hex), in a fixed order.
    func dump(_ db: Database) throws -> [String: [String]] {
        var result: [String: [String]] = [:]
        for table in ["architectures", "models", "checkpoints", "tensors", "metrics", "training_log", "aliases"] {
            result[table] = try db.query("SELECT * FROM \(table) ORDER BY rowid") { s in
                (0..<s.columnCount).map { column in
                    s.isBlob(column) ? s.blob(column).map { String(format: "%02x", $0) }.joined() : s.text(column)
                }
                .joined(separator: "|")
            }
        }
        return result
    }

    /// Takes a registry of the current schema back to exactly `version`'s columns and tables,
    /// as a file written by that version would be (row values unchanged).
    func downgrade(_ raw: Database, to version: Int) throws {
        try raw.exec(
            """
            ALTER TABLE checkpoints RENAME COLUMN training_position TO optimizer_state;
            ALTER TABLE training_log ADD COLUMN d_loss REAL NOT NULL DEFAULT 0;
            ALTER TABLE training_log ADD COLUMN g_loss REAL NOT NULL DEFAULT 0;
            UPDATE training_log SET d_loss = json_extract(metrics, '$.d_loss'), g_loss = json_extract(metrics, '$.g_loss');
            ALTER TABLE training_log DROP COLUMN metrics;
            PRAGMA user_version = 2;
            """)
        if version == 1 { try raw.exec("DROP TABLE progress_frames; PRAGMA user_version = 1;") }
    }

    /// A version-1 file migrates on open to the latest schema: every model, checkpoint and
    /// tensor row bit-identical, the training position under its new column name, each log
    /// row's D and G loss as named metrics, the frames table added and empty; its checkpoints
    /// load as before.
    func testVersionOneRegistryMigratesKeepingEveryRow() throws {
        let files = try TempFiles(); defer { files.cleanUp() }
        let path = files.path("old.sqlite")
        do {
            let registry = try Registry(path: path)
            try Fixture.registry(registry)
            try registry.saveCheckpoint(model: "dcgan-mnist", Fixture.checkpoint(epoch: 1, step: 10))
            try registry.saveCheckpoint(model: "dcgan-mnist", Fixture.checkpoint(epoch: 2, step: 20, seed: 2))
            try registry.recordMetric(
                model: "dcgan-mnist", checkpoint: .latest, name: "score", value: 7.5, sampleCount: 100,
                evaluator: "test", details: "{}")
        }
        let before: [String: [String]]
        let oldLog: [[Double]]
        do {
            let raw = try Database(path: path, readOnly: false)
            try downgrade(raw, to: 1)
            before = try dump(raw)
            oldLog = try raw.query("SELECT epoch, step, d_loss, g_loss, seconds FROM training_log ORDER BY id") { s in
                (0..<5).map { s.double($0) }
            }
            XCTAssertEqual(try raw.scalarInt("SELECT count(*) FROM sqlite_master WHERE name = 'progress_frames'"), 0)
        }
        XCTAssertEqual(before["tensors"]?.count, 6)
        XCTAssertEqual(oldLog.count, 2)

        // Read-only, a version-1 file is read as it is (an import's source): no frames, no change.
        let readOnly = try Registry(path: path, readOnly: true)
        XCTAssertEqual(readOnly.schemaVersion, 1)
        XCTAssertEqual(try readOnly.progressFrameCount(of: "dcgan-mnist"), 0)
        XCTAssertEqual(try readOnly.progressFrames(of: "dcgan-mnist"), [])
        XCTAssertEqual(try readOnly.trainingLog(of: "dcgan-mnist").map { $0.value("g_loss") }, oldLog.map { $0[3] })
        XCTAssertEqual(
            try readOnly.loadCheckpoint(model: "dcgan-mnist").trainingPosition,
            Fixture.checkpoint(epoch: 2, step: 20).trainingPosition)

        let migrated = try Registry(path: path)
        XCTAssertEqual(migrated.schemaVersion, Migrations.latest)
        var after = try dump(migrated.db)
        let newLog = after.removeValue(forKey: "training_log")
        var expected = before
        expected.removeValue(forKey: "training_log")
        XCTAssertEqual(after, expected, "every other row is as it was")
        XCTAssertEqual(newLog?.count, 2)
        XCTAssertEqual(
            try migrated.trainingLog(of: "dcgan-mnist").map {
                [Double($0.epoch), Double($0.step), $0.value("d_loss") ?? -1, $0.value("g_loss") ?? -1, $0.seconds]
            },
            oldLog)
        XCTAssertEqual(try migrated.progressFrameCount(of: "dcgan-mnist"), 0)
        XCTAssertEqual(
            try migrated.loadCheckpoint(model: "dcgan-mnist", checkpoint: .latest).tensors,
            Fixture.checkpoint(epoch: 2, step: 20, seed: 2).tensors)
        XCTAssertEqual(try migrated.verify().ok, true)
        // Frames go in from now on.
        try migrated.saveProgressFrame(model: "dcgan-mnist", ProgressFrame(epoch: 2, step: 20, png: Data([1, 2, 3])))
        XCTAssertEqual(try migrated.progressFrames(of: "dcgan-mnist").map(\.epoch), [2])
    }

    /// The shipped zoo (a version-2 file) upgrades in place: every tensor's sha256 and bytes,
    /// every metric and every checkpoint's training position unchanged; each log row's two
    /// figures named by its architecture (a classifier logged its loss and accuracy).
    func testShippedRegistryUpgradesKeepingEveryTensorAndMetric() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let shipped = root.appendingPathComponent("Zoo/pretrained.sqlite").path
        let files = try TempFiles(); defer { files.cleanUp() }
        let path = files.path("shipped.sqlite")
        try FileManager.default.copyItem(atPath: shipped, toPath: path)
        let (tensors, metrics, log, positions, version): ([String], [String], [String], [String], Int)
        do {
            let raw = try Database(path: path, readOnly: true)
            version = Int(try raw.scalarInt("PRAGMA user_version"))
            tensors = try raw.query(
                "SELECT id, checkpoint_id, network, path, sha256, hex(blob) FROM tensors ORDER BY id"
            ) { s in (0..<6).map { s.text($0) }.joined(separator: "|") }
            metrics = try raw.query("SELECT * FROM metrics ORDER BY id") { s in
                (0..<s.columnCount).map { s.text($0) }.joined(separator: "|")
            }
            let column = version >= 3 ? "training_position" : "optimizer_state"
            positions = try raw.query("SELECT id, hex(\(column)) FROM checkpoints ORDER BY id") {
                "\($0.text(0))|\($0.text(1))"
            }
            log = try raw.query(
                version >= 3
                    ? "SELECT id, metrics FROM training_log ORDER BY id"
                    : """
                    SELECT l.id, a.kind, l.d_loss, l.g_loss FROM training_log l JOIN models m ON m.id = l.model_id
                    JOIN architectures a ON a.name = m.architecture ORDER BY l.id
                    """
            ) { s in
                guard version < 3 else { return "\(s.text(0))|\(s.text(1))" }
                let names = s.text(1) == "classifier" ? ("loss", "accuracy") : ("d_loss", "g_loss")
                return "\(s.text(0))|\(names.0)=\(s.double(2))|\(names.1)=\(s.double(3))"
            }
        }
        XCTAssertGreaterThan(tensors.count, 0)
        let registry = try Registry(path: path)
        XCTAssertEqual(registry.schemaVersion, Migrations.latest)
        XCTAssertEqual(
            try registry.db.query("SELECT id, checkpoint_id, network, path, sha256, hex(blob) FROM tensors ORDER BY id")
            { s in (0..<6).map { s.text($0) }.joined(separator: "|") }, tensors)
        XCTAssertEqual(
            try registry.db.query("SELECT * FROM metrics ORDER BY id") { s in
                (0..<s.columnCount).map { s.text($0) }.joined(separator: "|")
            }, metrics)
        XCTAssertEqual(
            try registry.db.query("SELECT id, hex(training_position) FROM checkpoints ORDER BY id") {
                "\($0.text(0))|\($0.text(1))"
            }, positions)
        if version < 3 {
            let named = try registry.db.query("SELECT id, metrics FROM training_log ORDER BY id") { s -> String in
                let metrics = StepMetricsJSON.decode(s.text(1))
                let ordered = metrics.sorted {
                    ($0.name == "loss" || $0.name == "d_loss") && !($1.name == "loss" || $1.name == "d_loss")
                }
                return "\(s.text(0))|" + ordered.map { "\($0.name)=\($0.value)" }.joined(separator: "|")
            }
            XCTAssertEqual(named, log)
        }
        XCTAssertTrue(try registry.verify().ok)
    }

    /// Frames travel with export and import; files of older versions import without them,
    /// their log rows and training positions read under the old column names.
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
        XCTAssertEqual(
            try target.progressFrames(of: "copy"), [ProgressFrame(epoch: 1, step: 10, png: Data([7, 7, 7]))])
        let log = try source.trainingLog(of: "dcgan-mnist")
        XCTAssertEqual(try target.trainingLog(of: "copy"), log)

        try FileManager.default.copyItem(atPath: files.path("m.zoo"), toPath: files.path("m2.zoo"))
        try downgrade(try Database(path: files.path("m2.zoo"), readOnly: false), to: 2)
        try target.import(from: files.path("m2.zoo"), as: "v2-copy")
        XCTAssertEqual(try target.progressFrameCount(of: "v2-copy"), 1)
        XCTAssertEqual(try target.trainingLog(of: "v2-copy"), log)
        XCTAssertEqual(try target.loadCheckpoint(model: "v2-copy").trainingPosition, record.trainingPosition)

        try downgrade(try Database(path: files.path("m.zoo"), readOnly: false), to: 1)
        try target.import(from: files.path("m.zoo"), as: "old-copy")
        XCTAssertEqual(try target.progressFrameCount(of: "old-copy"), 0)
        XCTAssertEqual(try target.loadCheckpoint(model: "old-copy", checkpoint: .latest).tensors, record.tensors)
        XCTAssertEqual(try target.trainingLog(of: "old-copy"), log)
    }

    /// Hostile frame rows (from someone's file) are refused by size before their blobs are read.
    func testOversizedFramesAreRefusedBeforeReading() throws {
        let registry = try Registry.inMemory()
        try Fixture.registry(registry)
        try registry.saveProgressFrame(model: "dcgan-mnist", ProgressFrame(epoch: 1, step: 1, png: Data([1])))
        // As an edited file would hold them: one blob over the per-frame cap, then many under it.
        try registry.db.run(
            "INSERT INTO progress_frames (model_id, epoch, step, png, created_at) SELECT model_id, 2, 2, zeroblob(?), 0 FROM progress_frames",
            [.int(Registry.maximumFrameBytes + 1)])
        XCTAssertThrowsRegistryError(try registry.progressFrames(of: "dcgan-mnist")) { "\($0)".contains("epoch 2") }
        try registry.db.run("DELETE FROM progress_frames WHERE epoch = 2")
        for epoch in 2...4 {
            try registry.db.run(
                "INSERT INTO progress_frames (model_id, epoch, step, png, created_at) SELECT model_id, ?, 0, zeroblob(1000), 0 FROM progress_frames WHERE epoch = 1",
                [.int(epoch)])
        }
        XCTAssertEqual(try registry.progressFrames(of: "dcgan-mnist", byteLimit: 3001).count, 4)
        XCTAssertThrowsRegistryError(try registry.progressFrames(of: "dcgan-mnist", byteLimit: 3000)) {
            "\($0)".contains("more than")
        }
        XCTAssertEqual(
            try registry.progressFrames(of: "dcgan-mnist", epoch: 1).map(\.png), [Data([1])], "one frame still reads")
    }

    /// A checkpoint's frame commits with it or not at all.
    func testFrameIsPartOfTheCheckpointTransaction() throws {
        let registry = try Registry.inMemory()
        try Fixture.registry(registry)
        var record = Fixture.checkpoint(epoch: 1, step: 10)
        record.progressFrame = Data()  // refused: empty
        XCTAssertThrowsError(try registry.saveCheckpoint(model: "dcgan-mnist", record))
        XCTAssertEqual(try registry.checkpoints(of: "dcgan-mnist").count, 0)
        record.progressFrame = Data([1])
        try registry.saveCheckpoint(model: "dcgan-mnist", record)
        XCTAssertEqual(try registry.checkpoints(of: "dcgan-mnist").count, 1)
        XCTAssertEqual(try registry.progressFrameCount(of: "dcgan-mnist"), 1)
    }
}
