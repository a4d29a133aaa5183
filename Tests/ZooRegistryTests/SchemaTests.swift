import Foundation
import XCTest

@testable import ZooRegistry

final class SchemaTests: XCTestCase {
    /// The binary's schema is registry.sql as it is in the tree, cut into numbered migrations
    /// that put the file back together.
    func testEmbeddedSchemaIsRegistrySQLInNumberedMigrations() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let file = try Data(contentsOf: root.appendingPathComponent("registry.sql"))
        XCTAssertEqual(file, Data(Schema.file.utf8), "the embedded registry.sql is stale; rebuild")
        XCTAssertEqual(Schema.migrations.map(\.version), Array(1...Schema.migrations.count))
        for migration in Schema.migrations {
            XCTAssertTrue(migration.sql.hasSuffix("PRAGMA user_version = \(migration.version);\n"))
        }
        XCTAssertEqual(Schema.migrations.map(\.sql).joined(separator: "\n"), Schema.file)
    }

    func testFreshRegistryHasSchemaVersionAndPragmas() throws {
        let files = try TempFiles(); defer { files.cleanUp() }
        let registry = try Registry(path: files.path("r.sqlite"))
        XCTAssertEqual(try registry.db.scalarInt("PRAGMA user_version"), 3)
        XCTAssertEqual(registry.schemaVersion, 3)
        XCTAssertEqual(try registry.db.scalarInt("PRAGMA foreign_keys"), 1)
        XCTAssertEqual(try registry.db.first("PRAGMA journal_mode") { $0.text(0) }, "wal")
        XCTAssertEqual(try registry.db.scalarInt("PRAGMA application_id"), Schema.applicationID)
        // Reopening is a no-op migration.
        _ = try Registry(path: files.path("r.sqlite"))
    }

    func testSHA256Vectors() {
        XCTAssertEqual(
            SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex([UInt8]()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(
            SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        var hasher = SHA256()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { hasher.update(chunk) }
        XCTAssertEqual(
            hasher.finalize().map { String(format: "%02x", $0) }.joined(),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        // Streaming in odd pieces must agree with one shot.
        var pieces = SHA256()
        let message = Array("The quick brown fox jumps over the lazy dog, repeatedly, to cross block boundaries.".utf8)
        pieces.update(Array(message[0..<7])); pieces.update(Array(message[7..<70]));
        pieces.update(Array(message[70...]))
        XCTAssertEqual(pieces.finalize().map { String(format: "%02x", $0) }.joined(), SHA256.hex(message))
    }

    /// The SHA-extension block function against the portable Swift one, on lengths around
    /// every block boundary and a large buffer, in one shot and streamed.
    func testSHA256HardwareMatchesPortable() throws {
        if let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8), cpuinfo.contains(" sha_ni") {
            XCTAssertTrue(SHA256.usesHardware, "this CPU has SHA-NI, so hashing should use it")
        }
        try XCTSkipUnless(SHA256.usesHardware, "no SHA extensions on this CPU: only the portable path runs")
        var state: UInt64 = 0x9E3779B97F4A7C15
        let bytes = (0..<300_000).map { _ -> UInt8 in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        for length in Array(0...200) + [255, 256, 257, 4095, 4096, 65_537, 300_000] {
            let slice = Array(bytes[0..<length])
            let fast = slice.withUnsafeBytes { SHA256.hex($0) }
            let reference = slice.withUnsafeBytes { SHA256.hex($0, portable: true) }
            XCTAssertEqual(fast, reference, "length \(length)")
        }
        XCTAssertEqual(
            Array("abc".utf8).withUnsafeBytes { SHA256.hex($0, portable: true) },
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var streamed = SHA256()
        var offset = 0
        for size in [1, 63, 64, 65, 1000, 130, 7] {
            streamed.update(Array(bytes[offset..<offset + size])); offset += size
        }
        let expected = Array(bytes[0..<offset]).withUnsafeBytes { SHA256.hex($0, portable: true) }
        XCTAssertEqual(streamed.finalize().map { String(format: "%02x", $0) }.joined(), expected)
    }

    func testHalfConversion() {
        for value: Float in [0, -0, 1, -2, 0.5, 65504, 6.1035156e-05, 5.9604645e-08, 0.333] {
            let back = Half.float(Half.bits(value))
            XCTAssertEqual(back, value, accuracy: abs(value) / 1024 + 1e-7)
        }
        XCTAssertEqual(Half.bits(1), 0x3c00)
        XCTAssertEqual(Half.bits(-2), 0xc000)
        XCTAssertEqual(Half.bits(70000), 0x7c00)  // overflow to infinity
        XCTAssertTrue(Half.float(Half.bits(.nan)).isNaN)
        XCTAssertEqual(Half.bits(1 + 1.0 / 2048), 0x3c00)  // ties to even
        XCTAssertEqual(Half.bits(1 + 3.0 / 2048), 0x3c02)
    }

    /// One "did you mean" rule for model and architecture names alike.
    func testClosestNames() {
        let models = ["dcgan-mnist", "cdcgan-mnist", "cgan-mnist", "mnist-classifier"]
        XCTAssertEqual(closestNames(to: "dcgn-mnist", in: models), ["dcgan-mnist", "cdcgan-mnist", "cgan-mnist"])
        XCTAssertEqual(closestNames(to: "dcgan", in: models).first, "dcgan-mnist", "a prefix is a candidate")
        XCTAssertEqual(
            closestNames(to: "DCGNA", in: ["dcgan", "cgan", "classifier"], limit: 2), ["dcgan"],
            "case-blind; cgan is 3 edits away")
        XCTAssertEqual(closestNames(to: "zzzzzz", in: models), [])
        XCTAssertEqual(editDistance("kitten", "sitting"), 3)
    }

    func testModelNameRules() {
        for good in ["a", "dcgan-mnist", "gan_1.2", "0x", String(repeating: "a", count: 64)] {
            XCTAssertNoThrow(try ModelName.validate(good), good)
        }
        for bad in [
            "", "Dcgan", "my model", "-lead", ".hidden", "x'; drop table models;--", "a/b", "ünï",
            String(repeating: "a", count: 65),
        ] {
            XCTAssertThrowsRegistryError(try ModelName.validate(bad)) {
                if case let .invalidModelName(name, rule) = $0 { return name == bad && rule.contains("lowercase") }
                return false
            }
        }
        XCTAssertTrue(
            RegistryError.invalidModelName("X", rule: ModelName.rule).description.contains("1 to 64 characters"))
    }
}
