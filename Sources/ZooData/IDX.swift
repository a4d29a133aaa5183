import Foundation
import ZooEngine

public enum Split: String, CaseIterable, Sendable {
    case train, test

    /// The file-name prefix MNIST uses for this split.
    var filePrefix: String { self == .train ? "train" : "t10k" }
}

/// Images and labels of one split, ready for training.
public struct Dataset {
    /// [N, 1, rows, cols], pixels scaled from 0...255 to [-1, 1] (the generators end in tanh).
    public let images: Tensor
    public let labels: [Int]
    public var count: Int { labels.count }
    /// "mnist" or "fashion-mnist": what the registry records as a model's dataset.
    public let name: String
}

/// Reader for the IDX format of MNIST and Fashion-MNIST, gzipped or raw.
public enum IDX {
    static let imagesMagic: UInt32 = 0x0000_0803
    static let labelsMagic: UInt32 = 0x0000_0801
    static let maxCount = 10_000_000
    static let maxSide = 1024
    /// The most pixel bytes one images file may hold (MNIST's training set has 47 MB).
    static let maxBytes = 1 << 31

    public static func load(directory: String, split: Split, limit: Int? = nil) throws -> Dataset {
        try load(
            directory: directory, split: split, limit: limit, name: "mnist",
            hint: "Run tools/fetch-mnist to download MNIST, or pass --data DIR pointing at the IDX files.")
    }

    /// Fashion-MNIST as Debian's dataset-fashion-mnist package installs it (same IDX format and names).
    public static let fashionDirectory = "/usr/share/datasets/fashion-mnist"

    public static func loadFashion(
        directory: String = fashionDirectory, split: Split,
        limit: Int? = nil
    ) throws -> Dataset {
        try load(
            directory: directory, split: split, limit: limit, name: "fashion-mnist",
            hint: "Install it with `apt-get install dataset-fashion-mnist`, or pass --data DIR.")
    }

    public static func readImages(path: String) throws -> (count: Int, rows: Int, cols: Int, bytes: [UInt8]) {
        // The header gives the file's size; a gzipped file is inflated up to that size and no
        // further (a small "gzip bomb" cannot make it inflate gigabytes first).
        func size(_ header: [UInt8]) throws -> Int {
            try checkMagic(header, expected: imagesMagic, headerSize: 16, path: path)
            let count = bigEndian(header, at: 4), rows = bigEndian(header, at: 8), cols = bigEndian(header, at: 12)
            // Checked before computing sizes or allocating, so a damaged header cannot
            // ask for terabytes or overflow the multiplication.
            guard count <= maxCount, (1...maxSide).contains(rows), (1...maxSide).contains(cols),
                count * rows * cols <= maxBytes
            else {
                throw IDXError.absurdDimensions(path: path, count: count, rows: rows, cols: cols)
            }
            return 16 + count * rows * cols
        }
        let file = try readFile(path, headerSize: 16, size: size)
        try checkSize(file, expected: try size(file), path: path)  // the header first: then 16 bytes exist
        let count = bigEndian(file, at: 4), rows = bigEndian(file, at: 8), cols = bigEndian(file, at: 12)
        return (count, rows, cols, Array(file[16...]))
    }

    /// Labels must be digits/classes 0...9 (MNIST and Fashion-MNIST both have 10).
    public static func readLabels(path: String) throws -> [UInt8] {
        func size(_ header: [UInt8]) throws -> Int {
            try checkMagic(header, expected: labelsMagic, headerSize: 8, path: path)
            let count = bigEndian(header, at: 4)
            guard count <= maxCount else {
                throw IDXError.absurdDimensions(path: path, count: count, rows: 1, cols: 1)
            }
            return 8 + count
        }
        let file = try readFile(path, headerSize: 8, size: size)
        try checkSize(file, expected: try size(file), path: path)
        let labels = Array(file[8...])
        if let bad = labels.firstIndex(where: { $0 > 9 }) {
            throw IDXError.labelOutOfRange(path: path, index: bad, value: Int(labels[bad]))
        }
        return labels
    }

    // MARK: - Files

    private static func load(
        directory: String, split: Split, limit: Int?, name: String,
        hint: String
    ) throws -> Dataset {
        if let limit, limit < 1 { throw IDXError.invalidLimit(limit) }
        let imagesPath = try locate(directory, split, "images", "idx3", hint: hint)
        let labelsPath = try locate(directory, split, "labels", "idx1", hint: hint)
        let images = try readImages(path: imagesPath)
        let labels = try readLabels(path: labelsPath)
        guard images.count == labels.count else {
            throw IDXError.countMismatch(
                images: images.count, labels: labels.count,
                imagesPath: imagesPath, labelsPath: labelsPath)
        }
        let n = min(images.count, limit ?? images.count)
        let tensor = Tensor(shape: [n, 1, images.rows, images.cols])
        images.bytes.withUnsafeBufferPointer { src in
            let dst = tensor.data
            // x / 127.5 - 1 maps 0 → -1 and 255 → 1 exactly in float32.
            for i in 0..<tensor.count { dst[i] = Float(src[i]) / 127.5 - 1 }
        }
        return Dataset(images: tensor, labels: labels[0..<n].map { Int($0) }, name: name)
    }

    /// Accepts both spellings in circulation: `train-images-idx3-ubyte` (yann.lecun.com,
    /// Debian) and `train-images.idx3-ubyte` (several mirrors), each gzipped or raw.
    static func candidates(_ split: Split, _ kind: String, _ idx: String) -> [String] {
        let p = split.filePrefix
        return ["\(p)-\(kind)-\(idx)-ubyte", "\(p)-\(kind).\(idx)-ubyte"].flatMap { [$0 + ".gz", $0] }
    }

    private static func locate(
        _ directory: String, _ split: Split, _ kind: String, _ idx: String,
        hint: String
    ) throws -> String {
        let names = candidates(split, kind, idx)
        for name in names {
            let path = (directory as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        throw IDXError.fileMissing(what: "\(split.rawValue) \(kind)", directory: directory, tried: names, hint: hint)
    }

    /// The file's bytes, inflated when gzipped: first its `headerSize` bytes alone, which
    /// `size` checks and turns into the whole file's size, then the rest up to that size.
    private static func readFile(_ path: String, headerSize: Int, size: ([UInt8]) throws -> Int) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            let url = URL(fileURLWithPath: path)
            throw IDXError.fileMissing(
                what: "IDX", directory: url.deletingLastPathComponent().path,
                tried: [url.lastPathComponent],
                hint: "Run tools/fetch-mnist, or pass --data DIR pointing at the IDX files.")
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw IDXError.unreadable(path: path, reason: error.localizedDescription)
        }
        let bytes = [UInt8](data)
        guard Gzip.isGzip(bytes) else { return bytes }
        let header: [UInt8]
        do { header = try Gzip.decompress(bytes, prefix: headerSize) } catch {
            throw IDXError.corruptGzip(path: path, reason: "\(error)")
        }
        let expected = try size(header)
        do { return try Gzip.decompress(bytes, maxBytes: expected) } catch {
            throw IDXError.corruptGzip(path: path, reason: "\(error)")
        }
    }

    // MARK: - Header

    private static func checkMagic(_ file: [UInt8], expected: UInt32, headerSize: Int, path: String) throws {
        guard file.count >= 4 else {
            throw IDXError.truncated(path: path, expectedBytes: headerSize, foundBytes: file.count)
        }
        let magic = UInt32(bigEndian(file, at: 0))
        guard magic == expected else { throw IDXError.wrongMagic(path: path, expected: expected, found: magic) }
        guard file.count >= headerSize else {
            throw IDXError.truncated(path: path, expectedBytes: headerSize, foundBytes: file.count)
        }
    }

    private static func checkSize(_ file: [UInt8], expected: Int, path: String) throws {
        if file.count < expected {
            throw IDXError.truncated(path: path, expectedBytes: expected, foundBytes: file.count)
        }
        if file.count > expected {
            throw IDXError.trailingBytes(path: path, expectedBytes: expected, foundBytes: file.count)
        }
    }

    private static func bigEndian(_ b: [UInt8], at i: Int) -> Int {
        Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3])
    }
}
