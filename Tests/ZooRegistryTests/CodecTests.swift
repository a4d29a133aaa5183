import Foundation
import XCTest

@testable import ZooRegistry

final class CodecTests: XCTestCase {
    /// Shuffled planes as the codec stores them, decoded by the real (chunked, in-place) path;
    /// the decode checks the sha256 it is given, so a wrong hash of the raw bytes throws.
    private func decodeShuffled(
        _ shuffled: [UInt8], _ dtype: WeightCodec.DType, sha256: String,
        portable: Bool = false
    ) throws -> [Float] {
        let blob = try WeightCodec.deflate(planes: shuffled, count: dtype.size, level: 6)
        return try WeightCodec.decode(
            blob: blob, dtype: dtype.rawValue, codec: WeightCodec.codec, rawBytes: shuffled.count,
            sha256: sha256, elementCount: shuffled.count / dtype.size, portable: portable)
    }

    /// The one-pass decode (unshuffle, hash and convert a block at a time) against the plain
    /// three steps, across the block size and for both dtypes.
    func testStreamingDecodeEqualsThreeSteps() throws {
        var random = TestRandom(state: 11)
        for dtype in [WeightCodec.DType.float32, .float16] {
            for count in [0, 1, 7, 8191, 8192, 8193, 20_000] {
                let values = random.normals(count, scale: 0.3)
                let raw = WeightCodec.littleEndianBytes(values, dtype: dtype)
                let shuffled = WeightCodec.shuffle(raw, planes: dtype.size)
                let decoded = try decodeShuffled(shuffled, dtype, sha256: SHA256.hex(raw))
                let plain = WeightCodec.unshuffle(shuffled, planes: dtype.size)
                XCTAssertEqual(plain, raw)
                XCTAssertEqual(
                    decoded.map(\.bitPattern),
                    WeightCodec.values(fromLittleEndian: raw, dtype: dtype).map(\.bitPattern),
                    "\(dtype) \(count)")
            }
        }
    }

    /// The C block loops (SSE2 interleave, F16C widening) against the portable Swift ones: all
    /// 65,536 binary16 patterns (NaNs only as NaN: the hardware quiets signalling ones), and
    /// random float32 bytes at lengths around the 16-value vector step and the block size.
    /// Both paths must hash the raw bytes to the same sha256 (the decode checks it).
    func testCKernelsEqualPortableLoops() throws {
        var everyHalf = [UInt8]()
        for h in 0...0xffff { everyHalf += [UInt8(h & 0xff), UInt8(h >> 8)] }
        let shuffledHalves = WeightCodec.shuffle(everyHalf, planes: 2)
        let fast = try decodeShuffled(shuffledHalves, .float16, sha256: SHA256.hex(everyHalf), portable: false)
        let reference = try decodeShuffled(shuffledHalves, .float16, sha256: SHA256.hex(everyHalf), portable: true)
        for h in 0...0xffff {
            if reference[h].isNaN {
                XCTAssertTrue(fast[h].isNaN, "half \(h)")
            } else {
                XCTAssertEqual(fast[h].bitPattern, reference[h].bitPattern, "half \(h)")
            }
        }
        var random = TestRandom(state: 5)
        for count in [1, 15, 16, 17, 8191, 8192, 8209, 30_001] {
            let raw = (0..<count * 4).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            let shuffled = WeightCodec.shuffle(raw, planes: 4)
            let a = try decodeShuffled(shuffled, .float32, sha256: SHA256.hex(raw), portable: false)
            let b = try decodeShuffled(shuffled, .float32, sha256: SHA256.hex(raw), portable: true)
            XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), "float32 \(count)")
            let halves = Array(raw.prefix(count * 2))
            let c = try decodeShuffled(
                WeightCodec.shuffle(halves, planes: 2), .float16, sha256: SHA256.hex(halves), portable: false)
            let d = try decodeShuffled(
                WeightCodec.shuffle(halves, planes: 2), .float16, sha256: SHA256.hex(halves), portable: true)
            XCTAssertEqual(
                zip(c, d).filter { !($0.isNaN && $1.isNaN) && $0.bitPattern != $1.bitPattern }.count, 0,
                "float16 \(count)")
        }
    }

    func testFloat32RoundTripIsBitExact() throws {
        let registry = try Registry.inMemory()
        try Fixture.registry(registry)
        var random = TestRandom(state: 7)
        var values = random.normals(10_000, scale: 0.02)
        values += [0, -0.0, .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
        let record = CheckpointRecord(
            epoch: 1, step: 100, isFinal: true, trainingPosition: Data((0..<300).map { UInt8($0 & 0xff) }),
            rngState: Data([1, 2]),
            tensors: [
                TensorRecord(network: "generator", path: "w", shape: [values.count], values: values),
                TensorRecord(network: "generator", path: "scalar", shape: [], values: [3.5]),
                TensorRecord(network: "generator", path: "empty", shape: [0, 4], values: []),
            ],
            log: [
                TrainingLogRow(
                    epoch: 1, step: 100, metrics: [StepMetric("d_loss", 1), StepMetric("g_loss", 2)], seconds: 3)
            ])
        try registry.saveCheckpoint(model: "dcgan-mnist", record)
        let loaded = try registry.loadCheckpoint(model: "dcgan-mnist", checkpoint: .latest)
        XCTAssertEqual(loaded.tensors.map(\.path), ["w", "scalar", "empty"])
        XCTAssertEqual(loaded.tensors[0].values.map(\.bitPattern), values.map(\.bitPattern))
        XCTAssertEqual(loaded, record)
    }

    func testFloat16RoundTripWithinHalfPrecision() throws {
        let registry = try Registry.inMemory()
        try Fixture.registry(registry)
        var random = TestRandom(state: 8)
        let values = random.normals(5_000, scale: 0.5)
        try registry.saveCheckpoint(
            model: "dcgan-mnist",
            CheckpointRecord(
                epoch: 0, step: 1,
                tensors: [
                    TensorRecord(network: "generator", path: "w", shape: [50, 100], values: values)
                ]), float16: true)
        XCTAssertEqual(
            try registry.db.first("SELECT dtype, raw_bytes FROM tensors") { "\($0.text(0)) \($0.int(1))" },
            "float16 10000")
        let loaded = try registry.loadCheckpoint(model: "dcgan-mnist").tensors[0]
        XCTAssertEqual(loaded.shape, [50, 100])
        for (a, b) in zip(values, loaded.values) {
            XCTAssertEqual(a, b, accuracy: max(abs(a) / 2048, 3e-8))  // half: 11 significant bits
        }
    }

    func testCompressionRatios() throws {
        var random = TestRandom(state: 9)
        let n = 1 << 18
        let weights = random.normals(n, scale: 0.02)  // like trained dense-layer weights
        let smooth = (0..<n).map { i in Float(sin(Double(i) / 500) * 0.5) }
        for (label, values) in [("random-normal ×0.02", weights), ("smooth sine", smooth)] {
            for dtype in [WeightCodec.DType.float32, .float16] {
                let coded = try WeightCodec.encode(values, dtype: dtype)
                let plainZlib = try WeightCodec.deflate(WeightCodec.littleEndianBytes(values, dtype: dtype), level: 6)
                let ratio = Double(n * 4) / Double(coded.blob.count)
                print(
                    String(
                        format: "compression %@ %@: %.3f× vs float32 raw (shuffled %d bytes, unshuffled zlib %d bytes)",
                        label, dtype.rawValue, ratio, coded.blob.count, plainZlib.count))
                XCTAssertLessThan(coded.blob.count, plainZlib.count + 64, "shuffling should not hurt")
                let decoded = try WeightCodec.decode(
                    blob: coded.blob, dtype: dtype.rawValue, codec: WeightCodec.codec,
                    rawBytes: coded.rawBytes, sha256: coded.sha256, elementCount: n)
                let expected = WeightCodec.values(
                    fromLittleEndian: WeightCodec.littleEndianBytes(values, dtype: dtype), dtype: dtype)
                XCTAssertEqual(decoded.map(\.bitPattern), expected.map(\.bitPattern), "\(label) \(dtype) round trip")
            }
        }
    }

    /// Blobs are read through SQLite's incremental blob I/O: a stored blob comes back byte for
    /// byte, and a missing row is a typed error naming what was read, not a crash.
    func testIncrementalBlobRead() throws {
        let registry = try Registry.inMemory()
        try Fixture.registry(registry)
        try registry.saveCheckpoint(model: "dcgan-mnist", Fixture.checkpoint(epoch: 1, step: 10))
        let (id, viaSelect) = try XCTUnwrap(
            registry.db.first("SELECT id, blob FROM tensors WHERE path = 'dense.weight'") { ($0.int64(0), $0.blob(1)) })
        // Read in uneven pieces at increasing offsets, as the decoder does.
        let blob = try registry.db.openBlob(table: "tensors", column: "blob", rowid: id)
        XCTAssertEqual(blob.size, viaSelect.count)
        var pieces = Data(count: blob.size)
        try pieces.withUnsafeMutableBytes { all in
            var offset = 0
            while offset < blob.size {
                let count = min(7, blob.size - offset)
                try blob.read(into: UnsafeMutableRawBufferPointer(rebasing: all[offset..<offset + count]), at: offset)
                offset += count
            }
        }
        XCTAssertEqual(pieces, viaSelect)
        blob.close()
        var one = [UInt8](repeating: 0, count: 1)
        XCTAssertThrowsError(try one.withUnsafeMutableBytes { try blob.read(into: $0, at: 0) }, "a read after close")
        XCTAssertThrowsError(try registry.db.openBlob(table: "tensors", column: "blob", rowid: id + 10_000)) { error in
            guard let error = error as? RegistryError else { return XCTFail("untyped error \(error)") }
            XCTAssertTrue("\(error)".contains("rowid \(id + 10_000)"), "\(error)")
        }
    }

    /// A row edited to claim an absurd shape (10^13 elements) or a zlib bomb's raw size is
    /// refused from its metadata, before anything that size is allocated or inflated.
    func testAbsurdSizesAreRefusedBeforeAllocating() throws {
        let registry = try Registry.inMemory()
        try Fixture.registry(registry)
        try registry.saveCheckpoint(model: "dcgan-mnist", Fixture.checkpoint(epoch: 1, step: 10))
        try registry.db.run("UPDATE tensors SET shape = '[100000000,100000]' WHERE path = 'dense.weight'")
        XCTAssertThrowsRegistryError(try registry.loadCheckpoint(model: "dcgan-mnist")) {
            "\($0)".contains("generator/dense.weight") && "\($0)".contains("more than any tensor")
        }
        try registry.db.run(
            "UPDATE tensors SET shape = '[64,16]', raw_bytes = 4096 * 1100000 WHERE path = 'dense.weight'")
        XCTAssertThrowsRegistryError(try registry.loadCheckpoint(model: "dcgan-mnist")) {
            "\($0)".contains("does not match shape")
        }
        try registry.db.run(
            "UPDATE tensors SET shape = '[4096,4096]', raw_bytes = 4096 * 4096 * 4 WHERE path = 'dense.weight'")
        XCTAssertThrowsRegistryError(try registry.loadCheckpoint(model: "dcgan-mnist")) {
            "\($0)".contains("-byte blob")
        }
    }

    func testCorruptBlobNamesTheTensor() throws {
        let registry = try Registry.inMemory()
        try Fixture.registry(registry)
        try registry.saveCheckpoint(model: "dcgan-mnist", Fixture.checkpoint(epoch: 3, step: 300))
        // Flip one byte in the middle of the compressed stream.
        let original = try XCTUnwrap(
            registry.db.first("SELECT blob FROM tensors WHERE path = 'dense.weight'") { $0.blob(0) })
        var damaged = original
        damaged[damaged.startIndex + damaged.count / 2] ^= 0x5a
        try registry.db.run("UPDATE tensors SET blob = ? WHERE path = 'dense.weight'", [.blob(damaged)])
        XCTAssertThrowsRegistryError(try registry.loadCheckpoint(model: "dcgan-mnist")) {
            guard case let .corruptTensor(model, epoch, step, network, path, _) = $0 else { return false }
            return model == "dcgan-mnist" && epoch == 3 && step == 300 && network == "generator"
                && path == "dense.weight"
                && $0.description.contains("generator/dense.weight")
        }
        let report = try registry.verify(model: nil)
        XCTAssertEqual(report.problems.count, 1)
        XCTAssertTrue(report.problems[0].contains("dense.weight"), report.problems[0])
        // A checksum mismatch with intact zlib data is caught too.
        try registry.db.run(
            "UPDATE tensors SET blob = ?, sha256 = ? WHERE path = 'dense.weight'",
            [.blob(original), .text(String(repeating: "0", count: 64))])
        XCTAssertThrowsRegistryError(try registry.loadCheckpoint(model: "dcgan-mnist")) {
            $0.description.contains("checksum mismatch") && $0.description.contains("dense.weight")
        }
        // Garbage in place of zlib data, and a lying raw size.
        try registry.db.run(
            "UPDATE tensors SET blob = ? WHERE path = 'dense.bias'", [.blob(Data(repeating: 0xAB, count: 40))])
        try registry.db.run("UPDATE tensors SET raw_bytes = 4 WHERE path = 'out.weight'")
        let problems = try registry.verify(model: "dcgan-mnist").problems
        XCTAssertEqual(problems.count, 3, "\(problems)")
        XCTAssertTrue(problems.contains { $0.contains("dense.bias") && $0.contains("corrupt") })
        XCTAssertTrue(problems.contains { $0.contains("out.weight") && $0.contains("raw size") })
    }

    /// The chunked decoder against the reference values, for blobs spanning several reads
    /// (InflateSource.chunkSize) and sizes around the 8,192-element block; the reader is asked
    /// for the blob in order, each byte once.
    func testChunkedDecodeReadsInOrderAndMatches() throws {
        var random = TestRandom(state: 21)
        for dtype in [WeightCodec.DType.float32, .float16] {
            for count in [0, 1, 8191, 8193, 200_000] {
                let values = random.normals(count, scale: 0.05)
                let coded = try WeightCodec.encode(values, dtype: dtype)
                var next = 0
                let decoded = try [Float](unsafeUninitializedCapacity: max(count, 1)) { out, initialized in
                    try WeightCodec.decode(
                        blobSize: coded.blob.count,
                        read: { buffer, offset in
                            XCTAssertEqual(offset, next, "read out of order")
                            next = offset + buffer.count
                            coded.blob.copyBytes(
                                to: buffer.bindMemory(to: UInt8.self), from: offset..<offset + buffer.count)
                        }, dtype: dtype.rawValue, codec: WeightCodec.codec, rawBytes: coded.rawBytes,
                        sha256: coded.sha256,
                        elementCount: count, into: out.baseAddress!)
                    initialized = count
                }
                XCTAssertEqual(next, coded.blob.count, "\(dtype) \(count): blob not read to its end")
                let expected = WeightCodec.values(
                    fromLittleEndian: WeightCodec.littleEndianBytes(values, dtype: dtype), dtype: dtype)
                XCTAssertEqual(decoded.map(\.bitPattern), expected.map(\.bitPattern), "\(dtype) \(count)")
            }
        }
        XCTAssertGreaterThan(
            try WeightCodec.encode(random.normals(200_000, scale: 0.05), dtype: .float32).blob.count,
            2 * WeightCodec.InflateSource.chunkSize, "the large case must span several reads")
    }

    /// Bad blobs give a typed, readable reason and never a crash: cut short, longer or shorter
    /// than recorded, not zlib at all, damaged, and a reader that fails.
    func testChunkedDecodeRejectsBadBlobs() throws {
        var random = TestRandom(state: 22)
        let values = random.normals(40_000, scale: 0.05)
        let coded = try WeightCodec.encode(values, dtype: .float32)
        func reason(
            _ blob: Data, rawBytes: Int? = nil, elements: Int = 40_000, sha: String? = nil,
            failingRead: Bool = false
        ) -> String {
            let out = UnsafeMutablePointer<Float>.allocate(capacity: max(elements, 1))
            defer { out.deallocate() }
            do {
                try WeightCodec.decode(
                    blobSize: blob.count,
                    read: { buffer, offset in
                        if failingRead { throw RegistryError.invalidArgument("disk went away") }
                        blob.copyBytes(
                            to: buffer.bindMemory(to: UInt8.self),
                            from: blob.startIndex + offset..<blob.startIndex + offset + buffer.count)
                    }, dtype: "float32", codec: WeightCodec.codec, rawBytes: rawBytes ?? elements * 4,
                    sha256: sha ?? coded.sha256, elementCount: elements, into: out)
                return "decoded"
            } catch let failure as WeightCodec.Failure {
                return failure.reason
            } catch {
                return "other: \(error)"
            }
        }
        XCTAssertEqual(reason(coded.blob), "decoded")
        XCTAssertTrue(reason(coded.blob.prefix(coded.blob.count / 2)).contains("truncated"))
        XCTAssertTrue(reason(coded.blob.dropLast(2)).contains("truncated"))  // Adler-32 cut
        // A damaged Adler-32 over intact data: zlib no longer computes it (the SHA-256 of the
        // same bytes is checked instead), so the values decode; damaged data still fails above.
        var trailer = coded.blob
        trailer[trailer.endIndex - 1] ^= 0xff
        XCTAssertEqual(reason(trailer), "decoded")
        XCTAssertTrue(reason(coded.blob, elements: 30_000).contains("more than the recorded"))
        XCTAssertTrue(reason(coded.blob, elements: 50_000).contains("decompressed to 160000 bytes, expected 200000"))
        XCTAssertTrue(reason(Data(repeating: 0xAB, count: 4_000)).contains("corrupt"))  // wrong magic
        var damaged = coded.blob
        damaged[damaged.startIndex + damaged.count / 3] ^= 0x5a
        let damage = reason(damaged)
        XCTAssertTrue(damage.contains("corrupt") || damage.contains("checksum") || damage.contains("truncated"), damage)
        XCTAssertTrue(reason(coded.blob, sha: String(repeating: "0", count: 64)).contains("checksum mismatch"))
        XCTAssertTrue(reason(coded.blob, rawBytes: Int.max / 2).contains("does not match shape"))
        XCTAssertTrue(reason(coded.blob, failingRead: true).contains("disk went away"))
    }
}
