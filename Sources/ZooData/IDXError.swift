/// Everything that can go wrong reading IDX (MNIST-format) files. Each message says
/// which file and what the user can do about it.
public enum IDXError: Error, CustomStringConvertible, Equatable {
    /// `tried` are the file names looked for in `directory`; `hint` says how to get them.
    case fileMissing(what: String, directory: String, tried: [String], hint: String)
    case unreadable(path: String, reason: String)
    case wrongMagic(path: String, expected: UInt32, found: UInt32)
    case truncated(path: String, expectedBytes: Int, foundBytes: Int)
    case trailingBytes(path: String, expectedBytes: Int, foundBytes: Int)
    case absurdDimensions(path: String, count: Int, rows: Int, cols: Int)
    case countMismatch(images: Int, labels: Int, imagesPath: String, labelsPath: String)
    case labelOutOfRange(path: String, index: Int, value: Int)
    case corruptGzip(path: String, reason: String)
    case invalidLimit(Int)

    public var description: String {
        switch self {
        case let .fileMissing(what, directory, tried, hint):
            return "No \(what) file in \(directory) (looked for \(tried.joined(separator: ", "))). \(hint)"
        case let .unreadable(path, reason):
            return "Cannot read \(path): \(reason). Check the file's permissions."
        case let .wrongMagic(path, expected, found):
            return "\(path) is not an IDX \(kind(expected)) file: expected magic number \(hex(expected)), "
                + "found \(hex(found))\(magicHint(expected: expected, found: found)). "
                + "Re-download it with tools/fetch-mnist."
        case let .truncated(path, expected, found):
            return "\(path) is truncated: its header promises \(expected) bytes but the file has \(found). "
                + "Re-download it with tools/fetch-mnist."
        case let .trailingBytes(path, expected, found):
            return "\(path) has \(found) bytes but its header describes \(expected); "
                + "the file is damaged or not what its name says. Re-download it with tools/fetch-mnist."
        case let .absurdDimensions(path, count, rows, cols):
            return "\(path) claims \(count) images of \(rows)×\(cols) pixels; IDX images here must be "
                + "1...1024 pixels a side and at most 10 million per file. The file is damaged."
        case let .countMismatch(images, labels, imagesPath, labelsPath):
            return "\(imagesPath) has \(images) images but \(labelsPath) has \(labels) labels; "
                + "the two files do not belong together. Re-download them with tools/fetch-mnist."
        case let .labelOutOfRange(path, index, value):
            return "\(path): label \(index) is \(value), but labels must be 0...9. The file is damaged."
        case let .corruptGzip(path, reason):
            return "\(path) is not a valid gzip file (\(reason)). Delete it and re-download with tools/fetch-mnist."
        case let .invalidLimit(limit):
            return "The example limit must be at least 1 (got \(limit))."
        }
    }

    private func hex(_ v: UInt32) -> String {
        let digits = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    private func kind(_ magic: UInt32) -> String { magic == IDX.imagesMagic ? "images" : "labels" }

    private func magicHint(expected: UInt32, found: UInt32) -> String {
        if found == IDX.imagesMagic { return " (an images file — are the file names swapped?)" }
        if found == IDX.labelsMagic { return " (a labels file — are the file names swapped?)" }
        // "<!DO" / "<htm": a proxy or server error page saved in place of the data.
        if found == 0x3c21_444f || found == 0x3c68_746d { return " (an HTML page, probably a failed download)" }
        return ""
    }
}
