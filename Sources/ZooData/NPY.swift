import Foundation

/// NumPy's .npy format (version 1.0 written; 1.0–3.0 read): magic "\x93NUMPY", a version, a
/// little-endian header length, an ASCII dict {'descr': '<f4', 'fortran_order': False,
/// 'shape': (N, M), } padded to 64 bytes, then the values in C order.
///
/// Reading is for files from anywhere: the header is parsed field by field (never evaluated),
/// the dtype must be little-endian float32 or float64, the shape's product is checked against
/// the bytes that follow before anything is allocated, and problems are `NPYError`s.
public enum NPY {
    public static let maximumHeaderBytes = 1 << 16
    public static let maximumRank = 8

    /// float32 values in C order with their shape.
    public static func encode(float32 values: [Float], shape: [Int]) -> Data {
        var out = header(descr: "<f4", shape: shape)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
        return out
    }

    /// int64 values (labels) with their shape.
    public static func encode(int64 values: [Int], shape: [Int]) -> Data {
        var out = header(descr: "<i8", shape: shape)
        for v in values { withUnsafeBytes(of: Int64(v).littleEndian) { out.append(contentsOf: $0) } }
        return out
    }

    private static func header(descr: String, shape: [Int]) -> Data {
        let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
        var text = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(dims)), }"
        // magic (6) + version (2) + length (2) + text + "\n", to a multiple of 64.
        while (10 + text.utf8.count + 1) % 64 != 0 { text += " " }
        text += "\n"
        var out = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        withUnsafeBytes(of: UInt16(text.utf8.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: Array(text.utf8))
        return out
    }

    /// A float32 or float64 array, as float32 values and its shape.
    public static func decode(_ data: Data) throws -> (values: [Float], shape: [Int]) {
        let bytes = [UInt8](data.prefix(12))
        guard bytes.count >= 10 else {
            throw NPYError.truncated("the file has \(data.count) bytes, less than a header")
        }
        guard bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
            throw NPYError.badMagic
        }
        let major = bytes[6]
        let headerLength: Int
        let start: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            start = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw NPYError.truncated("the version \(major) header length is cut off") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            start = 12
        default: throw NPYError.badHeader("version \(major).\(bytes[7]) is not one this reads (1, 2 or 3)")
        }
        guard headerLength <= maximumHeaderBytes else {
            throw NPYError.badHeader("its header claims \(headerLength) bytes, more than \(maximumHeaderBytes)")
        }
        guard start + headerLength <= data.count else {
            throw NPYError.truncated("its header claims \(headerLength) bytes but \(data.count - start) follow")
        }
        guard let text = String(data: data.subdata(in: start..<(start + headerLength)), encoding: .ascii)
        else { throw NPYError.badHeader("its header is not ASCII") }
        let descr = try field("descr", in: text)
        let itemSize: Int
        switch descr {
        case "'<f4'", "'float32'": itemSize = 4
        case "'<f8'", "'float64'": itemSize = 8
        default:
            throw NPYError.unsupportedDType(descr)
        }
        guard try field("fortran_order", in: text) == "False" else {
            throw NPYError.badHeader("fortran_order must be False (write it with numpy.ascontiguousarray)")
        }
        let shapeText = try field("shape", in: text)
        guard shapeText.hasPrefix("("), shapeText.hasSuffix(")") else {
            throw NPYError.badHeader("shape \(shapeText) is not a tuple")
        }
        let parts = shapeText.dropFirst().dropLast().split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        .filter { !$0.isEmpty }
        guard parts.count <= maximumRank else {
            throw NPYError.badHeader("rank \(parts.count) is more than \(maximumRank)")
        }
        let payload = data.count - start - headerLength
        var shape: [Int] = []
        var count = 1
        for part in parts {
            guard let d = Int(part.hasSuffix("L") ? String(part.dropLast()) : part), d >= 0 else {
                throw NPYError.badHeader("dimension \(part) is not a whole number ≥ 0")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, product <= payload else {
                throw NPYError.truncated("shape \(shapeText) needs more values than the \(payload) bytes that follow")
            }
            shape.append(d)
            count = product
        }
        guard count * itemSize == payload else {
            throw NPYError.truncated(
                "shape \(shapeText) of \(descr) needs \(count * itemSize) bytes, the file has \(payload)")
        }
        let base = start + headerLength
        let values: [Float] = data.withUnsafeBytes { raw in
            let p = raw.baseAddress!.advanced(by: base)
            return (0..<count).map { i in
                itemSize == 4
                    ? Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                    : Float(
                        Double(
                            bitPattern: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
            }
        }
        return (values, shape)
    }

    /// The text of `'key': value` in a header dict, up to the next top-level comma.
    private static func field(_ key: String, in text: String) throws -> String {
        guard let range = text.range(of: "'\(key)':") else { throw NPYError.badHeader("its header has no '\(key)'") }
        var depth = 0
        var value = ""
        for ch in text[range.upperBound...] {
            if ch == "(" { depth += 1 }
            if ch == ")" { depth -= 1 }
            if depth == 0 && (ch == "," || ch == "}") { break }
            value.append(ch)
        }
        return value.trimmingCharacters(in: .whitespaces)
    }
}

public enum NPYError: Error, Equatable, CustomStringConvertible {
    case badMagic
    case truncated(String)
    case badHeader(String)
    case unsupportedDType(String)

    public var description: String {
        switch self {
        case .badMagic: return "not a .npy file (no \\x93NUMPY magic); write it with numpy.save"
        case .truncated(let why): return "the .npy file is truncated: \(why)"
        case .badHeader(let why): return "the .npy header is not usable: \(why)"
        case .unsupportedDType(let descr):
            return "the .npy array has dtype \(descr); use little-endian float32 or float64 (numpy.float32)"
        }
    }
}

/// Writing IDX files (MNIST's format): big-endian magic 0x000008TT with TT = 0x08 (unsigned
/// bytes) and the dimension count, the dimensions as big-endian UInt32, then the bytes.
public enum IDXWriter {
    public static func encode(bytes: [UInt8], shape: [Int]) -> Data {
        var out = Data([0, 0, 0x08, UInt8(shape.count)])
        for d in shape { withUnsafeBytes(of: UInt32(d).bigEndian) { out.append(contentsOf: $0) } }
        out.append(contentsOf: bytes)
        return out
    }
}
