import ArgumentParser
import Foundation
import ZooKit

struct ProgressAnimation: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "progress",
        abstract: "Write a model's per-epoch sample grids as an animated GIF, or one epoch's as a PNG.",
        discussion: """
            Training stores one fixed-noise sample grid per epoch (as the TensorFlow DCGAN \
            tutorial's generate_and_save_images); models trained before zoo stored them have none.

            Examples:
              zoo progress dcgan-mnist --out progress.gif
              zoo progress dcgan-mnist --epoch 10 --out epoch10.png
            """)

    @Argument(help: "Model name.") var name: String
    @Option(help: "Output file (default NAME-progress.gif, or NAME-epoch-N.png with --epoch).") var out: String?
    @Option(help: "Write only this epoch's frame, as a PNG.") var epoch: Int?
    @Option(help: "Seconds each frame shows in the GIF (0.02–10).") var delay: Double = 0.25
    @Option(help: "Pixel scale factor (1–8).") var scale: Int = 2
    @OptionGroup var registry: RegistryOptions

    func run() throws {
        guard (1...8).contains(scale) else { throw UsageError("--scale must be in 1...8") }
        guard delay.isFinite, (0.02...10).contains(delay) else {
            throw UsageError("--delay must be in 0.02...10 seconds")
        }
        if let epoch, epoch < 1 { throw UsageError("--epoch must be ≥ 1") }
        let store = try Locations.store(registry.path)
        let stored = try store.progressFrames(of: name, epoch: epoch)
        guard !stored.isEmpty else {
            let all = epoch == nil ? stored : try store.progressFrames(of: name)
            guard let epoch, let first = all.first?.epoch, let last = all.last?.epoch else {
                throw ZooError.noProgressFrames(model: name)
            }
            throw ZooError.noProgressFrame(model: name, epoch: epoch, available: "\(first)–\(last)")
        }
        // Pixels held at once stay bounded whatever the file says: 512 MB of frames at most.
        var pixelsHeld = 0
        let frames = try stored.map { frame -> GIFWriter.Frame in
            let image = try ImageGrid.decodePNG(frame.png, what: "progress frame of epoch \(frame.epoch) of \(name)")
            guard image.width * scale <= 65_535, image.height * scale <= 65_535 else {
                throw UsageError(
                    "frames of \(image.width)×\(image.height) pixels times --scale \(scale) exceed a GIF's 65535 per side; lower --scale"
                )
            }
            pixelsHeld += image.width * image.height * scale * scale
            guard pixelsHeld <= 512 << 20 else {
                throw UsageError(
                    "model \(name)'s frames come to more than 512 MB of pixels at --scale \(scale); lower --scale or write one --epoch"
                )
            }
            return Self.scaled(
                GIFWriter.Frame(width: image.width, height: image.height, pixels: image.pixels), by: scale)
        }
        if let epoch, let frame = frames.first {
            let path = out ?? "\(name)-epoch-\(epoch).png"
            try OutputFile.checkWritable(path)
            try ImageGrid.writePNG(pixels: frame.pixels, width: frame.width, height: frame.height, to: path)
            print("Wrote \(path) (\(frame.width)×\(frame.height), epoch \(epoch) of model \(name))")
            return
        }
        let path = out ?? "\(name)-progress.gif"
        try OutputFile.checkWritable(path)
        try ImageGrid.writeAtomically(try GIFWriter.encode(frames, delay: delay), to: path)
        let epochs = stored.map(\.epoch)
        print(
            "Wrote \(path) (\(frames.count) frames, epochs \(epochs.first!)–\(epochs.last!), \(frames[0].width)×\(frames[0].height), model \(name))"
        )
    }

    /// Nearest-neighbour enlargement, so 28-pixel digits stay crisp.
    static func scaled(_ frame: GIFWriter.Frame, by scale: Int) -> GIFWriter.Frame {
        guard scale > 1 else { return frame }
        let width = frame.width * scale, height = frame.height * scale
        var pixels = [UInt8](repeating: 0, count: width * height)
        for y in 0..<height {
            let source = (y / scale) * frame.width
            for x in 0..<width { pixels[y * width + x] = frame.pixels[source + x / scale] }
        }
        return GIFWriter.Frame(width: width, height: height, pixels: pixels)
    }
}
