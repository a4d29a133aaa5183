import Foundation
import XCTest

@testable import ZooRegistry

/// A unique temporary file path, removed (with its WAL/SHM files) at teardown.
final class TempFiles {
    private var paths: [String] = []
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "zoo-registry-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func cleanUp() { try? FileManager.default.removeItem(at: directory) }
}

/// Deterministic pseudo-random numbers (SplitMix64) so failures reproduce.
struct TestRandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Float { Float(next() >> 40) / Float(1 << 24) }
    mutating func normal() -> Float {
        let u1 = max(uniform(), 1e-7), u2 = uniform()
        return (-2 * logf(u1)).squareRoot() * cosf(2 * .pi * u2)
    }
    mutating func normals(_ n: Int, scale: Float) -> [Float] { (0..<n).map { _ in normal() * scale } }
}

enum Fixture {
    static func registry(_ registry: any RegistryBackend, model: String = "dcgan-mnist") throws {
        try registry.registerArchitecture(name: "dcgan", version: 1, summary: "DCGAN", conditional: false, kind: "gan")
        try registry.createModel(
            name: model, architecture: "dcgan", dataset: "mnist", hyperparameters: #"{"lr":0.0001}"#, seed: 42,
            description: nil, parent: nil)
    }

    static func checkpoint(epoch: Int, step: Int, seed: UInt64 = 1, size: Int = 64) -> CheckpointRecord {
        var random = TestRandom(state: seed)
        return CheckpointRecord(
            epoch: epoch, step: step, isFinal: false, trainingPosition: Data([1, 2, 3, UInt8(epoch & 0xff)]),
            rngState: Data([9, 8, 7]),
            tensors: [
                TensorRecord(
                    network: "generator", path: "dense.weight", shape: [size, 16],
                    values: random.normals(size * 16, scale: 0.05)),
                TensorRecord(
                    network: "generator", path: "dense.bias", shape: [size], values: random.normals(size, scale: 0.01)),
                TensorRecord(
                    network: "discriminator", path: "out.weight", shape: [1, size],
                    values: random.normals(size, scale: 0.1)),
            ],
            log: [
                TrainingLogRow(
                    epoch: epoch, step: step, metrics: [StepMetric("d_loss", 1.3), StepMetric("g_loss", 0.7)],
                    seconds: 0.5)
            ])
    }

    static func count(_ registry: Registry, _ table: String) throws -> Int {
        Int(try registry.db.scalarInt("SELECT count(*) FROM \(table)"))
    }
}

func XCTAssertThrowsRegistryError(
    _ expression: @autoclosure () throws -> Any, file: StaticString = #filePath, line: UInt = #line,
    _ check: (RegistryError) -> Bool
) {
    do {
        _ = try expression()
        XCTFail("expected a RegistryError", file: file, line: line)
    } catch let error as RegistryError {
        XCTAssertTrue(check(error), "unexpected error: \(error)", file: file, line: line)
    } catch {
        XCTFail("expected a RegistryError, got \(error)", file: file, line: line)
    }
}
