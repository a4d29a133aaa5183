import Foundation
import XCTest

@testable import ZooData

/// safetensors and .npy: round trips, and every malformed file a typed error that names the
/// problem (never a crash, never an allocation sized by a number the file made up).
final class ExchangeFormatTests: XCTestCase {
    let entries = [
        Safetensors.Entry(
            name: "generator.dense.kernel", dtype: .float32, shape: [2, 3], values: [1, -2, 3.5, 0, 1e-8, 7]),
        Safetensors.Entry(name: "generator.bn.gamma", dtype: .float16, shape: [3], values: [0.5, -1.25, 65504]),
        Safetensors.Entry(name: "scalar", dtype: .float32, shape: [], values: [42]),
    ]

    func testSafetensorsRoundTrip() throws {
        let data = try Safetensors.encode(entries, metadata: ["architecture": "dcgan"])
        let headerLength = data.withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        XCTAssertEqual(headerLength % 8, 0, "the header is padded to 8 bytes")
        let (metadata, decoded) = try Safetensors.decode(data)
        XCTAssertEqual(metadata, ["architecture": "dcgan"])
        XCTAssertEqual(decoded, entries.sorted { $0.name < $1.name })
        // float16 rounds to nearest and refuses what it cannot hold.
        let half = try Safetensors.decode(
            try Safetensors.encode([.init(name: "x", dtype: .float16, shape: [1], values: [0.1])], metadata: [:]))
        XCTAssertEqual(half.entries[0].values[0], Float(Float16(0.1)))
        XCTAssertThrowsError(
            try Safetensors.encode([.init(name: "x", dtype: .float16, shape: [1], values: [1e6])], metadata: [:])
        ) { XCTAssertEqual($0 as? SafetensorsError, .notRepresentable(name: "x", value: 1e6)) }
    }

    /// A file written by hand the way the Python library lays it out.
    func file(_ header: String, data: [UInt8]) -> Data {
        var out = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: Array(header.utf8))
        out.append(contentsOf: data)
        return out
    }

    func testSafetensorsBadFilesAreTypedErrors() throws {
        let good = try Safetensors.encode(entries, metadata: [:])
        let cases: [(String, Data, (SafetensorsError) -> Bool)] = [
            (
                "empty", Data(),
                {
                    if case .truncated = $0 { return true }; return false
                }
            ),
            (
                "cut", good.prefix(good.count - 3),
                {
                    if case .badOffsets = $0 { return true }; return false
                }
            ),
            (
                "absurd header length",
                Data([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]) + good.dropFirst(8),
                {
                    if case .badHeader = $0 { return true }; return false
                }
            ),
            (
                "header longer than the file", file("{}", data: []).prefix(8) + Data([0x7b]),
                {
                    if case .truncated = $0 { return true }; return false
                }
            ),
            (
                "not JSON", file("{\"a\": [", data: []),
                {
                    if case .badHeader = $0 { return true }; return false
                }
            ),
            (
                "bad dtype", file(#"{"a":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}"#, data: [1]),
                { $0 == .unsupportedDType(name: "a", "I8") }
            ),
            (
                "dtype and offsets disagree",
                file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                {
                    if case .badShape(name: "a", _) = $0 { return true }; return false
                }
            ),
            (
                "absurd shape",
                file(
                    #"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                {
                    if case .badShape(name: "a", _) = $0 { return true }; return false
                }
            ),
            (
                "negative dimension",
                file(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                {
                    if case .badShape(name: "a", _) = $0 { return true }; return false
                }
            ),
            (
                "offsets outside",
                file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: [0, 0, 0, 0]),
                {
                    if case .badOffsets(name: "a", _) = $0 { return true }; return false
                }
            ),
            (
                "overlap",
                file(
                    #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
                    data: [0, 0, 0, 0]),
                {
                    if case .badOffsets = $0 { return true }; return false
                }
            ),
            (
                "hole",
                file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: [0, 0, 0, 0, 0, 0, 0, 0]),
                {
                    if case .badOffsets(name: "a", _) = $0 { return true }; return false
                }
            ),
            (
                "metadata not strings", file(#"{"__metadata__":{"a":1}}"#, data: []),
                {
                    if case .badHeader = $0 { return true }; return false
                }
            ),
        ]
        for (label, data, matches) in cases {
            XCTAssertThrowsError(try Safetensors.decode(data), label) { error in
                guard let error = error as? SafetensorsError else { return XCTFail("\(label): \(error)") }
                XCTAssertTrue(matches(error), "\(label): \(error)")
                XCTAssertTrue(error.description.hasPrefix("not a usable safetensors file"), error.description)
            }
        }
    }

    func testNPYRoundTripAndNumpysOwnLayout() throws {
        let data = NPY.encode(float32: [1, 2, 3, 4, 5, 6], shape: [2, 3])
        XCTAssertEqual(Array(data.prefix(8)), [0x93] + Array("NUMPY".utf8) + [1, 0])
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        XCTAssertEqual((10 + headerLength) % 64, 0, "numpy aligns the data to 64 bytes")
        let (values, shape) = try NPY.decode(data)
        XCTAssertEqual(values, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(shape, [2, 3])
        // float64, version 2, a one-element tuple: what numpy.save writes for such arrays.
        var text = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }"
        while (12 + text.utf8.count + 1) % 64 != 0 { text += " " }
        text += "\n"
        var v2 = Data([0x93] + Array("NUMPY".utf8) + [2, 0])
        withUnsafeBytes(of: UInt32(text.utf8.count).littleEndian) { v2.append(contentsOf: $0) }
        v2.append(contentsOf: Array(text.utf8))
        for x in [0.5, -2.0] { withUnsafeBytes(of: x.bitPattern.littleEndian) { v2.append(contentsOf: $0) } }
        XCTAssertEqual(try NPY.decode(v2).values, [0.5, -2])
        XCTAssertEqual(try NPY.decode(v2).shape, [2])
    }

    func testNPYBadFilesAreTypedErrors() {
        func npy(_ header: String, payload: Int, version: UInt8 = 1) -> Data {
            var out = Data([0x93] + Array("NUMPY".utf8) + [version, 0])
            withUnsafeBytes(of: UInt16(header.utf8.count).littleEndian) { out.append(contentsOf: $0) }
            out.append(contentsOf: Array(header.utf8))
            out.append(Data(count: payload))
            return out
        }
        let good = NPY.encode(float32: [1, 2], shape: [2])
        let cases: [(String, Data, (NPYError) -> Bool)] = [
            (
                "empty", Data(),
                {
                    if case .truncated = $0 { return true }; return false
                }
            ),
            ("magic", Data("NUMPYNUMPYNUMPY".utf8), { $0 == .badMagic }),
            (
                "cut", good.prefix(good.count - 1),
                {
                    if case .truncated = $0 { return true }; return false
                }
            ),
            (
                "version 9", npy("{}", payload: 0, version: 9),
                {
                    if case .badHeader = $0 { return true }; return false
                }
            ),
            (
                "int dtype", npy("{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }", payload: 4),
                { $0 == .unsupportedDType("'<i4'") }
            ),
            (
                "big-endian", npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", payload: 4),
                { $0 == .unsupportedDType("'>f4'") }
            ),
            (
                "fortran", npy("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", payload: 4),
                {
                    if case .badHeader = $0 { return true }; return false
                }
            ),
            (
                "absurd shape",
                npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }", payload: 4),
                {
                    if case .truncated = $0 { return true }; return false
                }
            ),
            (
                "no shape", npy("{'descr': '<f4', 'fortran_order': False, }", payload: 4),
                {
                    if case .badHeader = $0 { return true }; return false
                }
            ),
            (
                "negative", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", payload: 4),
                {
                    if case .badHeader = $0 { return true }; return false
                }
            ),
        ]
        for (label, data, matches) in cases {
            XCTAssertThrowsError(try NPY.decode(data), label) { error in
                guard let error = error as? NPYError else { return XCTFail("\(label): \(error)") }
                XCTAssertTrue(matches(error), "\(label): \(error)")
            }
        }
    }

    func testIDXWriterReadsBackWithTheReader() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("idxw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bytes = (0..<(3 * 28 * 28)).map { UInt8($0 % 251) }
        let path = dir.appendingPathComponent("x.idx").path
        try IDXWriter.encode(bytes: bytes, shape: [3, 28, 28]).write(to: URL(fileURLWithPath: path))
        let read = try IDX.readImages(path: path)
        XCTAssertEqual(read.count, 3)
        XCTAssertEqual(read.bytes, bytes)
        let labels = dir.appendingPathComponent("y.idx").path
        try IDXWriter.encode(bytes: [7, 1, 0], shape: [3]).write(to: URL(fileURLWithPath: labels))
        XCTAssertEqual(try IDX.readLabels(path: labels), [7, 1, 0])
    }
}
