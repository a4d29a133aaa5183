import Foundation
import XCTest
import ZooEngine

@testable import ZooData

final class IDXTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("idx-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    // MARK: - Synthetic files

    private func be32(_ v: Int) -> [UInt8] {
        [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)]
    }

    private func imagesFile(count: Int, rows: Int = 28, cols: Int = 28, magic: Int = 0x803) -> [UInt8] {
        var bytes = be32(magic) + be32(count) + be32(rows) + be32(cols)
        bytes += (0..<count * rows * cols).map { UInt8(($0 * 7 + $0 / (rows * cols)) % 256) }
        return bytes
    }

    private func labelsFile(_ labels: [UInt8], magic: Int = 0x801) -> [UInt8] {
        be32(magic) + be32(labels.count) + labels
    }

    @discardableResult
    private func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// Gzip with the system tool, so the reader is checked against an independent writer.
    private func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        let raw = dir.appendingPathComponent("gz-input-\(UUID().uuidString)")
        try Data(bytes).write(to: raw)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gzip", "-n", "-f", raw.path]
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "gzip failed")
        let gz = URL(fileURLWithPath: raw.path + ".gz")
        defer { try? FileManager.default.removeItem(at: gz) }
        return [UInt8](try Data(contentsOf: gz))
    }

    private func expect(
        _ expected: (IDXError) -> Bool, _ body: () throws -> Void,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        do {
            try body()
            XCTFail("no error thrown", file: file, line: line)
        } catch let error as IDXError {
            XCTAssertTrue(expected(error), "unexpected error: \(error)", file: file, line: line)
            XCTAssertFalse(error.description.isEmpty)
        } catch {
            XCTFail("not an IDXError: \(error)", file: file, line: line)
        }
    }

    // MARK: - Reading

    func testRawRoundTripAndScaling() throws {
        let images = imagesFile(count: 3)
        try write(images, "train-images-idx3-ubyte")
        try write(labelsFile([7, 0, 9]), "train-labels-idx1-ubyte")
        let ds = try IDX.load(directory: dir.path, split: .train)
        XCTAssertEqual(ds.images.shape, [3, 1, 28, 28])
        XCTAssertEqual(ds.labels, [7, 0, 9])
        XCTAssertEqual(ds.count, 3)
        XCTAssertEqual(ds.name, "mnist")
        for i in 0..<ds.images.count {
            XCTAssertEqual(ds.images[i], Float(images[16 + i]) / 127.5 - 1, accuracy: 1e-6)
        }
        XCTAssertEqual(ds.images.array.min(), -1)
        XCTAssertEqual(ds.images.array.max(), 1)
    }

    func testGzipAndDottedNames() throws {
        let images = imagesFile(count: 5, rows: 4, cols: 3)
        try write(try gzip(images), "t10k-images.idx3-ubyte.gz")
        try write(try gzip(labelsFile([1, 2, 3, 4, 5])), "t10k-labels.idx1-ubyte.gz")
        let ds = try IDX.load(directory: dir.path, split: .test)
        XCTAssertEqual(ds.images.shape, [5, 1, 4, 3])
        XCTAssertEqual(ds.labels, [1, 2, 3, 4, 5])
        let raw = try IDX.readImages(path: dir.appendingPathComponent("t10k-images.idx3-ubyte.gz").path)
        XCTAssertEqual(raw.bytes, Array(images[16...]))
    }

    func testConcatenatedGzipMembers() throws {
        let images = imagesFile(count: 2, rows: 5, cols: 5)
        let gz = try gzip(Array(images[..<20])) + (try gzip(Array(images[20...])))
        let path = try write(gz, "x.gz")
        XCTAssertEqual(try IDX.readImages(path: path).bytes, Array(images[16...]))
    }

    func testLimit() throws {
        try write(imagesFile(count: 4), "train-images-idx3-ubyte")
        try write(labelsFile([3, 1, 4, 1]), "train-labels-idx1-ubyte")
        let ds = try IDX.load(directory: dir.path, split: .train, limit: 2)
        XCTAssertEqual(ds.images.shape, [2, 1, 28, 28])
        XCTAssertEqual(ds.labels, [3, 1])
        expect({ if case .invalidLimit(0) = $0 { true } else { false } }) {
            _ = try IDX.load(directory: self.dir.path, split: .train, limit: 0)
        }
    }

    // MARK: - Malformed input

    func testMissingFilesNameTheFixAndTheDirectory() {
        expect({ error in
            guard case let .fileMissing(_, directory, tried, _) = error else { return false }
            return directory == self.dir.path && tried.contains("train-images-idx3-ubyte.gz")
                && tried.contains("train-images.idx3-ubyte")
                && error.description.contains("tools/fetch-mnist") && error.description.contains("--data")
        }) { _ = try IDX.load(directory: self.dir.path, split: .train) }
    }

    func testWrongMagic() throws {
        let labels = try write(labelsFile([1]), "labels")
        expect({ error in
            guard case .wrongMagic(_, 0x803, 0x801) = error else { return false }
            return error.description.contains("0x00000803") && error.description.contains("0x00000801")
        }) { _ = try IDX.readImages(path: labels) }
        let images = try write(imagesFile(count: 1), "images")
        expect({ if case .wrongMagic(_, 0x801, 0x803) = $0 { true } else { false } }) {
            _ = try IDX.readLabels(path: images)
        }
        let html = try write(Array("<!DOCTYPE html><html>".utf8), "page")
        expect({ $0.description.contains("HTML") }) { _ = try IDX.readImages(path: html) }
    }

    func testTruncatedHeader() throws {
        let short = try write(Array(imagesFile(count: 1)[..<10]), "short")
        expect({ if case .truncated(_, 16, 10) = $0 { true } else { false } }) { _ = try IDX.readImages(path: short) }
        let tiny = try write([0, 0], "tiny")
        expect({ if case .truncated(_, 8, 2) = $0 { true } else { false } }) { _ = try IDX.readLabels(path: tiny) }
    }

    func testTruncatedAndOversizedData() throws {
        let full = imagesFile(count: 2)
        let cut = try write(Array(full.dropLast(100)), "cut")
        expect({ if case .truncated(_, 16 + 2 * 784, 16 + 2 * 784 - 100) = $0 { true } else { false } }) {
            _ = try IDX.readImages(path: cut)
        }
        let long = try write(full + [1, 2, 3], "long")
        expect({ if case .trailingBytes = $0 { true } else { false } }) { _ = try IDX.readImages(path: long) }
        let cutLabels = try write(Array(labelsFile([1, 2, 3]).dropLast()), "cutLabels")
        expect({ if case .truncated(_, 11, 10) = $0 { true } else { false } }) {
            _ = try IDX.readLabels(path: cutLabels)
        }
    }

    func testAbsurdDimensionsRejectedBeforeAllocating() throws {
        // Headers only: the claimed sizes would need terabytes if anyone allocated them.
        let huge = try write(be32(0x803) + be32(60000) + be32(100_000) + be32(28), "huge")
        expect({ if case .absurdDimensions(_, 60000, 100_000, 28) = $0 { true } else { false } }) {
            _ = try IDX.readImages(path: huge)
        }
        let zero = try write(be32(0x803) + be32(1) + be32(0) + be32(28), "zero")
        expect({ if case .absurdDimensions = $0 { true } else { false } }) { _ = try IDX.readImages(path: zero) }
        let many = try write(be32(0x803) + be32(0x7fff_ffff) + be32(28) + be32(28), "many")
        expect({ if case .absurdDimensions = $0 { true } else { false } }) { _ = try IDX.readImages(path: many) }
        let manyLabels = try write(be32(0x801) + be32(20_000_000), "manyLabels")
        expect({ if case .absurdDimensions = $0 { true } else { false } }) { _ = try IDX.readLabels(path: manyLabels) }
    }

    func testCountMismatch() throws {
        try write(imagesFile(count: 3), "train-images-idx3-ubyte")
        try write(labelsFile([1, 2]), "train-labels-idx1-ubyte")
        expect({ if case .countMismatch(3, 2, _, _) = $0 { true } else { false } }) {
            _ = try IDX.load(directory: self.dir.path, split: .train)
        }
    }

    func testLabelOutOfRange() throws {
        let path = try write(labelsFile([1, 9, 10, 3]), "labels")
        expect({ if case .labelOutOfRange(_, 2, 10) = $0 { true } else { false } }) {
            _ = try IDX.readLabels(path: path)
        }
    }

    func testCorruptGzip() throws {
        let gz = try gzip(imagesFile(count: 20))
        var flipped = gz
        for i in (gz.count / 2)..<(gz.count / 2 + 8) { flipped[i] ^= 0xff }
        let corrupt = try write(flipped, "corrupt.gz")
        expect({ if case .corruptGzip = $0 { true } else { false } }) { _ = try IDX.readImages(path: corrupt) }

        var badCRC = gz
        badCRC[gz.count - 6] ^= 0x01  // inside the CRC-32 trailer: data inflates fine, check must fail
        let crc = try write(badCRC, "crc.gz")
        expect({ if case .corruptGzip = $0 { true } else { false } }) { _ = try IDX.readImages(path: crc) }

        let truncated = try write(Array(gz[..<(gz.count * 2 / 3)]), "truncated.gz")
        expect({ error in
            guard case .corruptGzip = error else { return false }
            return error.description.contains("truncated")
        }) { _ = try IDX.readImages(path: truncated) }

        let trailerOnly = try write(Array(gz.dropLast(4)), "nolength.gz")
        expect({ if case .corruptGzip = $0 { true } else { false } }) { _ = try IDX.readImages(path: trailerOnly) }
    }

    /// A gzip bomb: a valid header for 10 images, then 64 MB of zeros that compress to ~64 KB.
    /// It is inflated up to the header's size (16 + 7,840 bytes) and refused there, not read
    /// whole; a truncated gzipped header is refused from its first bytes.
    func testGzipBombStopsAtTheHeadersSize() throws {
        let bomb = try gzip(imagesFile(count: 10) + [UInt8](repeating: 0, count: 64 << 20))
        XCTAssertLessThan(bomb.count, 1 << 20)
        let path = try write(bomb, "bomb.gz")
        expect({ error in
            guard case .corruptGzip = error else { return false }
            return error.description.contains("more than 7856 bytes")
        }) { _ = try IDX.readImages(path: path) }
        let shortHeader = try write(try gzip(Array(imagesFile(count: 1).prefix(10))), "short.gz")
        expect({ if case .truncated = $0 { true } else { false } }) { _ = try IDX.readImages(path: shortHeader) }
    }

    // MARK: - Real data

    func testRealMNISTWhenAvailable() throws {
        guard let data = ProcessInfo.processInfo.environment["ZOO_DATA"] else { throw XCTSkip("ZOO_DATA not set") }
        let train = try IDX.load(directory: data, split: .train)
        let test = try IDX.load(directory: data, split: .test)
        XCTAssertEqual(train.count, 60000)
        XCTAssertEqual(test.count, 10000)
        XCTAssertEqual(train.images.shape, [60000, 1, 28, 28])
        var counts = [Int](repeating: 0, count: 10)
        for label in train.labels { counts[label] += 1 }
        XCTAssertEqual(Array(counts.prefix(3)), [5923, 6742, 5958])
        let pixels = train.images.buffer
        XCTAssertEqual(pixels.min(), -1)
        XCTAssertEqual(pixels.max(), 1)
    }

    func testFashionWhenInstalled() throws {
        let dir = "/usr/share/datasets/fashion-mnist"
        guard FileManager.default.fileExists(atPath: dir) else { throw XCTSkip("dataset-fashion-mnist not installed") }
        let test = try IDX.loadFashion(split: .test, limit: 100)
        XCTAssertEqual(test.images.shape, [100, 1, 28, 28])
        XCTAssertEqual(test.name, "fashion-mnist")
    }
}

/// Labels in words where the dataset's labels are not digits.
final class ClassNamesTests: XCTestCase {
    func testFashionLabelsAreNamedAndDigitsAreNot() {
        XCTAssertEqual(ClassNames.describe(4, dataset: "fashion"), "4 (Coat)")
        XCTAssertEqual(ClassNames.describe(9, dataset: "fashion-mnist"), "9 (Ankle boot)")
        XCTAssertEqual(ClassNames.describe(7, dataset: "mnist"), "7")
        XCTAssertEqual(ClassNames.describe(12, dataset: "fashion"), "12", "an out-of-range label prints as a number")
        XCTAssertEqual(ClassNames.names(dataset: "fashion")?.count, 10)
        XCTAssertNil(ClassNames.names(dataset: "mnist"))
    }
}
