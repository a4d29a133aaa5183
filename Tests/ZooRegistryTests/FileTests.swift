import Foundation
import XCTest

@testable import ZooRegistry

final class FileTests: XCTestCase {
    var files: TempFiles!
    override func setUpWithError() throws { files = try TempFiles() }
    override func tearDown() { files.cleanUp() }

    func testGarbageFileIsNotSQLite() throws {
        let path = files.path("garbage.sqlite")
        var random = TestRandom(state: 3)
        try Data((0..<10_000).map { _ in UInt8(truncatingIfNeeded: random.next()) }).write(
            to: URL(fileURLWithPath: path))
        XCTAssertThrowsRegistryError(try Registry(path: path)) {
            if case .notSQLite = $0 { return true }; return false
        }
        try Data("hello".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsRegistryError(try Registry(path: path, readOnly: true)) {
            if case .notSQLite = $0 { return true }; return false
        }
    }

    func testTruncatedRegistryIsReported() throws {
        let path = files.path("good.sqlite")
        do {
            let registry = try Registry(path: path)
            try Fixture.registry(registry)
            for step in 1...3 {
                try registry.saveCheckpoint(
                    model: "dcgan-mnist", Fixture.checkpoint(epoch: step, step: step, size: 512))
            }
        }  // closing checkpoints the WAL into the main file
        let full = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + "-wal"))
        for cut in [50, 4_000, full.count / 2 + 100, (full.count / 2) / 4096 * 4096] {
            try full.prefix(cut).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsRegistryError(try Registry(path: path)) {
                if case .corruptFile = $0 {
                    return $0.description.contains("truncated") || $0.description.contains("header")
                }
                return false
            }
        }
    }

    func testNewerSchemaIsRefused() throws {
        let path = files.path("future.sqlite")
        do {
            _ = try Registry(path: path)
            let raw = try Database(path: path, readOnly: false)
            try raw.exec("PRAGMA user_version = 99")
        }
        XCTAssertThrowsRegistryError(try Registry(path: path)) {
            $0 == .newerSchema(found: 99, supported: Migrations.latest)
                && $0.description
                    == "this registry was written by a newer zoo (schema 99 > \(Migrations.latest)); upgrade zoo"
        }
    }

    func testForeignSQLiteFileIsNotARegistry() throws {
        let path = files.path("other.sqlite")
        do {
            let raw = try Database(path: path, readOnly: false)
            try raw.exec(
                "CREATE TABLE recipes (id INTEGER PRIMARY KEY, title TEXT); INSERT INTO recipes (title) VALUES ('soup')"
            )
        }
        XCTAssertThrowsRegistryError(try Registry(path: path)) {
            if case let .notARegistry(_, reason) = $0 { return reason.contains("recipes") }
            return false
        }
        // Nothing was added to the foreign file.
        let raw = try Database(path: path, readOnly: true)
        XCTAssertEqual(try raw.query("SELECT name FROM sqlite_master WHERE type = 'table'") { $0.text(0) }, ["recipes"])
        XCTAssertEqual(try raw.first("PRAGMA journal_mode") { $0.text(0) }, "delete")
    }

    func testReadOnlyMissingFile() {
        XCTAssertThrowsRegistryError(try Registry(path: files.path("missing.sqlite"), readOnly: true)) {
            if case .registryNotFound = $0 { return true }; return false
        }
    }

    /// A directory or a FIFO given as the registry: a typed error at once (a FIFO used to
    /// hang forever in open(), a directory surfaced as "SQLite error 14").
    func testARegistryPathThatIsNotAFileIsRefused() throws {
        let fifo = files.path("pipe.sqlite")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        for (path, kind) in [(files.directory.path, "a directory"), (fifo, "a named pipe (FIFO)")] {
            for readOnly in [false, true] {
                XCTAssertThrowsRegistryError(try Registry(path: path, readOnly: readOnly)) {
                    guard case let .notAFile(_, found) = $0 else { return false }
                    return found == kind && $0.description.contains("--registry")
                }
            }
        }
    }
}
