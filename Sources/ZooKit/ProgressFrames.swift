import Foundation
import ZooEngine
import ZooRegistry

/// The trainer's per-epoch picture, as the TensorFlow DCGAN tutorial's
/// `generate_and_save_images`: the same noise every epoch, so the frames show one set of
/// samples taking shape. Unconditional models: 16 images, 4×4; conditional models: one
/// column per class, 2 rows (20 images for 10 classes).
public enum ProgressFrames {
    /// The fixed noise of every frame (independent of the model's seed: frames of two runs compare).
    public static let noiseSeed: UInt64 = 0x5EED_F4A3
    public static let unconditionalGrid = (rows: 4, cols: 4)
    public static let conditionalRows = 2

    /// (rows, columns, labels) of a frame for this descriptor.
    public static func layout(_ d: ArchitectureDescriptor) -> (rows: Int, cols: Int, labels: [Int]?) {
        guard d.conditional else { return (unconditionalGrid.rows, unconditionalGrid.cols, nil) }
        return (conditionalRows, d.classes, (0..<(conditionalRows * d.classes)).map { $0 % d.classes })
    }

    /// Draws the frame with the weights generation uses (the moving average when there is
    /// one) in inference mode, and encodes it as a PNG. nil for a model that draws nothing.
    public static func render(_ architecture: any Architecture) throws -> Data? {
        guard let generator = architecture as? any ImageGenerating else { return nil }
        let d = architecture.descriptor
        let (rows, cols, labels) = layout(d)
        let images = generator.withGenerationWeights {
            ModelStore.sample(
                generator, latentSize: d.latentSize, imageShape: d.imageShape, count: rows * cols,
                labels: labels, seed: noiseSeed)
        }
        let tiled = ImageGrid.tile(images, rows: rows, cols: cols, padding: 2, scale: 1)
        return try ImageGrid.pngData(pixels: tiled.pixels, width: tiled.width, height: tiled.height, compact: true)
    }
}

public extension ModelStore {
    /// A model's stored progress frames (PNG), in epoch order; `epoch` picks one.
    func progressFrames(of name: String, epoch: Int? = nil) throws -> [ProgressFrame] {
        try backend.progressFrames(of: name, epoch: epoch, byteLimit: Registry.maximumFramesBytes)
    }

    func progressFrameCount(of name: String) throws -> Int { try backend.progressFrameCount(of: name) }
}
