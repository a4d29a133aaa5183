import ArgumentParser
import Foundation
import ZooEngine
import ZooKit
import ZooRegistry

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Draw images from a model into a PNG grid.",
        discussion: """
            Conditional models draw the digit you ask for with --digit; without it they draw one \
            row per digit 0–9 (--count must then be a multiple of 10).

            Examples:
              zoo generate cdcgan-mnist --digit 7 --out seven.png
              zoo generate dcgan-mnist --count 64 --grid 8x8 --out samples.png
              zoo generate cdcgan-mnist --preview
            """)

    @Argument(help: "Model name.") var name: String
    @Option(help: "Digit to draw (conditional models only).") var digit: Int?
    @Option(help: "Number of images (default 16; 100 for a conditional model without --digit).") var count: Int?
    @Option(help: "Random seed for the noise.") var seed: UInt64 = 0
    @Option(help: "Output PNG file (default NAME.png).") var out: String?
    @Option(help: "Grid as ROWSxCOLS (default: near-square).") var grid: String?
    @Option(help: "Pixel scale factor of the PNG (1–16).") var scale: Int = 2
    @Option(help: "Checkpoint: latest, an alias, or an epoch number.") var checkpoint: String = "latest"
    @Flag(help: "Also draw the images in the terminal.") var preview = false
    @Flag(help: "Draw from the trained generator, not its moving average (models trained with --ema).") var noEma =
        false
    @OptionGroup var registry: RegistryOptions

    func run() throws {
        guard (1...16).contains(scale) else { throw UsageError("--scale must be in 1...16") }
        let store = try Locations.store(registry.path)
        let loaded = try store.load(
            name, checkpoint: try CheckpointArgument.parse(checkpoint), networks: ["generator"], weightsOnly: true,
            average: !noEma)
        let descriptor = loaded.architecture.descriptor
        if let digit {
            guard descriptor.conditional else { throw ZooError.notConditional(model: name) }
            guard (0..<descriptor.classes).contains(digit) else {
                throw ZooError.digitOutOfRange(digit, classes: descriptor.classes)
            }
        }
        let rowPerDigit = descriptor.conditional && digit == nil
        let total = count ?? (rowPerDigit ? 10 * descriptor.classes : 16)
        guard (1...ModelStore.maximumCount).contains(total) else {
            throw ZooError.countOutOfRange(total, limit: ModelStore.maximumCount)
        }
        if rowPerDigit, total % descriptor.classes != 0 {
            throw UsageError(
                "a conditional model without --digit draws one row per digit: use a --count that is a multiple of \(descriptor.classes)"
            )
        }
        let (rows, cols) = try layout(total: total, rowPerDigit: rowPerDigit, classes: descriptor.classes)
        let outPath = out ?? "\(name).png"
        try OutputFile.checkWritable(outPath)

        let labels: [Int]? =
            digit.map { [Int](repeating: $0, count: total) }
            ?? (rowPerDigit ? (0..<total).map { $0 / (total / descriptor.classes) } : nil)
        // The picture's size is known before anything is drawn: bound it (a 60x60 grid at
        // scale 16 would be 755 MB of pixels for 16 images).
        let side = descriptor.imageShape.last ?? 28
        let width = cols * side * scale + (cols + 1) * 2, height = rows * side * scale + (rows + 1) * 2
        guard width * height <= Self.maximumPixels else {
            throw UsageError(
                "the picture would be \(width)×\(height) pixels, more than \(Self.maximumPixels / 1_000_000) million; use a smaller --grid or --scale"
            )
        }
        let images = try store.generate(with: loaded, count: total, labels: labels, seed: seed)
        let tiled = ImageGrid.tile(images, rows: rows, cols: cols, padding: 2, scale: scale)
        try ImageGrid.writePNG(pixels: tiled.pixels, width: tiled.width, height: tiled.height, to: outPath)
        if preview { print(TerminalPreview.render(images, columns: Terminal.previewColumns(maximum: cols))) }
        let what =
            digit.map { "\(total) × digit \($0)" }
            ?? (rowPerDigit ? "digits 0–9, \(total / descriptor.classes) per row" : "\(total) images")
        print(
            "Wrote \(outPath) (\(tiled.width)×\(tiled.height), \(what), \(rows)×\(cols) grid, model \(name) step \(loaded.checkpoint.step), seed \(seed))"
        )
    }

    /// The largest PNG `generate` writes (64 MB of 8-bit gray).
    static let maximumPixels = 64_000_000

    func layout(total: Int, rowPerDigit: Bool, classes: Int) throws -> (Int, Int) {
        if let grid {
            let parts = grid.lowercased().replacingOccurrences(of: "×", with: "x").split(separator: "x").compactMap {
                Int($0)
            }
            guard parts.count == 2, parts[0] >= 1, parts[1] >= 1 else {
                throw UsageError("--grid must look like 4x8 (rows x columns)")
            }
            guard parts[0] <= 1_000, parts[1] <= 1_000 else {
                throw UsageError("--grid \(parts[0])x\(parts[1]): at most 1000 rows and 1000 columns")
            }
            guard parts[0] * parts[1] >= total else {
                throw UsageError(
                    "--grid \(parts[0])x\(parts[1]) holds \(parts[0] * parts[1]) images, fewer than --count \(total)")
            }
            return (parts[0], parts[1])
        }
        if rowPerDigit { return (classes, total / classes) }
        let cols = Int(Double(total).squareRoot().rounded(.up))
        return ((total + cols - 1) / cols, cols)
    }
}

enum CheckpointArgument {
    /// "latest", an epoch number, or an alias name.
    static func parse(_ text: String) throws -> CheckpointSelector {
        if text == "latest" { return .latest }
        if let epoch = Int(text) {
            guard epoch >= 0 else { throw UsageError("--checkpoint epoch must be ≥ 0") }
            return .epoch(epoch)
        }
        return .alias(text)
    }
}

enum OutputFile {
    /// Fails before any work when the output cannot be written.
    static func checkWritable(_ path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let folder = directory.isEmpty ? "." : directory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw UsageError("cannot write \(path): folder \(folder) does not exist")
        }
        guard FileManager.default.isWritableFile(atPath: folder) else {
            throw UsageError("cannot write \(path): folder \(folder) is not writable")
        }
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw UsageError("cannot write \(path): it is a folder")
        }
    }
}
