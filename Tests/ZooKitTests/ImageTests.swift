import Foundation
import XCTest
import ZooEngine

@testable import ZooKit

final class ImageTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("image-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// Image i is uniformly the value -1 + 2·i/(n-1), except pixel (0,0) which is +1.
    private func batch(_ n: Int, side: Int = 28) -> Tensor {
        let t = Tensor(shape: [n, 1, side, side])
        for i in 0..<n {
            let v = n > 1 ? -1 + 2 * Float(i) / Float(n - 1) : 0
            for p in 0..<side * side { t[i * side * side + p] = p == 0 ? 1 : v }
        }
        return t
    }

    func testGridLayoutAndPixelValues() {
        let grid = ImageGrid.tile(batch(5), rows: 2, cols: 3, padding: 2, scale: 2)
        XCTAssertEqual(grid.width, 3 * 56 + 4 * 2)
        XCTAssertEqual(grid.height, 2 * 56 + 3 * 2)
        XCTAssertEqual(grid.pixels.count, grid.width * grid.height)
        func px(_ x: Int, _ y: Int) -> UInt8 { grid.pixels[y * grid.width + x] }
        XCTAssertEqual(px(0, 0), ImageGrid.background)  // padding
        XCTAssertEqual(px(2, 2), 255)  // pixel (0,0), scaled 2×2
        XCTAssertEqual(px(3, 3), 255)
        XCTAssertEqual(px(4, 2), 0)  // image 0 is -1 elsewhere
        XCTAssertEqual(px(2 + 58 + 10, 2 + 10), 64)  // image 1: -0.5 → 63.75 → 64
        XCTAssertEqual(px(2 + 2 * 58 + 10, 2 + 10), 128)  // image 2: 0 → 127.5 → 128
        XCTAssertEqual(px(2 + 58 + 10, 2 + 58 + 10), 255)  // image 4: +1
        XCTAssertEqual(px(2 + 2 * 58 + 10, 2 + 58 + 10), ImageGrid.background)  // no 6th image
    }

    func testPNGRoundTrip() throws {
        let grid = ImageGrid.tile(batch(6), rows: 2, cols: 3)
        let path = dir.appendingPathComponent("nested/dir/grid.png").path
        try ImageGrid.writePNG(pixels: grid.pixels, width: grid.width, height: grid.height, to: path)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(Array(bytes.prefix(8)), [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
        let back = try ImageGrid.readPNG(path: path)
        XCTAssertEqual(back.width, grid.width)
        XCTAssertEqual(back.height, grid.height)
        XCTAssertEqual(back.pixels, grid.pixels)
        let data = try ImageGrid.pngData(pixels: grid.pixels, width: grid.width, height: grid.height)
        XCTAssertEqual([UInt8](data), bytes)
    }

    /// Incompressible noise and a one-pixel-wide strip (a filter byte per pixel) are the
    /// encoder's worst cases for the one-pass buffer: both must still round-trip.
    func testPNGWorstCasesRoundTrip() throws {
        var state: UInt64 = 12345
        func noise(_ n: Int) -> [UInt8] {
            (0..<n).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407;
                return UInt8(truncatingIfNeeded: state >> 33)
            }
        }
        for (width, height) in [(97, 61), (1, 300), (300, 1), (1, 1)] {
            let pixels = noise(width * height)
            let path = dir.appendingPathComponent("noise-\(width)x\(height).png").path
            try ImageGrid.writePNG(pixels: pixels, width: width, height: height, to: path)
            let back = try ImageGrid.readPNG(path: path)
            XCTAssertEqual(back.width, width)
            XCTAssertEqual(back.height, height)
            XCTAssertEqual(back.pixels, pixels, "\(width)×\(height)")
        }
    }

    func testUnwritablePathNamesThePath() {
        let blocker = dir.appendingPathComponent("a-file")
        XCTAssertTrue(FileManager.default.createFile(atPath: blocker.path, contents: Data([1])))
        let path = blocker.appendingPathComponent("grid.png").path  // parent is a file
        XCTAssertThrowsError(try ImageGrid.writePNG(pixels: [0, 255], width: 2, height: 1, to: path)) { error in
            guard case let PNGError.unwritable(p, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(p, path)
            XCTAssertTrue("\(error)".contains(path))
        }
        XCTAssertThrowsError(
            try ImageGrid.writePNG(
                pixels: [0], width: 0, height: 1,
                to: dir.appendingPathComponent("x.png").path)
        ) { error in
            guard case PNGError.invalidImage = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try ImageGrid.pngData(pixels: [0, 1, 2], width: 2, height: 2))
    }

    /// The write goes through a temporary file renamed over the target: an existing file is
    /// replaced whole, and neither success nor a failed rename leaves the temporary behind.
    func testPNGReplacesAtomicallyAndLeavesNoTemporary() throws {
        let folder = dir.appendingPathComponent("out")
        let path = folder.appendingPathComponent("grid.png").path
        try ImageGrid.writePNG(pixels: [UInt8](repeating: 7, count: 64 * 64), width: 64, height: 64, to: path)
        try ImageGrid.writePNG(pixels: [0, 255], width: 2, height: 1, to: path)
        let back = try ImageGrid.readPNG(path: path)
        XCTAssertEqual(back.pixels, [0, 255])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["grid.png"])

        let taken = folder.appendingPathComponent("taken.png")  // a folder where the file should go
        try FileManager.default.createDirectory(at: taken, withIntermediateDirectories: false)
        XCTAssertThrowsError(try ImageGrid.writePNG(pixels: [0, 255], width: 2, height: 1, to: taken.path)) { error in
            guard case let PNGError.unwritable(p, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(p, taken.path)
        }
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted(), ["grid.png", "taken.png"])
    }

    func testReadingGarbageIsATypedError() throws {
        let path = dir.appendingPathComponent("bad.png").path
        try Data("not a png".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try ImageGrid.readPNG(path: path)) { error in
            guard case PNGError.unreadable = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try ImageGrid.readPNG(path: dir.appendingPathComponent("missing.png").path))
    }

    func testTerminalPreviewShape() {
        let images = batch(5)
        let text = TerminalPreview.render(images, columns: 3)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 14 + 1 + 14)  // two bands of 14 lines, one blank between
        XCTAssertEqual(lines[0].count, 3 * 28 + 2)
        XCTAssertEqual(lines[15].count, 2 * 28 + 1)
        XCTAssertEqual(lines[14], "")
        // Image 0 is dark except pixel (0,0): top half block there, nothing else on its first line.
        XCTAssertEqual(lines[0].first, "▀")
        XCTAssertEqual(lines[1].prefix(28), Substring(String(repeating: " ", count: 28)))
        // Image 4 (last, value +1) is solid.
        XCTAssertEqual(lines[20].suffix(28), Substring(String(repeating: "█", count: 28)))
        XCTAssertTrue(Set(text).isSubset(of: ["▀", "▄", "█", " ", "\n"]))
    }

    func testSparklineOfRampIsMonotone() {
        let levels = Array("▁▂▃▄▅▆▇█")
        for (count, width) in [(100, 20), (5, 30), (20, 20)] {
            let line = Sparkline.render((0..<count).map(Double.init), width: width)
            XCTAssertEqual(line.count, width)
            let ranks = line.map { levels.firstIndex(of: $0) ?? -1 }
            XCTAssertFalse(ranks.contains(-1))
            XCTAssertEqual(ranks, ranks.sorted(), line)
            XCTAssertEqual(ranks.first, 0)
            XCTAssertEqual(ranks.last, 7)
        }
        XCTAssertEqual(Sparkline.render([], width: 10), "")
        XCTAssertEqual(Sparkline.render([3, 3, 3], width: 3), "▄▄▄")
        XCTAssertEqual(Sparkline.render([1, .nan, 2, 3], width: 4), "▁ ▅█")
    }
}
