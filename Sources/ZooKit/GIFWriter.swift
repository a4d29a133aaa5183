import CGIF
import Foundation

public enum GIFError: Error, CustomStringConvertible, Equatable {
    case noFrames
    case frameSize(index: Int, width: Int, height: Int, expected: String)
    case encodeFailed(String)

    public var description: String {
        switch self {
        case .noFrames: return "an animated GIF needs at least one frame"
        case let .frameSize(index, width, height, expected):
            return
                "frame \(index + 1) is \(width)×\(height) but the first is \(expected); frames of one GIF must be the same size"
        case let .encodeFailed(why): return "GIF encoding failed: \(why)"
        }
    }
}

/// Animated grayscale GIFs through Debian's giflib: a 256-level gray palette (8-bit gray
/// pixels map to it one to one, so nothing is dithered), one frame per picture, looping.
public enum GIFWriter {
    public struct Frame {
        public let width: Int, height: Int
        /// Row-major 8-bit gray, width·height bytes.
        public let pixels: [UInt8]
        public init(width: Int, height: Int, pixels: [UInt8]) {
            self.width = width; self.height = height; self.pixels = pixels
        }
    }

    /// Collects giflib's output blocks.
    private final class Sink { var data = Data() }

    /// `delay`: seconds each frame shows (GIF counts hundredths); the last frame holds
    /// `lastDelay` so a loop pauses on the finished model.
    public static func encode(_ frames: [Frame], delay: Double = 0.25, lastDelay: Double = 1.5) throws -> Data {
        guard let first = frames.first else { throw GIFError.noFrames }
        for (index, frame) in frames.enumerated() {
            guard frame.width == first.width, frame.height == first.height,
                frame.pixels.count == frame.width * frame.height,
                frame.width > 0, frame.height > 0, frame.width <= 65_535, frame.height <= 65_535
            else {
                throw GIFError.frameSize(
                    index: index, width: frame.width, height: frame.height, expected: "\(first.width)×\(first.height)")
            }
        }
        let sink = Sink()
        var error: Int32 = 0
        let opened = EGifOpen(
            Unmanaged.passUnretained(sink).toOpaque(),
            { file, bytes, count in
                guard let file, let bytes, count > 0, let user = file.pointee.UserData else { return 0 }
                Unmanaged<Sink>.fromOpaque(user).takeUnretainedValue().data.append(bytes, count: Int(count))
                return count
            }, &error)
        guard let gif = opened else { throw GIFError.encodeFailed(reason(error)) }
        var closed = false
        defer { if !closed { var ignored: Int32 = 0; _ = EGifCloseFile(gif, &ignored) } }
        func check(_ result: Int32, _ what: String) throws {
            guard result == GIF_OK else { throw GIFError.encodeFailed("\(what): \(reason(gif.pointee.Error))") }
        }

        EGifSetGifVersion(gif, true)  // GIF89a: needed for delays and looping
        let gray = (0..<256).map { GifColorType(Red: GifByteType($0), Green: GifByteType($0), Blue: GifByteType($0)) }
        guard let palette = GifMakeMapObject(256, gray) else {
            throw GIFError.encodeFailed("no memory for the palette")
        }
        defer { GifFreeMapObject(palette) }
        try check(EGifPutScreenDesc(gif, Int32(first.width), Int32(first.height), 8, 0, palette), "screen descriptor")
        // The NETSCAPE2.0 application extension: loop forever (count 0).
        try check(EGifPutExtensionLeader(gif, APPLICATION_EXT_FUNC_CODE), "loop extension")
        try check(
            Array("NETSCAPE2.0".utf8).withUnsafeBufferPointer { EGifPutExtensionBlock(gif, 11, $0.baseAddress) },
            "loop extension")
        try check(
            [UInt8(1), 0, 0].withUnsafeBufferPointer { EGifPutExtensionBlock(gif, 3, $0.baseAddress) }, "loop extension"
        )
        try check(EGifPutExtensionTrailer(gif), "loop extension")

        for (index, frame) in frames.enumerated() {
            let seconds = index == frames.count - 1 ? lastDelay : delay
            var control = GraphicsControlBlock(
                DisposalMode: DISPOSE_DO_NOT, UserInputFlag: false,
                DelayTime: Int32(max(0, min(65_535, (seconds * 100).rounded()))), TransparentColor: NO_TRANSPARENT_COLOR
            )
            var extensionBytes = [GifByteType](repeating: 0, count: 4)
            let length = EGifGCBToExtension(&control, &extensionBytes)
            try check(
                EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, Int32(length), extensionBytes), "frame \(index + 1) delay"
            )
            try check(
                EGifPutImageDesc(gif, 0, 0, Int32(frame.width), Int32(frame.height), false, nil), "frame \(index + 1)")
            var row = [GifPixelType](repeating: 0, count: frame.width)
            for y in 0..<frame.height {
                for x in 0..<frame.width { row[x] = frame.pixels[y * frame.width + x] }
                try check(EGifPutLine(gif, &row, Int32(frame.width)), "frame \(index + 1) row \(y)")
            }
        }
        closed = true
        guard EGifCloseFile(gif, &error) == GIF_OK else { throw GIFError.encodeFailed(reason(error)) }
        return sink.data
    }

    private static func reason(_ code: Int32) -> String {
        GifErrorString(code).map { String(cString: $0) } ?? "giflib error \(code)"
    }
}
