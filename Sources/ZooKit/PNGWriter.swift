import CPNG
import Foundation

public enum PNGError: Error, CustomStringConvertible, Equatable {
    case invalidImage(String)
    case encodeFailed(String)
    case unwritable(path: String, reason: String)
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidImage(why): return "Cannot make a PNG: \(why)."
        case let .encodeFailed(why): return "PNG encoding failed: \(why)."
        case let .unwritable(path, reason):
            return "Cannot write \(path): \(reason). Choose another output path or check its directory's permissions."
        case let .unreadable(path, reason): return "Cannot read the PNG \(path): \(reason)."
        }
    }
}

// libpng's classic API reports errors by longjmp, which must never cross Swift frames.
// The "simplified" png_image API keeps its setjmp inside libpng and returns 0 with a
// message instead, so everything here goes through it.
extension ImageGrid {
    /// Encodes 8-bit grayscale pixels (row-major, width·height bytes) as a PNG.
    /// `compact`: libpng's adaptive filters and default zlib level instead of the fast settings,
    /// for pictures that are stored rather than drawn once (progress frames: ~25 % smaller).
    public static func pngData(pixels: [UInt8], width: Int, height: Int, compact: Bool = false) throws -> Data {
        guard width > 0, height > 0, width <= 1_000_000, height <= 1_000_000 else {
            throw PNGError.invalidImage("size \(width)×\(height) is outside 1...1000000 per side")
        }
        guard pixels.count == width * height else {
            throw PNGError.invalidImage("\(pixels.count) pixels given for \(width)×\(height)")
        }
        // One encode into a buffer of libpng's worst-case size (PNG_IMAGE_PNG_SIZE_MAX for 8-bit
        // gray, a C macro Swift cannot import), not a measuring pass and then a second
        // encode: deflate dominates, and a cold `zoo generate` paid it twice (~3 ms).
        let zlibMax = width * height + (width * height + 7) / 8 + (width * height + 63) / 64 + 11
        var capacity = 8 + 25 + 16 + 44 + 12 + 12 + 12 * (zlibMax / 8192) + zlibMax
        for _ in 0..<2 {
            var image = newImage(width: width, height: height)
            if compact { image.flags = 0 }
            var size = png_alloc_size_t(capacity)
            var data = Data(count: capacity)
            let ok = data.withUnsafeMutableBytes { buffer in
                png_image_write_to_memory(&image, buffer.baseAddress, &size, 0, pixels, 0, nil)
            }
            if ok != 0 { return data.prefix(Int(size)) }
            // Too small after all: libpng reports the size it needs; anything else is an error.
            guard Int(size) > capacity else { throw PNGError.encodeFailed(message(of: image)) }
            capacity = Int(size)
        }
        throw PNGError.encodeFailed("the encoded size kept growing")
    }

    /// Writes the PNG atomically (no half-written file on failure), creating missing directories:
    /// a temporary file beside the target, renamed over it. Not synced to disk: Foundation's
    /// atomic write fsyncs, 1.5 ms of a ~55 ms cold `zoo generate` for a picture that can be
    /// drawn again.
    public static func writePNG(pixels: [UInt8], width: Int, height: Int, to path: String) throws {
        try writeAtomically(try pngData(pixels: pixels, width: width, height: height), to: path)
    }

    /// Writes `data` to `path` through a temporary file renamed over it (PNG and GIF output).
    public static func writeAtomically(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) || !isDirectory.boolValue
        {
            do {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            } catch {
                throw PNGError.unwritable(path: path, reason: reason(error))
            }
        }
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).part").path
        // Mode 0666: the umask decides, as for any new file.
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o666)
        guard fd >= 0 else { throw PNGError.unwritable(path: path, reason: String(cString: strerror(errno))) }
        var failure: String?
        data.withUnsafeBytes { bytes in
            var done = 0
            while done < bytes.count {
                let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                done += n
            }
        }
        if close(fd) != 0, failure == nil { failure = String(cString: strerror(errno)) }
        if failure == nil, rename(temporary, path) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(temporary)
            throw PNGError.unwritable(path: path, reason: failure)
        }
    }

    /// The largest side a PNG read from memory (a stored progress frame) may have.
    public static let maximumReadSide = 8192

    /// Decodes a PNG held in memory (a progress frame from a registry) as 8-bit grayscale.
    /// The header's size is checked before any pixel buffer is allocated.
    public static func decodePNG(_ data: Data, what: String) throws -> (width: Int, height: Int, pixels: [UInt8]) {
        // libpng reads from the buffer handed to begin until finish: both inside one closure.
        try data.withUnsafeBytes { bytes in
            var image = png_image()
            image.version = UInt32(PNG_IMAGE_VERSION)
            defer { png_image_free(&image) }
            guard png_image_begin_read_from_memory(&image, bytes.baseAddress, bytes.count) != 0 else {
                throw PNGError.unreadable(path: what, reason: message(of: image))
            }
            let width = Int(image.width), height = Int(image.height)
            guard (1...maximumReadSide).contains(width), (1...maximumReadSide).contains(height) else {
                throw PNGError.unreadable(
                    path: what, reason: "its size \(width)×\(height) is outside 1...\(maximumReadSide) per side")
            }
            image.format = UInt32(PNG_FORMAT_GRAY)
            var pixels = [UInt8](repeating: 0, count: width * height)
            guard png_image_finish_read(&image, nil, &pixels, 0, nil) != 0 else {
                throw PNGError.unreadable(path: what, reason: message(of: image))
            }
            return (width, height, pixels)
        }
    }

    /// Reads any PNG as 8-bit grayscale (libpng converts color and bit depth).
    public static func readPNG(path: String) throws -> (width: Int, height: Int, pixels: [UInt8]) {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        defer { png_image_free(&image) }
        guard png_image_begin_read_from_file(&image, path) != 0 else {
            throw PNGError.unreadable(path: path, reason: message(of: image))
        }
        image.format = UInt32(PNG_FORMAT_GRAY)
        let width = Int(image.width), height = Int(image.height)
        var pixels = [UInt8](repeating: 0, count: width * height)
        guard png_image_finish_read(&image, nil, &pixels, 0, nil) != 0 else {
            throw PNGError.unreadable(path: path, reason: message(of: image))
        }
        return (width, height, pixels)
    }

    private static func newImage(width: Int, height: Int) -> png_image {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = UInt32(PNG_FORMAT_GRAY)
        // No row filters and zlib level 3 instead of libpng's adaptive filtering at level 6: a
        // 234×234 grid of digits encodes in 0.6 ms instead of 2.0 (a cold `zoo generate`),
        // 7.4 KB instead of 5.6.
        image.flags = UInt32(PNG_IMAGE_FLAG_FAST)
        return image
    }

    private static func message(of image: png_image) -> String {
        let text = withUnsafeBytes(of: image.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return text.isEmpty ? "unknown libpng error" : text
    }

    private static func reason(_ error: Error) -> String {
        if let posix = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError,
            posix.domain == NSPOSIXErrorDomain, let code = POSIXErrorCode(rawValue: Int32(posix.code))
        {
            return String(cString: strerror(code.rawValue))
        }
        // Foundation's sentences end in "."; ours continue after the reason.
        var text = error.localizedDescription
        while text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
