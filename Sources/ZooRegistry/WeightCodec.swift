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
        return Encoded(
            dtype: dtype, rawBytes: raw.count, sha256: sha,
            blob: try deflate(planes: shuffled, count: dtype.size, level: level))
    }

    /// Decodes a blob held in memory (verify, tests). `portable` forces the Swift block loops
    /// instead of the C ones (tests compare the two).
    static func decode(
        blob: Data, dtype name: String, codec: String, rawBytes: Int, sha256: String,
        elementCount: Int, portable: Bool = false
    ) throws -> [Float] {
        try decode(
            blobSize: blob.count,
            read: { buffer, offset in
                blob.copyBytes(
                    to: buffer.bindMemory(to: UInt8.self),
                    from: blob.startIndex + offset..<blob.startIndex + offset + buffer.count)
            }, dtype: name, codec: codec, rawBytes: rawBytes, sha256: sha256, elementCount: elementCount,
            portable: portable)
    }

    /// Decodes into a new array.
    static func decode(
        blobSize: Int, read: @escaping BlobReader, dtype name: String, codec: String, rawBytes: Int,
        sha256: String, elementCount: Int, portable: Bool = false
    ) throws -> [Float] {
        // The stored sizes are checked before they size the allocation: a crafted shape of
        // 10^13 elements is a typed error here, not a 40 TB allocation.
        _ = try checkSizes(
            dtype: name, codec: codec, rawBytes: rawBytes, blobSize: blobSize, elementCount: elementCount)
        // Capacity ≥ 1 so there is always a pointer: an empty tensor is still checked.
        return try [Float](unsafeUninitializedCapacity: max(elementCount, 1)) { buffer, initialized in
            try decode(
                blobSize: blobSize, read: read, dtype: name, codec: codec, rawBytes: rawBytes, sha256: sha256,
                elementCount: elementCount, into: buffer.baseAddress!, portable: portable)
            initialized = elementCount
        }
    }

    /// The most elements one stored tensor may have (2^30: 4 GB of float32, far above any
    /// network here); more is a crafted or corrupt row.
    static let maximumElements = 1 << 30

    /// Checks a row's metadata against itself before anything is allocated or inflated:
    /// known codec and dtype, a sane element count, raw bytes equal to count × dtype size, and
    /// no more inflation than zlib can give (a zlib bomb's claim is refused here).
    static func checkSizes(dtype name: String, codec: String, rawBytes: Int, blobSize: Int, elementCount: Int) throws
        -> DType
    {
        guard knownCodecs.contains(codec) else {
            throw Failure(reason: "unknown codec \"\(codec)\" (written by a newer zoo?)")
        }
        guard let dtype = DType(rawValue: name) else { throw Failure(reason: "unknown dtype \"\(name)\"") }
        guard elementCount >= 0, elementCount <= maximumElements else {
            throw Failure(
                reason: "\(elementCount) elements is more than any tensor of a zoo model (at most \(maximumElements))")
        }
        let (expected, overflow) = elementCount.multipliedReportingOverflow(by: dtype.size)
        guard !overflow, expected == rawBytes else {
            throw Failure(
                reason: "raw size \(rawBytes) bytes does not match shape (\(elementCount) × \(dtype.size) bytes)")
        }
        guard rawBytes <= max(blobSize, 64) * maxInflation else {
            throw Failure(reason: "claims \(rawBytes) bytes from a \(blobSize)-byte blob")
        }
        return dtype
    }

    /// Pulls a stored blob's bytes in order: fills the whole buffer from `offset`.
    typealias BlobReader = (_ buffer: UnsafeMutableRawBufferPointer, _ offset: Int) throws -> Void

    /// The blob is pulled a chunk at a time and inflated in place: the planes before the last
    /// are inflated into `out`'s last quarter (float32: plane 0 there, planes 1–2 in a
    /// scratch buffer) and the last plane a block at a time, each block interleaved, hashed
    /// and converted. A cold load then touches no full-size copy of the blob or of the
    /// inflated bytes (each fresh page costs ~3 µs on a small VM). Converting element i writes
    /// bytes [4i, 4i+4) of `out`, below the staged bytes still to be read (at 3n+i+1 onward).
    /// Decodes straight into `out` (elementCount floats), e.g. a live parameter tensor. On a
    /// failure `out` may hold part of the values: callers discard it.
    static func decode(
        blobSize: Int, read: @escaping BlobReader, dtype name: String, codec: String, rawBytes: Int,
        sha256: String, elementCount: Int, into out: UnsafeMutablePointer<Float>, portable: Bool = false
    ) throws {
        let dtype = try checkSizes(
            dtype: name, codec: codec, rawBytes: rawBytes, blobSize: blobSize, elementCount: elementCount)
        let n = elementCount, planes = dtype.size
        let source = try InflateSource(blobSize: blobSize, read: read)
        let bytes = UnsafeMutableRawPointer(out).assumingMemoryBound(to: UInt8.self)
        let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, (planes - 2) * n))
        defer { scratch.deallocate() }
        var staged = [UnsafeMutablePointer<UInt8>]()
        for p in 0..<planes - 1 {
            let plane = p == 0 ? bytes + 3 * n : scratch + (p - 1) * n
            try source.inflate(into: plane, count: n, expectedTotal: rawBytes)
            staged.append(plane)
        }
        let block = 8192
        var hasher = SHA256()
        var last = [UInt8](repeating: 0, count: block)
        var raw = [UInt8](repeating: 0, count: block * planes)
        try last.withUnsafeMutableBufferPointer { last in
            try raw.withUnsafeMutableBufferPointer { raw in
                var start = 0
                while start < n {
                    let count = min(block, n - start)
                    try source.inflate(into: last.baseAddress!, count: count, expectedTotal: rawBytes)
                    let sources = staged.map { UnsafePointer($0 + start) } + [UnsafePointer(last.baseAddress!)]
                    convertBlock(
                        planes: sources, count: count, dtype: dtype, raw: raw.baseAddress!,
                        hasher: &hasher, into: out + start, portable: portable)
                    start += count
                }
            }
        }
        try source.finish(expectedTotal: rawBytes)
        let actual = SHA256.hexDigest(hasher.finalize())
        guard actual == sha256 else {
            throw Failure(reason: "checksum mismatch (stored \(sha256.prefix(12))…, computed \(actual.prefix(12))…)")
        }
    }

    /// A zlib stream fed from a BlobReader through a small buffer. The z_stream lives at a
    /// fixed address: zlib's state points back at it and rejects a moved copy (Z_STREAM_ERROR).
    final class InflateSource {
        private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        private let read: BlobReader
        private let blobSize: Int
        private var consumed = 0
        private let chunk: UnsafeMutableRawBufferPointer
        private var open = false

        /// 256 KiB: a few reads per MB, and the buffer is reused, so it faults in once.
        static let chunkSize = 1 << 18

        init(blobSize: Int, read: @escaping BlobReader) throws {
            self.read = read
            self.blobSize = blobSize
            chunk = .allocate(byteCount: max(1, min(blobSize, Self.chunkSize)), alignment: 64)
            stream.initialize(to: z_stream())
            let rc = inflateInit_(stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
            guard rc == Z_OK else {
                chunk.deallocate()
                stream.deallocate()
                throw Failure(reason: "zlib inflateInit failed with code \(rc)")
            }
            open = true
            // zlib's Adler-32 of the inflated bytes is not computed: the SHA-256 of the same
            // bytes (checked after the last block) is the stronger test, and Adler-32 cost 1.8 of the
            // ~94 ms of CPU time a cold `zoo generate` takes. The trailer must still be there: a stream
            // cut inside it is reported as truncated.
            let validate = inflateValidate(stream, 0)
            guard validate == Z_OK else { throw Failure(reason: "zlib inflateValidate failed with code \(validate)") }
        }

        deinit { end() }

        func end() {
            guard open else { return }
            inflateEnd(stream)
            chunk.deallocate()
            stream.deallocate()
            open = false
        }

        private func refill() throws -> Bool {
            guard consumed < blobSize else { return false }
            let count = min(chunk.count, blobSize - consumed)
            try read(UnsafeMutableRawBufferPointer(rebasing: chunk[0..<count]), consumed)
            consumed += count
            stream.pointee.next_in = chunk.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_in = uInt(count)
            return true
        }

        /// Inflates exactly `count` more bytes into `target`.
        func inflate(into target: UnsafeMutablePointer<UInt8>, count: Int, expectedTotal: Int) throws {
            stream.pointee.next_out = target
            stream.pointee.avail_out = uInt(count)
            while stream.pointee.avail_out > 0 {
                if stream.pointee.avail_in == 0, try !refill() {
                    throw Failure(
                        reason:
                            "compressed data is truncated (\(Int(stream.pointee.total_out)) of \(expectedTotal) bytes)")
                }
                let rc = CZlib.inflate(stream, Z_NO_FLUSH)
                switch rc {
                case Z_OK: continue
                case Z_STREAM_END where stream.pointee.avail_out > 0:
                    throw Failure(
                        reason: "decompressed to \(Int(stream.pointee.total_out)) bytes, expected \(expectedTotal)")
                case Z_STREAM_END: return
                case Z_BUF_ERROR where stream.pointee.avail_in == 0: continue  // needs more input
                case Z_DATA_ERROR, Z_NEED_DICT, Z_BUF_ERROR:
                    throw Failure(reason: "compressed data is corrupt (zlib error \(rc))")
                default:
                    throw Failure(reason: "zlib inflate failed with code \(rc)")
                }
            }
        }

        /// After every expected byte: the stream must end here, its Adler-32 trailer present.
        func finish(expectedTotal: Int) throws {
            var spare: UInt8 = 0
            while true {
                let rc = withUnsafeMutablePointer(to: &spare) { spare -> Int32 in
                    stream.pointee.next_out = spare
                    stream.pointee.avail_out = 1
                    return CZlib.inflate(stream, Z_NO_FLUSH)
                }
                if stream.pointee.avail_out == 0 {
                    throw Failure(reason: "decompresses to more than the recorded \(expectedTotal) bytes")
                }
                switch rc {
                case Z_STREAM_END: return
                case Z_OK where stream.pointee.avail_in > 0: continue
                case Z_OK where stream.pointee.avail_in == 0, Z_BUF_ERROR where stream.pointee.avail_in == 0:
                    if try !refill() {
                        throw Failure(
                            reason:
                                "compressed data is truncated (\(Int(stream.pointee.total_out)) of \(expectedTotal) bytes, no end of stream)"
                        )
                    }
                case Z_DATA_ERROR, Z_NEED_DICT, Z_BUF_ERROR:
                    throw Failure(reason: "compressed data is corrupt (zlib error \(rc))")
                default:
                    throw Failure(reason: "zlib inflate failed with code \(rc)")
                }
            }
        }
    }

    /// Whether float16 widens in hardware (F16C); otherwise the portable `Half.float` runs.
    static let halfHardware = zoo_half_hardware() != 0

    /// One block: interleaves `count` elements' plane bytes into `raw` (count × planes bytes),
    /// hashes them and writes the values to `out`. `raw` is written before `out`.
    @inline(__always)
    static func convertBlock(
        planes: [UnsafePointer<UInt8>], count: Int, dtype: DType, raw: UnsafeMutablePointer<UInt8>,
        hasher: inout SHA256, into out: UnsafeMutablePointer<Float>, portable: Bool
    ) {
        let width = dtype.size
        if portable {
            for p in 0..<width {
                let bytes = planes[p]
                for i in 0..<count { raw[i * width + p] = bytes[i] }
            }
        } else if width == 4 {
            zoo_interleave4(planes[0], planes[1], planes[2], planes[3], count, raw)
        } else {
            zoo_interleave2(planes[0], planes[1], count, raw)
        }
        hasher.update(UnsafeRawBufferPointer(start: raw, count: count * width))
        switch dtype {
        case .float32:
            #if _endian(little)
            if !portable {
                UnsafeMutableRawPointer(out).copyMemory(from: raw, byteCount: count * 4)
                return
            }
            #endif
            for i in 0..<count {
                let b =
                    UInt32(raw[4 * i]) | UInt32(raw[4 * i + 1]) << 8 | UInt32(raw[4 * i + 2]) << 16 | UInt32(
                        raw[4 * i + 3]) << 24
                (out + i).initialize(to: Float(bitPattern: b))
            }
        case .float16:
            if !portable && halfHardware {
                zoo_half_to_float_f16c(raw, count, out)
                return
            }
            for i in 0..<count {
                (out + i).initialize(to: Half.float(UInt16(raw[2 * i]) | UInt16(raw[2 * i + 1]) << 8))
            }
        }
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
                let b =
                    UInt32(raw[4 * i]) | UInt32(raw[4 * i + 1]) << 8 | UInt32(raw[4 * i + 2]) << 16 | UInt32(
                        raw[4 * i + 3]) << 24
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
        let rc = trial.withUnsafeMutableBufferPointer {
            compress2($0.baseAddress, &capacity, plane.baseAddress, uLong(plane.count), 1)
        }
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
                    let plane = UnsafeBufferPointer(rebasing: src[p * n..<(p + 1) * n])
                    let wanted: Int32 = try worthStoring(plane) ? 0 : level
                    if wanted != current {
                        rc = deflateParams(&stream, wanted, Z_DEFAULT_STRATEGY)
                        guard rc == Z_OK else {
                            throw RegistryError.invalidArgument("zlib deflateParams failed with code \(rc)")
                        }
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
}
