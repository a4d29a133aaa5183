import Foundation
import XCTest

/// `zoo export --format safetensors`, `zoo import FILE.safetensors` and
/// `zoo generate --format npy|idx --noise`, as a user runs them.
final class ExchangeCLITests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-exchange-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: dir.appendingPathComponent("mnist"), withIntermediateDirectories: true)
        try SyntheticMNIST.write(to: dir.appendingPathComponent("mnist"), count: 64)
    }

    override func tearDownWithError() throws {
        if let dir { try? FileManager.default.removeItem(at: dir) }
    }

    @discardableResult
    func zoo(_ args: String...) throws -> CLITests.Result {
        try CLITests.run(
            args + ["--registry", dir.appendingPathComponent("registry.sqlite").path], in: dir,
            data: dir.appendingPathComponent("mnist").path)
    }

    func file(_ name: String) throws -> Data { try Data(contentsOf: dir.appendingPathComponent(name)) }

    /// A version-1 .npy of float32 [rows, cols], laid out as numpy.save does.
    func writeNoise(_ name: String, rows: Int, cols: Int, seed: Float) throws {
        var text = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(rows), \(cols)), }"
        while (10 + text.utf8.count + 1) % 64 != 0 { text += " " }
        text += "\n"
        var out = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        withUnsafeBytes(of: UInt16(text.utf8.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: Array(text.utf8))
        for i in 0..<(rows * cols) {
            let v = sin(Float(i) * 0.37 + seed)
            withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) }
        }
        try out.write(to: dir.appendingPathComponent(name))
    }

    func testSafetensorsRoundTripRawSamplesAndNoise() throws {
        var r = try zoo("train", "cgan", "--name", "c", "--epochs", "1", "--batch-size", "32", "--limit", "64")
        XCTAssertEqual(r.code, 0, r.stderr)

        // npy: float32 [20, 1, 28, 28] and int64 labels cycling through the classes.
        r = try zoo("generate", "c", "--count", "20", "--format", "npy", "--out", "a.npy")
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("a-labels.npy"), r.stdout)
        let images = try file("a.npy")
        XCTAssertTrue(String(decoding: images.prefix(128), as: UTF8.self).contains("'shape': (20, 1, 28, 28)"))
        XCTAssertEqual(images.count, 128 + 20 * 784 * 4)
        let labels = try file("a-labels.npy")
        XCTAssertTrue(String(decoding: labels.prefix(128), as: UTF8.self).contains("'descr': '<i8'"))
        XCTAssertEqual(labels.subdata(in: 128 + 8 * 3..<128 + 8 * 4), Data([3, 0, 0, 0, 0, 0, 0, 0]))

        // idx: MNIST's bytes, magic 0x00000803 [20, 28, 28].
        r = try zoo("generate", "c", "--count", "20", "--digit", "4", "--format", "idx", "--out", "a.idx")
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertEqual(Array(try file("a.idx").prefix(16)), [0, 0, 8, 3, 0, 0, 0, 20, 0, 0, 0, 28, 0, 0, 0, 28])
        XCTAssertEqual(
            Array(try file("a-labels.idx").prefix(8)) + [try file("a-labels.idx")[8]], [0, 0, 8, 1, 0, 0, 0, 20, 4])

        // safetensors out and back: the same images, byte for byte.
        r = try zoo("export", "c", "c.safetensors")
        XCTAssertEqual(r.code, 0, r.stderr)
        r = try zoo("import", "c.safetensors", "--architecture", "cgan", "--name", "c-again")
        XCTAssertEqual(r.code, 0, r.stderr)
        r = try zoo("generate", "c-again", "--count", "20", "--format", "npy", "--out", "b.npy")
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertEqual(try file("a.npy"), try file("b.npy"))

        // ONNX: the generator as a protobuf ModelProto (onnxruntime checks it in tools/test);
        // safetensors-only flags are refused for it.
        r = try zoo("export", "c", "c.onnx")
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("(onnx,"), r.stdout)
        let onnx = try file("c.onnx")
        XCTAssertGreaterThan(onnx.count, 115_000 * 4, "cgan's generator weights are in the file")
        XCTAssertNotNil(onnx.range(of: Data("weights_sha256".utf8)))
        r = try zoo("export", "c", "c16.onnx", "--dtype", "float16")
        XCTAssertEqual(r.code, 2, r.stderr)

        // --noise: the same vectors draw the same images from either copy; other vectors differ.
        try writeNoise("z.npy", rows: 10, cols: 100, seed: 0)
        try writeNoise("z2.npy", rows: 10, cols: 100, seed: 1)
        for (model, out) in [("c", "n1.npy"), ("c-again", "n2.npy")] {
            r = try zoo("generate", model, "--noise", "z.npy", "--digit", "2", "--format", "npy", "--out", out)
            XCTAssertEqual(r.code, 0, r.stderr)
        }
        r = try zoo("generate", "c", "--noise", "z2.npy", "--digit", "2", "--format", "npy", "--out", "n3.npy")
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertEqual(try file("n1.npy"), try file("n2.npy"))
        XCTAssertNotEqual(try file("n1.npy"), try file("n3.npy"))

        // Refusals: wrong latent size, a broken file, a file for another architecture.
        try writeNoise("bad.npy", rows: 4, cols: 7, seed: 0)
        r = try zoo("generate", "c", "--noise", "bad.npy", "--format", "npy", "--out", "x.npy")
        XCTAssertEqual(r.code, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("[4, 100]"), r.stderr)
        try Data("not safetensors at all".utf8).write(to: dir.appendingPathComponent("junk.safetensors"))
        r = try zoo("import", "junk.safetensors", "--architecture", "cgan", "--name", "junk")
        XCTAssertEqual(r.code, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("not a usable safetensors file"), r.stderr)
        r = try zoo("import", "c.safetensors", "--architecture", "dcgan", "--name", "wrong")
        XCTAssertNotEqual(r.code, 0)
        XCTAssertTrue(r.stderr.contains("pass --architecture cgan"), r.stderr)
        r = try zoo("list")
        XCTAssertFalse(r.stdout.contains("junk") || r.stdout.contains("wrong"), r.stdout)
    }
}
