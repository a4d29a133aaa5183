import Foundation
import XCTest

@testable import ZooRegistry

final class BenchmarkTests: XCTestCase {
    /// `ZOO_BENCH=1 swift test --filter BenchmarkTests`
    func testListTenThousandModels() throws {
        guard ProcessInfo.processInfo.environment["ZOO_BENCH"] == "1" else {
            throw XCTSkip("set ZOO_BENCH=1 to run benchmarks")
        }
        let files = try TempFiles(); defer { files.cleanUp() }
        let registry = try Registry(path: files.path("bench.sqlite"))
        try registry.registerArchitecture(name: "dense-gan", version: 1, summary: "", conditional: false)
        let seeding = Date()
        let tiny = [
            TensorRecord(network: "generator", path: "w", shape: [4, 4], values: Array(repeating: 0.5, count: 16)),
            TensorRecord(network: "generator", path: "b", shape: [4], values: [0, 1, 2, 3]),
        ]
        try registry.batch {
            for i in 0..<10_000 {
                let name = "model-\(i)"
                try registry.createModel(
                    name: name, architecture: "dense-gan", dataset: i % 2 == 0 ? "mnist" : "fashion", seed: UInt64(i))
                try registry.saveCheckpoint(model: name, CheckpointRecord(epoch: 1, step: 1, tensors: tiny))
                try registry.saveCheckpoint(model: name, CheckpointRecord(epoch: 2, step: 2, tensors: tiny))
                try registry.recordMetric(model: name, name: "fid", value: Double(i))
                try registry.recordMetric(model: name, name: "score", value: 9)
            }
        }
        print(
            String(format: "bench: seeded 10,000 models × 2 checkpoints in %.1f s", Date().timeIntervalSince(seeding)))
        var best = Double.infinity
        for _ in 0..<5 {
            let start = Date()
            let list = try registry.listModels(sort: .updated)
            best = min(best, Date().timeIntervalSince(start))
            XCTAssertEqual(list.count, 10_000)
            XCTAssertEqual(list.first { $0.name == "model-7" }?.metrics, ["fid": 7, "score": 9])
            XCTAssertEqual(list.first?.parameterCount, 20)
        }
        print(String(format: "bench: listModels over 10,000 models: %.1f ms (best of 5)", best * 1000))
    }
}
