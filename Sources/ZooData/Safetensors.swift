import Foundation

/// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header
/// {"__metadata__": {string: string}, NAME: {"dtype", "shape", "data_offsets": [begin, end]}},
/// then the tensors' bytes, little-endian, each at its offsets from the end of the header.
///
/// Reading is for files from anywhere: every number in the header is checked against the file
/// before it sizes anything (header length, shapes, offsets, dtype sizes), offsets must tile
/// the byte buffer exactly (no overlap, no hole, as the format requires), and every problem is
/// a `SafetensorsError` that says what is wrong with which tensor.
public enum Safetensors {
    public enum DType: String, Sendable, CaseIterable {
        case float32 = "F32"
        case float16 = "F16"
        var size: Int { self == .float32 ? 4 : 2 }
    }

    public struct Entry: Sendable, Equatable {
        public var name: String
        public var dtype: DType
        public var shape: [Int]
        public var values: [Float]
        public init(name: String, dtype: DType, shape: [Int], values: [Float]) {
            self.name = name; self.dtype = dtype; self.shape = shape; self.values = values
        }
    }

    /// Larger headers are refused (a model's is a few kB per hundred tensors).
    public static let maximumHeaderBytes = 16 << 20
    /// Most dimensions of one tensor, and most tensors in one file.
    public static let maximumRank = 8
    public static let maximumTensors = 100_000

    // MARK: Writing

    /// The file's bytes: entries in the given order, header padded with spaces to 8 bytes.
    /// Float16 entries are rounded to nearest; a value beyond float16's range is an error.
    public static func encode(_ entries: [Entry], metadata: [String: String]) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for entry in entries {
            guard header[entry.name] == nil, entry.name != "__metadata__" else {
                throw SafetensorsError.duplicateName(entry.name)
            }
            let count = entry.shape.reduce(1, *)
            guard count == entry.values.count else {
                throw SafetensorsError.badShape(
                    name: entry.name, "shape \(entry.shape) for \(entry.values.count) values")
            }
            let end = offset + count * entry.dtype.size
            header[entry.name] = ["dtype": entry.dtype.rawValue, "shape": entry.shape, "data_offsets": [offset, end]]
            offset = end
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for entry in entries {
            switch entry.dtype {
            case .float32:
                entry.values.withUnsafeBufferPointer { values in
                    for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
                }
            case .float16:
                for v in entry.values {
                    let half = Float16(v)
                    guard half.isFinite || !v.isFinite else {
                        throw SafetensorsError.notRepresentable(name: entry.name, value: v)
                    }
                    withUnsafeBytes(of: half.bitPattern.littleEndian) { out.append(contentsOf: $0) }
                }
            }
        }
        return out
    }

    // MARK: Reading

    /// Parses a whole file's bytes.
    public static func decode(_ data: Data) throws -> (metadata: [String: String], entries: [Entry]) {
        guard data.count >= 8 else {
            throw SafetensorsError.truncated("the file has \(data.count) bytes, fewer than the 8 of its header length")
        }
        let headerLength = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(maximumHeaderBytes) else {
            throw SafetensorsError.badHeader(
                "its header claims \(headerLength) bytes, more than the \(maximumHeaderBytes) allowed")
        }
        guard Int(headerLength) <= data.count - 8 else {
            throw SafetensorsError.truncated(
                "its header claims \(headerLength) bytes but only \(data.count - 8) follow")
        }
        let headerBytes = data.subdata(in: 8..<(8 + Int(headerLength)))
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: headerBytes) } catch {
            throw SafetensorsError.badHeader("its header is not JSON (\(error.localizedDescription))")
        }
        guard let header = parsed as? [String: Any] else {
            throw SafetensorsError.badHeader("its header is not a JSON object")
        }
        guard header.count <= maximumTensors + 1 else {
            throw SafetensorsError.badHeader("it lists \(header.count) tensors, more than \(maximumTensors)")
        }
        var metadata: [String: String] = [:]
        if let raw = header["__metadata__"] {
            guard let strings = raw as? [String: String] else {
                throw SafetensorsError.badHeader("__metadata__ must map strings to strings")
            }
            metadata = strings
        }
        let buffer = 8 + Int(headerLength)
        let bufferBytes = data.count - buffer
        var described: [(name: String, dtype: DType, shape: [Int], begin: Int, end: Int)] = []
        for (name, value) in header where name != "__metadata__" {
            described.append(try describe(name: name, value, bufferBytes: bufferBytes))
        }
        // The byte ranges must tile the buffer: sorted by start, each begins where the last ended.
        described.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var expected = 0
        for d in described {
            guard d.begin == expected else {
                throw SafetensorsError.badOffsets(
                    name: d.name,
                    d.begin < expected
                        ? "its bytes \(d.begin)..<\(d.end) overlap the tensor before"
                        : "a hole of \(d.begin - expected) bytes lies before it")
            }
            expected = d.end
        }
        guard expected == bufferBytes else {
            throw SafetensorsError.badOffsets(
                name: described.last?.name ?? "(none)", "the tensors cover \(expected) of the \(bufferBytes) data bytes"
            )
        }
        let entries = data.withUnsafeBytes { raw in
            described.map { d -> Entry in
                let base = raw.baseAddress!.advanced(by: buffer + d.begin)
                let count = (d.end - d.begin) / d.dtype.size
                var values = [Float](repeating: 0, count: count)
                switch d.dtype {
                case .float32:
                    for i in 0..<count {
                        values[i] = Float(
                            bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
                        )
                    }
                case .float16:
                    for i in 0..<count {
                        values[i] = Float(
                            Float16(
                                bitPattern: UInt16(
                                    littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
                    }
                }
                return Entry(name: d.name, dtype: d.dtype, shape: d.shape, values: values)
            }
        }
        return (metadata, entries.sorted { $0.name < $1.name })
    }

    private static func describe(name: String, _ value: Any, bufferBytes: Int) throws -> (
        name: String, dtype: DType, shape: [Int], begin: Int, end: Int
    ) {
        guard let fields = value as? [String: Any] else {
            throw SafetensorsError.badHeader("tensor \(name) is not described by an object")
        }
        guard let dtypeName = fields["dtype"] as? String else {
            throw SafetensorsError.badHeader("tensor \(name) has no dtype")
        }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw SafetensorsError.unsupportedDType(name: name, dtypeName)
        }
        guard let shapeValues = fields["shape"] as? [Any], shapeValues.count <= maximumRank else {
            throw SafetensorsError.badShape(name: name, "its shape is not a list of at most \(maximumRank) numbers")
        }
        var shape: [Int] = []
        var count = 1
        for dimension in shapeValues {
            guard let number = dimension as? NSNumber, let d = Int(exactly: number.doubleValue), d >= 0 else {
                throw SafetensorsError.badShape(name: name, "dimension \(dimension) is not a whole number ≥ 0")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, product <= bufferBytes else {
                throw SafetensorsError.badShape(
                    name: name, "shape \(shapeValues) holds more values than the file has bytes")
            }
            shape.append(d)
            count = product
        }
        guard let offsets = fields["data_offsets"] as? [Any], offsets.count == 2,
            let begin = (offsets[0] as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) }),
            let end = (offsets[1] as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) })
        else { throw SafetensorsError.badOffsets(name: name, "data_offsets must be two whole numbers") }
        guard 0 <= begin, begin <= end, end <= bufferBytes else {
            throw SafetensorsError.badOffsets(
                name: name, "bytes \(begin)..<\(end) lie outside the \(bufferBytes) data bytes")
        }
        guard end - begin == count * dtype.size else {
            throw SafetensorsError.badShape(
                name: name,
                "shape \(shape) of \(dtype.rawValue) needs \(count * dtype.size) bytes, its offsets give \(end - begin)"
            )
        }
        return (name, dtype, shape, begin, end)
    }
}

/// What is wrong with a safetensors file, and with which tensor.
public enum SafetensorsError: Error, Equatable, CustomStringConvertible {
    case truncated(String)
    case badHeader(String)
    case badShape(name: String, String)
    case badOffsets(name: String, String)
    case unsupportedDType(name: String, String)
    case duplicateName(String)
    case notRepresentable(name: String, value: Float)

    public var description: String {
        let what: String
        switch self {
        case .truncated(let why): what = "the file is truncated: \(why)"
        case .badHeader(let why): what = "\(why)"
        case .badShape(let name, let why): what = "tensor \(name): \(why)"
        case .badOffsets(let name, let why): what = "tensor \(name): \(why)"
        case .unsupportedDType(let name, let dtype):
            what =
                "tensor \(name) has dtype \(dtype); the zoo reads F32 and F16 (convert it, e.g. with torch's .float())"
        case .duplicateName(let name): what = "tensor name \(name) appears twice"
        case .notRepresentable(let name, let value):
            what = "tensor \(name): \(value) does not fit float16; export as float32"
        }
        return "not a usable safetensors file: \(what)"
    }
}
