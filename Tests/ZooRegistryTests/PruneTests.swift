import Foundation
import XCTest

@testable import ZooRegistry

/// Pruning against every backend (`eachBackend`); compacting the file is SQLite's.
final class PruneTests: BackendTestCase {
    /// A checkpoint as a training writes it: weights plus optimizer moments ("#" networks).
    static func trainingCheckpoint(epoch: Int, step: Int, final: Bool = false, size: Int = 256) -> CheckpointRecord {
        var record = Fixture.checkpoint(epoch: epoch, step: step, seed: UInt64(step + 1), size: size)
        record.isFinal = final
        var random = TestRandom(state: UInt64(step) &* 7 &+ 3)
        record.tensors.append(
            TensorRecord(
                network: "generator#adam", path: "dense.weight.m", shape: [size, 16],
                values: random.normals(size * 16, scale: 0.01)))
        return record
    }

    /// The networks stored in the model's checkpoint at `step`.
    func networks(_ registry: any RegistryBackend, step: Int) throws -> Set<String> {
        guard let id = try registry.checkpoints(of: "dcgan-mnist").first(where: { $0.step == step })?.id else {
            return []
        }
        return Set(
            try registry.loadCheckpoint(model: "dcgan-mnist", checkpoint: .id(id), networks: nil).tensors.map(\.network)
        )
    }

    func testPruneKeepsTheNewestWholeAndFinalAndAliasedAsWeights() throws {
        try eachBackend { backend in
            let registry = try backend.make()
            try Fixture.registry(registry)
            // Epochs 1–3 of a first run (3 final), resumed to 6 with a mid-epoch checkpoint.
            for (epoch, step) in [(1, 10), (2, 20), (3, 30), (4, 40), (4, 45), (5, 50), (6, 60)] {
                try registry.saveCheckpoint(
                    model: "dcgan-mnist", Self.trainingCheckpoint(epoch: epoch, step: step, final: step == 30))
            }
            try registry.setAlias(model: "dcgan-mnist", alias: "best", checkpoint: .epoch(2))
            // An --eval-every figure on epoch 1 (with its epoch in details), a plain one on epoch 4.
            try registry.recordMetric(
                model: "dcgan-mnist", checkpoint: .epoch(1), name: "score", value: 7.5, sampleCount: 2000,
                details: #"{"epoch":1}"#)
            try registry.recordMetric(model: "dcgan-mnist", checkpoint: .id(4), name: "fd", value: 12.5)
            let before = try registry.checkpoints(of: "dcgan-mnist")

            let report = try registry.pruneCheckpoints(model: "dcgan-mnist", keepLatest: 2)

            let left = try registry.checkpoints(of: "dcgan-mnist")
            XCTAssertEqual(left.map(\.step), [20, 30, 50, 60], "newest 2 whole + aliased + final")
            XCTAssertEqual(report.checkpointsRemoved, 3)
            XCTAssertEqual(report.checkpointsThinned, 2)
            XCTAssertEqual(report.checkpointsKept, 4)
            let removedBytes = before.filter { [10, 40, 45].contains($0.step) }.map(\.storedBytes).reduce(0, +)
            XCTAssertGreaterThan(report.bytesRemoved, removedBytes, "whole checkpoints plus two optimizer states")
            for step in [50, 60] {
                XCTAssertEqual(try networks(registry, step: step), ["generator", "discriminator", "generator#adam"])
            }
            for step in [20, 30] { XCTAssertEqual(try networks(registry, step: step), ["generator", "discriminator"]) }
            XCTAssertEqual(try registry.aliases(of: "dcgan-mnist").map(\.alias), ["best", "latest"])
            XCTAssertEqual(try registry.aliases(of: "dcgan-mnist").first { $0.alias == "latest" }?.step, 60)

            // The figures outlive their checkpoints, keeping where they were measured.
            let metrics = try registry.metrics(of: "dcgan-mnist")
            XCTAssertEqual(metrics.count, 2)
            for metric in metrics { XCTAssertNil(metric.checkpointID) }
            let details = try metrics.map {
                try JSONSerialization.jsonObject(with: Data(($0.details ?? "{}").utf8)) as? [String: Int]
            }
            XCTAssertEqual(details[0], ["epoch": 1, "step": 10])
            XCTAssertEqual(details[1], ["epoch": 4, "step": 40])

            // What is left loads and verifies; a removed epoch is a clear error.
            XCTAssertEqual(try registry.verify(model: nil).problems, [])
            let weights = try registry.loadCheckpoint(model: "dcgan-mnist", checkpoint: .alias("best"), networks: nil)
            XCTAssertEqual(weights.tensors.count, 3)
            XCTAssertThrowsRegistryError(
                try registry.loadCheckpoint(model: "dcgan-mnist", checkpoint: .epoch(1), networks: nil)
            ) {
                if case .checkpointNotFound = $0 { return true } else { return false }
            }
            // Pruning again changes nothing; keeping none is refused.
            let again = try registry.pruneCheckpoints(model: "dcgan-mnist", keepLatest: 2)
            XCTAssertEqual([again.checkpointsRemoved, again.checkpointsThinned, again.bytesRemoved], [0, 0, 0])
            XCTAssertThrowsRegistryError(try registry.pruneCheckpoints(model: "dcgan-mnist", keepLatest: 0)) {
                if case .invalidArgument = $0 { return true } else { return false }
            }
        }
    }

    /// A checkpoint saved with `keepLatest` prunes in its own transaction: kept to K, and when the
    /// pruning fails the new checkpoint goes too (no file is left with K + 1 or a half-save).
    func testSaveWithKeepLatestPrunesInTheSameTransaction() throws {
        try eachBackend { backend in
            let registry = try backend.make()
            try Fixture.registry(registry)
            for step in [10, 20, 30] {
                try registry.saveCheckpoint(model: "dcgan-mnist", Self.trainingCheckpoint(epoch: step / 10, step: step))
            }
            XCTAssertThrowsRegistryError(
                try registry.saveCheckpoint(
                    model: "dcgan-mnist", Self.trainingCheckpoint(epoch: 4, step: 40), float16: false, keepLatest: 0)
            ) {
                if case .invalidArgument = $0 { return true } else { return false }
            }
            XCTAssertEqual(try registry.checkpoints(of: "dcgan-mnist").map(\.step), [10, 20, 30], backend.name)
            XCTAssertEqual(try registry.aliases(of: "dcgan-mnist").first { $0.alias == "latest" }?.step, 30)

            try registry.saveCheckpoint(
                model: "dcgan-mnist", Self.trainingCheckpoint(epoch: 4, step: 40), float16: false, keepLatest: 2)
            XCTAssertEqual(try registry.checkpoints(of: "dcgan-mnist").map(\.step), [30, 40], backend.name)
            XCTAssertEqual(try registry.aliases(of: "dcgan-mnist").first { $0.alias == "latest" }?.step, 40)
            XCTAssertEqual(try registry.verify(model: nil).problems, [])
        }
    }

    func testCompactGivesTheSpaceBackToTheFileSystem() throws {
        let path = files.path("zoo.sqlite")
        let registry = try Registry(path: path)
        try Fixture.registry(registry)
        for epoch in 1...12 {
            try registry.saveCheckpoint(
                model: "dcgan-mnist", Self.trainingCheckpoint(epoch: epoch, step: epoch * 10, size: 4096))
        }
        let full = try registry.fileSpace()
        try registry.pruneCheckpoints(model: "dcgan-mnist", keepLatest: 1)
        let pruned = try registry.fileSpace()
        XCTAssertEqual(pruned.bytes, full.bytes, "deleting frees pages inside the file")
        XCTAssertGreaterThan(pruned.freeBytes, full.bytes / 2)
        try registry.compact()
        let compacted = try registry.fileSpace()
        XCTAssertLessThan(compacted.bytes, full.bytes / 4)
        XCTAssertEqual(compacted.freeBytes, 0)
        let onDisk = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
        XCTAssertEqual(onDisk, compacted.bytes)
        XCTAssertEqual(try registry.verify(model: nil).problems, [])
    }
}
