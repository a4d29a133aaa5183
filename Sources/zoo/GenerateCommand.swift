import ArgumentParser
import Foundation
import ZooData
import ZooEngine
import ZooKit
import ZooRegistry

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Draw images from a model into a PNG grid, or as raw arrays (npy, idx).",
        discussion: """
            Conditional models draw the digit you ask for with --digit; without it they draw one \
            row per digit 0–9 (--count must then be a multiple of 10).

            Examples:
              zoo generate cdcgan-mnist --digit 7 --out seven.png
              zoo generate dcgan-mnist --count 64 --grid 8x8 --out samples.png
              zoo generate cdcgan-mnist --preview
              zoo generate cdcgan-mnist --count 1000 --format npy --out digits.npy
              zoo generate dcgan-mnist --noise z.npy --format npy --out same-noise.npy

            --format npy writes the images as float32 [N, C, H, W] in [-1, 1]; --format idx as \
            MNIST's unsigned bytes [N, H, W]. A conditional model's labels go beside them \
            (FILE-labels.npy as int64, FILE-labels.idx as bytes).
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
    @Option(help: "png (a grid), npy or idx (the images themselves).") var format: SampleFormat = .png
    @Option(help: "Draw from these latent vectors: a .npy float array [count, latent] (instead of --seed).")
    var noise: String?
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
        var given: Tensor? = nil
        if let noise {
            let (values, shape) = try NPY.decode(try InputFile.read(noise, limit: InputFile.maximumNoiseBytes))
            guard shape.count == 2, shape[0] >= 1 else {
                throw ZooError.invalidNoise("\(noise) has shape \(shape); it must be [count, \(descriptor.latentSize)]")
            }
            if let count, count != shape[0] {
                throw UsageError("--count \(count) but \(noise) holds \(shape[0]) latent vectors; drop --count")
            }
            given = Tensor(shape: shape, values: values)
        }
        let rowPerDigit = descriptor.conditional && digit == nil
        let total = given?.batch ?? count ?? (rowPerDigit ? 10 * descriptor.classes : 16)
        guard (1...ModelStore.maximumCount).contains(total) else {
            throw ZooError.countOutOfRange(total, limit: ModelStore.maximumCount)
        }
        if rowPerDigit, total % descriptor.classes != 0, format == .png {
            throw UsageError(
                "a conditional model without --digit draws one row per digit: use a --count that is a multiple of \(descriptor.classes)"
            )
        }
        let outPath = out ?? "\(name).\(format.rawValue)"
        try OutputFile.checkWritable(outPath)
        if format != .png {
            // Raw arrays: a conditional model without --digit cycles through the classes.
            let labels: [Int]? = descriptor.conditional ? (0..<total).map { digit ?? $0 % descriptor.classes } : nil
            let images = try store.generate(with: loaded, count: total, labels: labels, seed: seed, noise: given)
            let written = try RawSamples.write(images, labels: labels, format: format, to: outPath)
            print(
                "Wrote \(written.joined(separator: " and ")) (\(total) images \(images.shape.dropFirst().map(String.init).joined(separator: "×")), model \(name) step \(loaded.checkpoint.step), \(given == nil ? "seed \(seed)" : "noise from \(noise ?? "")"))"
            )
            return
        }
        let (rows, cols) = try layout(total: total, rowPerDigit: rowPerDigit, classes: descriptor.classes)

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
        let images = try store.generate(with: loaded, count: total, labels: labels, seed: seed, noise: given)
        let tiled = ImageGrid.tile(images, rows: rows, cols: cols, padding: 2, scale: scale)
        try ImageGrid.writePNG(pixels: tiled.pixels, width: tiled.width, height: tiled.height, to: outPath)
        if preview { print(TerminalPreview.render(images, columns: Terminal.previewColumns(maximum: cols))) }
        // Fashion-MNIST's labels are garments, not digits: "4 × class 4 (Coat)".
        let dataset = loaded.info.dataset
        let (one, many) = ClassNames.names(dataset: dataset) == nil ? ("digit", "digits") : ("class", "classes")
        let what =
            digit.map { "\(total) × \(one) \(ClassNames.describe($0, dataset: dataset))" }
            ?? (rowPerDigit
                ? "\(many) 0–\(descriptor.classes - 1), \(total / descriptor.classes) per row" : "\(total) images")
        print(
            "Wrote \(outPath) (\(tiled.width)×\(tiled.height), \(what), \(rows)×\(cols) grid, model \(name) step \(loaded.checkpoint.step), \(given == nil ? "seed \(seed)" : "noise from \(noise ?? "")"))"
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
        return ImageGrid.defaultLayout(count: total, rowPerClass: rowPerDigit, classes: classes)
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

extension OutputFile {
    /// Writes through a temporary file beside the target and renames it into place, so a
    /// failed write leaves no half file.
    static func write(_ data: Data, to path: String) throws {
        let temporary = path + ".partial-\(getpid())"
        do {
            try data.write(to: URL(fileURLWithPath: temporary))
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: temporary, toPath: path)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw UsageError("cannot write \(path): \(error.localizedDescription)")
        }
    }
}

enum InputFile {
    /// The largest weights file `zoo import` reads into memory.
    static let maximumWeightsBytes = 2 << 30
    /// The largest --noise array (10,000 × 100 float64 is 8 MB).
    static let maximumNoiseBytes = 64 << 20

    static func read(_ path: String, limit: Int) throws -> Data {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw UsageError("\(path) does not exist or is a folder")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        guard size <= limit else {
            throw UsageError("\(path) has \(Format.bytes(size)), more than the \(Format.bytes(limit)) this reads")
        }
        do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw UsageError("cannot read \(path): \(error.localizedDescription)")
        }
    }
}
