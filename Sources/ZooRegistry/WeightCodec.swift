import CByteShuffle
import CZlib
import Foundation

/// Storage format of one tensor. Little-endian IEEE values, byte-shuffled
/// (all first bytes, then all second bytes, ...) so the slowly varying
/// sign/exponent bytes sit together and zlib finds the redundancy, then
/// zlib-compressed. The checksum covers the plain little-endian bytes, so it
/// checks the whole decode path, not just the blob.
enum WeightCodec {
    static let codec = "byteshuffle-zlib"
    static let knownCodecs: Set<String> = [codec]
    /// zlib cannot expand data by more than ~1032:1; a larger claimed size is a lie.
    static let maxInflation = 1_100

    enum DType: String {
        case float32, float16
        var size: Int { self == .float32 ? 4 : 2 }
    }

    struct Encoded {
        var dtype: DType
        var rawBytes: Int
        var sha256: String
        var blob: Data
    }

    /// Why a stored tensor could not be decoded; the caller adds which tensor.
    struct Failure: Error { var reason: String }

    static func encode(_ values: [Float], dtype: DType, level: Int32 = 6) throws -> Encoded {
        let raw = littleEndianBytes(values, dtype: dtype)
        let sha = SHA256.hex(raw)
        let shuffled = shuffle(raw, planes: dtype.size)
        return Encoded(dtype: dtype, rawBytes: raw.count, sha256: sha, blob: try deflate(planes: shuffled, count: dtype.size, level: level))
    }

    static func decode(blob: Data, dtype name: String, codec: String, rawBytes: Int, sha256: String,
                       elementCount: Int) throws -> [Float] {
        // Capacity ≥ 1 so there is always a pointer: an empty tensor is still checked.
        try [Float](unsafeUninitializedCapacity: max(elementCount, 1)) { buffer, initialized in
            try decode(blob: blob, dtype: name, codec: codec, rawBytes: rawBytes, sha256: sha256,
                       elementCount: elementCount, into: buffer.baseAddress!)
            initialized = elementCount
        }
    }

    /// Decodes straight into `out` (elementCount floats), e.g. a live parameter tensor. On a
    /// failure `out` may hold part of the values: callers discard it.
    static func decode(blob: Data, dtype name: String, codec: String, rawBytes: Int, sha256: String,
                       elementCount: Int, into out: UnsafeMutablePointer<Float>) throws {
        guard knownCodecs.contains(codec) else { throw Failure(reason: "unknown codec \"\(codec)\" (written by a newer zoo?)") }
        guard let dtype = DType(rawValue: name) else { throw Failure(reason: "unknown dtype \"\(name)\"") }
        let (expected, overflow) = elementCount.multipliedReportingOverflow(by: dtype.size)
        guard !overflow, expected == rawBytes else {
            throw Failure(reason: "raw size \(rawBytes) bytes does not match shape (\(elementCount) × \(dtype.size) bytes)")
        }
        guard rawBytes <= max(blob.count, 64) * maxInflation else {
            throw Failure(reason: "claims \(rawBytes) bytes from a \(blob.count)-byte blob")
        }
        let shuffled = try inflate(blob, expectedSize: rawBytes)
        let actual = unshuffleHashAndConvert(shuffled, dtype: dtype, into: out)
        guard actual == sha256 else { throw Failure(reason: "checksum mismatch (stored \(sha256.prefix(12))…, computed \(actual.prefix(12))…)") }
    }

    /// unshuffle → sha256 → values(fromLittleEndian:) in one pass, a block of elements at a
    /// time through a small scratch buffer that stays in cache, so a load never holds (or
    /// faults in) a second full-size copy of the raw bytes. Equal to the three steps (tested).
    static func unshuffleHashAndConvert(_ shuffled: [UInt8], dtype: DType) -> (values: [Float], sha256: String) {
        let n = shuffled.count / dtype.size
        var sha = ""
        // Capacity ≥ 1 so the buffer always has a base address, even for an empty tensor.
        let values = [Float](unsafeUninitializedCapacity: max(1, n)) { out, initialized in
            sha = unshuffleHashAndConvert(shuffled, dtype: dtype, into: out.baseAddress!)
            initialized = n
        }
        return (values, sha)
    }

    /// Whether float16 widens in hardware (F16C); otherwise the portable `Half.float` runs.
    static let halfHardware = zoo_half_hardware() != 0

    /// The same into `out` (shuffled.count / dtype.size floats); returns the sha256.
    /// `portable` forces the Swift loops (tests compare the two).
    static func unshuffleHashAndConvert(_ shuffled: [UInt8], dtype: DType, into out: UnsafeMutablePointer<Float>,
                                        portable: Bool = false) -> String {
        let planes = dtype.size
        let n = shuffled.count / planes
        let block = 8192
        var hasher = SHA256()
        var scratch = [UInt8](repeating: 0, count: block * planes)
        shuffled.withUnsafeBufferPointer { src in
            scratch.withUnsafeMutableBufferPointer { raw in
                var start = 0
                while start < n {
                    let count = min(block, n - start)
                    let plane = { (p: Int) in src.baseAddress! + p * n + start }
                    if portable {
                        for p in 0..<planes {
                            let bytes = plane(p)
                            for i in 0..<count { raw[i * planes + p] = bytes[i] }
                        }
                    } else if planes == 4 {
                        zoo_interleave4(plane(0), plane(1), plane(2), plane(3), count, raw.baseAddress!)
                    } else {
                        zoo_interleave2(plane(0), plane(1), count, raw.baseAddress!)
                    }
                    hasher.update(UnsafeRawBufferPointer(start: raw.baseAddress, count: count * planes))
                    switch dtype {
                    case .float32:
                        #if _endian(little)
                        if !portable {
                            UnsafeMutableRawPointer(out + start).copyMemory(from: raw.baseAddress!, byteCount: count * 4)
                            break
                        }
                        #endif
                        for i in 0..<count {
                            let b = UInt32(raw[4 * i]) | UInt32(raw[4 * i + 1]) << 8 | UInt32(raw[4 * i + 2]) << 16 | UInt32(raw[4 * i + 3]) << 24
                            (out + start + i).initialize(to: Float(bitPattern: b))
                        }
                    case .float16:
                        if !portable && halfHardware {
                            zoo_half_to_float_f16c(raw.baseAddress!, count, out + start)
                            break
                        }
                        for i in 0..<count {
                            (out + start + i).initialize(to: Half.float(UInt16(raw[2 * i]) | UInt16(raw[2 * i + 1]) << 8))
                        }
                    }
                    start += count
                }
            }
        }
        return SHA256.hexDigest(hasher.finalize())
    }

    static func littleEndianBytes(_ values: [Float], dtype: DType) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: values.count * dtype.size)
        switch dtype {
        case .float32:
            for (i, v) in values.enumerated() {
                let b = v.bitPattern
                out[4 * i] = UInt8(truncatingIfNeeded: b); out[4 * i + 1] = UInt8(truncatingIfNeeded: b >> 8)
                out[4 * i + 2] = UInt8(truncatingIfNeeded: b >> 16); out[4 * i + 3] = UInt8(truncatingIfNeeded: b >> 24)
            }
        case .float16:
            for (i, v) in values.enumerated() {
                let b = Half.bits(v)
                out[2 * i] = UInt8(truncatingIfNeeded: b); out[2 * i + 1] = UInt8(truncatingIfNeeded: b >> 8)
            }
        }
        return out
    }

    static func values(fromLittleEndian raw: [UInt8], dtype: DType) -> [Float] {
        let n = raw.count / dtype.size
        var out = [Float](repeating: 0, count: n)
        switch dtype {
        case .float32:
            for i in 0..<n {
                let b = UInt32(raw[4 * i]) | UInt32(raw[4 * i + 1]) << 8 | UInt32(raw[4 * i + 2]) << 16 | UInt32(raw[4 * i + 3]) << 24
                out[i] = Float(bitPattern: b)
            }
        case .float16:
            for i in 0..<n { out[i] = Half.float(UInt16(raw[2 * i]) | UInt16(raw[2 * i + 1]) << 8) }
        }
        return out
    }

    static func shuffle(_ raw: [UInt8], planes: Int) -> [UInt8] {
        let n = raw.count / planes
        var out = [UInt8](repeating: 0, count: raw.count)
        for i in 0..<n { for p in 0..<planes { out[p * n + i] = raw[i * planes + p] } }
        return out
    }

    static func unshuffle(_ shuffled: [UInt8], planes: Int) -> [UInt8] {
        let n = shuffled.count / planes
        var out = [UInt8](repeating: 0, count: shuffled.count)
        for i in 0..<n { for p in 0..<planes { out[i * planes + p] = shuffled[p * n + i] } }
        return out
    }

    /// Planes whose bytes Huffman coding would shrink by less than this are stored (deflate
    /// level 0) in the same zlib stream. The low mantissa bytes of float weights are nearly
    /// random: coding them saves 0–7 % yet costs inflate ~4 ns a byte, where a stored block is
    /// a copy. For the float32 dense kernel of an untrained DCGAN generator (5 MB) inflate went
    /// from 23.5 to 7.2 ms for 2.7 % more bytes.
    /// The stream is an ordinary zlib stream: the decoder and the codec name are unchanged.
    static let storedPlaneSaving = 0.10

    /// Order-0 entropy of the bytes, in bits per byte: what Huffman coding can reach.
    static func entropyBits(_ bytes: UnsafeBufferPointer<UInt8>) -> Double {
        guard !bytes.isEmpty else { return 0 }
        var histogram = [Int](repeating: 0, count: 256)
        for b in bytes { histogram[Int(b)] += 1 }
        let total = Double(bytes.count)
        return histogram.reduce(0.0) { sum, n in n == 0 ? sum : sum - Double(n) / total * log2(Double(n) / total) }
    }

    /// A plane is stored when neither its byte statistics (order-0 entropy) nor a fast
    /// deflate (level 1, which finds repeats the entropy misses, e.g. a periodic signal's
    /// low bytes) would save `storedPlaneSaving` of it.
    static func worthStoring(_ plane: UnsafeBufferPointer<UInt8>) throws -> Bool {
        guard entropyBits(plane) / 8 > 1 - storedPlaneSaving else { return false }
        var capacity = compressBound(uLong(plane.count))
        var trial = [UInt8](repeating: 0, count: Int(capacity))
        let rc = trial.withUnsafeMutableBufferPointer { compress2($0.baseAddress, &capacity, plane.baseAddress, uLong(plane.count), 1) }
        guard rc == Z_OK else { throw RegistryError.invalidArgument("zlib compress2 failed with code \(rc)") }
        return Double(capacity) > Double(plane.count) * (1 - storedPlaneSaving)
    }

    /// zlib stream of the shuffled planes, each plane deflated at `level` or stored.
    static func deflate(planes input: [UInt8], count planes: Int, level: Int32) throws -> Data {
        let n = input.count / planes
        guard n > 0 else { return try deflate(input, level: level) }
        var stream = z_stream()
        var rc = deflateInit_(&stream, level, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw RegistryError.invalidArgument("zlib deflateInit failed with code \(rc)") }
        defer { deflateEnd(&stream) }
        // Room for the worst case of every plane plus the block boundaries a level change adds.
        var out = [UInt8](repeating: 0, count: Int(compressBound(uLong(input.count))) + 64 * planes)
        var current = level
        try input.withUnsafeBufferPointer { src in
            try out.withUnsafeMutableBufferPointer { dst in
                stream.next_out = dst.baseAddress
                stream.avail_out = uInt(dst.count)
                for p in 0..<planes {
                    let plane = UnsafeBufferPointer(rebasing: src[p * n ..< (p + 1) * n])
                    let wanted: Int32 = try worthStoring(plane) ? 0 : level
                    if wanted != current {
                        rc = deflateParams(&stream, wanted, Z_DEFAULT_STRATEGY)
                        guard rc == Z_OK else { throw RegistryError.invalidArgument("zlib deflateParams failed with code \(rc)") }
                        current = wanted
                    }
                    stream.next_in = UnsafeMutablePointer(mutating: plane.baseAddress)
                    stream.avail_in = uInt(plane.count)
                    let last = p == planes - 1
                    rc = CZlib.deflate(&stream, last ? Z_FINISH : Z_NO_FLUSH)
                    guard rc == (last ? Z_STREAM_END : Z_OK), stream.avail_in == 0 else {
                        throw RegistryError.invalidArgument("zlib deflate failed with code \(rc)")
                    }
                }
            }
        }
        return Data(out[0..<Int(stream.total_out)])
    }

    static func deflate(_ input: [UInt8], level: Int32) throws -> Data {
        var capacity = compressBound(uLong(input.count))
        var out = [UInt8](repeating: 0, count: Int(capacity))
        // zlib wants a valid pointer even for zero bytes.
        let source = input.isEmpty ? [0] : input
        let rc = out.withUnsafeMutableBufferPointer { dst in
            source.withUnsafeBufferPointer { src in
                compress2(dst.baseAddress, &capacity, src.baseAddress, uLong(input.count), level)
            }
        }
        guard rc == Z_OK else { throw RegistryError.invalidArgument("zlib compress2 failed with code \(rc)") }
        return Data(out[0..<Int(capacity)])
    }

    static func inflate(_ blob: Data, expectedSize: Int) throws -> [UInt8] {
        // One spare byte: if zlib fills it, the stream is longer than recorded. Not zero-filled:
        // zlib writes what it returns, and a short stream is an error below.
        var out = [UInt8](unsafeUninitializedCapacity: expectedSize + 1) { _, count in count = expectedSize + 1 }
        var length = uLong(out.count)
        let source = blob.isEmpty ? Data([0]) : blob
        let rc = out.withUnsafeMutableBufferPointer { dst in
            source.withUnsafeBytes { src in
                uncompress(dst.baseAddress, &length, src.bindMemory(to: Bytef.self).baseAddress, uLong(blob.count))
            }
        }
        switch rc {
        case Z_OK:
            guard Int(length) == expectedSize else {
                throw Failure(reason: "decompressed to \(length) bytes, expected \(expectedSize)")
            }
            out.removeLast()
            return out
        case Z_BUF_ERROR where Int(length) == out.count:
            throw Failure(reason: "decompresses to more than the recorded \(expectedSize) bytes")
        case Z_BUF_ERROR, Z_DATA_ERROR:
            throw Failure(reason: "compressed data is corrupt (zlib error \(rc))")
        default:
            throw Failure(reason: "zlib uncompress failed with code \(rc)")
        }
    }
}
