import Foundation
import ZooEngine
import ZooKit
import ZooRegistry

/// The arguments of `GET /api/models/NAME/samples.png`: those of `zoo generate` (digit, count,
/// seed, grid, scale, checkpoint), checked and bounded from the query alone, before any model
/// is loaded or any buffer sized by them.
public struct SampleRequest: Sendable, Hashable {
    public var digit: Int?
    public var count: Int?
    public var seed: UInt64 = 0
    public var grid: (rows: Int, cols: Int)?
    public var scale = 2
    public var checkpoint = "latest"

    public init() {}

    /// The most images one request draws: a 10×10 digit grid is 100, and 1,000 DCGAN draws
    /// take about a second of both cores, the longest a page should wait.
    public static let maximumCount = 1_000
    /// The largest picture the server sends: 16 million pixels (16 MB of 8-bit gray, ~2 MB of
    /// PNG), a quarter of what `zoo generate` writes to a file.
    public static let maximumPixels = 16_000_000
    static let parameters = ["digit", "count", "seed", "grid", "scale", "checkpoint"]

    public static func == (a: SampleRequest, b: SampleRequest) -> Bool {
        a.digit == b.digit && a.count == b.count && a.seed == b.seed && a.grid?.rows == b.grid?.rows
            && a.grid?.cols == b.grid?.cols && a.scale == b.scale && a.checkpoint == b.checkpoint
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(digit)
        hasher.combine(count)
        hasher.combine(seed)
        hasher.combine(grid?.rows)
        hasher.combine(grid?.cols)
        hasher.combine(scale)
        hasher.combine(checkpoint)
    }

    /// Parses the query's parameters (already percent-decoded); an unknown or repeated
    /// parameter is refused rather than ignored, so a typo never silently draws the default.
    public static func parse(_ query: [(String, String)]) throws -> SampleRequest {
        var request = SampleRequest()
        var seen = Set<String>()
        for (key, value) in query {
            guard parameters.contains(key) else {
                throw ServerError.badParameter(
                    "unknown parameter \(quoted(key)); samples.png takes \(parameters.joined(separator: ", "))")
            }
            guard seen.insert(key).inserted else {
                throw ServerError.badParameter("\(key) is given twice; give it once")
            }
            switch key {
            case "digit":
                // Any class index a model could have; the model's own range is checked once it is known.
                guard let digit = Int(value), (0..<1_000).contains(digit) else {
                    throw ServerError.badParameter("digit must be a class number such as 7, not \(quoted(value))")
                }
                request.digit = digit
            case "count":
                guard let count = Int(value), (1...maximumCount).contains(count) else {
                    throw ServerError.badParameter(
                        "count must be a whole number from 1 to \(maximumCount), not \(quoted(value))")
                }
                request.count = count
            case "seed":
                guard let seed = UInt64(value) else {
                    throw ServerError.badParameter("seed must be a whole number ≥ 0, not \(quoted(value))")
                }
                request.seed = seed
            case "grid": request.grid = try parseGrid(value)
            case "scale":
                guard let scale = Int(value), (1...16).contains(scale) else {
                    throw ServerError.badParameter("scale must be a whole number from 1 to 16, not \(quoted(value))")
                }
                request.scale = scale
            default:
                request.checkpoint = value
                _ = try request.checkpointSelector()
            }
        }
        return request
    }

    /// ROWSxCOLS, as `zoo generate --grid` reads it.
    static func parseGrid(_ text: String) throws -> (rows: Int, cols: Int) {
        let parts = text.lowercased().replacingOccurrences(of: "×", with: "x").split(
            separator: "x", omittingEmptySubsequences: false)
        guard parts.count == 2, let rows = Int(parts[0]), let cols = Int(parts[1]), rows >= 1, cols >= 1 else {
            throw ServerError.badParameter("grid must look like 4x8 (rows x columns), not \(quoted(text))")
        }
        guard rows <= 1_000, cols <= 1_000 else {
            throw ServerError.badParameter("grid \(rows)x\(cols): at most 1000 rows and 1000 columns")
        }
        return (rows, cols)
    }

    /// `latest`, an epoch number, or an alias (which must look like a model name).
    func checkpointSelector() throws -> CheckpointSelector {
        if checkpoint == "latest" { return .latest }
        if let epoch = Int(checkpoint) {
            guard epoch >= 0 else { throw ServerError.badParameter("checkpoint epoch must be ≥ 0") }
            return .epoch(epoch)
        }
        do { try ModelName.validate(checkpoint) } catch {
            throw ServerError.badParameter(
                "checkpoint must be latest, an epoch number or an alias, not \(SampleRequest.quoted(checkpoint))")
        }
        return .alias(checkpoint)
    }

    /// A value as it may be echoed back: quoted, control characters escaped, at most 40 characters.
    static func quoted(_ text: String) -> String {
        let shown = text.unicodeScalars.prefix(40).map { $0.value < 32 || $0.value == 127 ? "?" : String($0) }
        return "\"" + shown.joined() + (text.unicodeScalars.count > 40 ? "…" : "") + "\""
    }
}

/// What `zoo generate NAME [--digit D] [--count N] [--seed S] [--grid RxC] [--scale K]`
/// writes, as PNG bytes: the same labels, noise, layout and encoder, so the API's picture and
/// the command's file are byte for byte the same (ZooServerTests compares them).
public enum SampleGrid {
    public static func png(_ request: SampleRequest, loaded: ModelStore.Loaded, store: ModelStore) throws -> Data {
        let descriptor = loaded.architecture.descriptor
        guard loaded.architecture is any ImageGenerating else {
            throw ZooError.notAGenerator(model: loaded.info.name, architecture: descriptor.name)
        }
        if let digit = request.digit {
            guard descriptor.conditional else { throw ZooError.notConditional(model: loaded.info.name) }
            guard (0..<descriptor.classes).contains(digit) else {
                throw ZooError.digitOutOfRange(digit, classes: descriptor.classes)
            }
        }
        let rowPerDigit = descriptor.conditional && request.digit == nil
        let total = request.count ?? (rowPerDigit ? 10 * descriptor.classes : 16)
        guard (1...SampleRequest.maximumCount).contains(total) else {
            throw ServerError.badParameter(
                "this model draws \(total) images without count, more than \(SampleRequest.maximumCount); give count")
        }
        if rowPerDigit, total % descriptor.classes != 0 {
            throw ServerError.badParameter(
                "a conditional model without digit draws one row per digit: use a count that is a multiple of \(descriptor.classes)"
            )
        }
        let (rows, cols) = try layout(
            total: total, grid: request.grid, rowPerDigit: rowPerDigit, classes: descriptor.classes)
        let side = descriptor.imageShape.last ?? 28
        let width = cols * side * request.scale + (cols + 1) * 2, height = rows * side * request.scale + (rows + 1) * 2
        guard width * height <= SampleRequest.maximumPixels else {
            throw ServerError.badParameter(
                "the picture would be \(width)×\(height) pixels, more than \(SampleRequest.maximumPixels / 1_000_000) million; use a smaller grid or scale"
            )
        }
        let labels: [Int]? =
            request.digit.map { [Int](repeating: $0, count: total) }
            ?? (rowPerDigit ? (0..<total).map { $0 / (total / descriptor.classes) } : nil)
        let images = try store.generate(with: loaded, count: total, labels: labels, seed: request.seed)
        let tiled = ImageGrid.tile(images, rows: rows, cols: cols, padding: 2, scale: request.scale)
        return try ImageGrid.pngData(pixels: tiled.pixels, width: tiled.width, height: tiled.height)
    }

    /// `zoo generate`'s layout: the grid asked for (which must hold every image), else one row
    /// per digit, else near-square.
    static func layout(total: Int, grid: (rows: Int, cols: Int)?, rowPerDigit: Bool, classes: Int) throws -> (Int, Int)
    {
        if let grid {
            guard grid.rows * grid.cols >= total else {
                throw ServerError.badParameter(
                    "grid \(grid.rows)x\(grid.cols) holds \(grid.rows * grid.cols) images, fewer than count \(total)")
            }
            return (grid.rows, grid.cols)
        }
        return ImageGrid.defaultLayout(count: total, rowPerClass: rowPerDigit, classes: classes)
    }
}
