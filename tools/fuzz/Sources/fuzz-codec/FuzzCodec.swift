// libFuzzer target: the weight codec (byte-shuffle + zlib + SHA-256) that every stored tensor
// goes through. Two modes, picked by the first byte:
//  - a crafted row: arbitrary dtype, element count, raw size, checksum and blob. It must decode
//    to exactly `elementCount` values or throw the codec's typed failure;
//  - a damaged blob: the rest of the input, as floats, is encoded, one byte of the blob is
//    changed, and the blob decoded. Whatever the damage, a decode that succeeds must give back
//    the very values encoded (the checksum covers the decoded bytes), in the C and the
//    portable Swift paths alike.
import Foundation

@testable import ZooRegistry

func fuzzCodec(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard count >= 8 else { return 0 }
    let input = Array(UnsafeBufferPointer(start: bytes, count: count))
    let dtype: WeightCodec.DType = input[1] & 1 == 0 ? .float32 : .float16
    let portable = input[1] & 2 != 0
    if input[0] & 1 == 0 {
        craftedRow(input, dtype: dtype, portable: portable)
    } else {
        damagedBlob(input, dtype: dtype, portable: portable)
    }
    return 0
}

private func craftedRow(_ input: [UInt8], dtype: WeightCodec.DType, portable: Bool) {
    let elements = Int(input[2]) | Int(input[3]) << 8
    // Half the time the raw size agrees with the shape (past the first check), else it is free.
    let rawBytes =
        input[0] & 2 == 0 ? elements * dtype.size : Int(Int32(bitPattern: UInt32(input[4]) | UInt32(input[5]) << 8))
    let sha = input[0] & 4 == 0 ? String(repeating: "0", count: 64) : input[8...].withUnsafeBytes { SHA256.hex($0) }
    let codec = input[0] & 8 == 0 ? WeightCodec.codec : "zlib"
    do {
        let values = try WeightCodec.decode(
            blob: Data(input[8...]), dtype: dtype.rawValue, codec: codec, rawBytes: rawBytes, sha256: sha,
            elementCount: elements, portable: portable)
        precondition(values.count == elements, "decoded \(values.count) values for \(elements) elements")
    } catch is WeightCodec.Failure {
    } catch { fatalError("untyped codec error: \(error)") }
}

private func damagedBlob(_ input: [UInt8], dtype: WeightCodec.DType, portable: Bool) {
    let payload = input[8...]
    let values = stride(from: payload.startIndex, to: payload.endIndex - 3, by: 4).map { i in
        Float(
            bitPattern: UInt32(input[i]) | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2]) << 16
                | UInt32(input[i + 3]) << 24)
    }
    let encoded: WeightCodec.Encoded
    do { encoded = try WeightCodec.encode(values, dtype: dtype, level: 1) } catch {
        fatalError("encoding \(values.count) values failed: \(error)")
    }
    func decode(_ blob: Data) throws -> [Float] {
        try WeightCodec.decode(
            blob: blob, dtype: dtype.rawValue, codec: WeightCodec.codec, rawBytes: encoded.rawBytes,
            sha256: encoded.sha256, elementCount: values.count, portable: portable)
    }
    let clean: [Float]
    do { clean = try decode(encoded.blob) } catch { fatalError("an intact blob failed to decode: \(error)") }
    // float16 rounds, so the reference is the clean decode; float32 must give back the bits.
    if dtype == .float32 {
        precondition(clean.map(\.bitPattern) == values.map(\.bitPattern), "float32 round trip changed values")
    }
    var damaged = encoded.blob
    guard !damaged.isEmpty else { return }
    let at = (Int(input[2]) | Int(input[3]) << 8) % damaged.count
    damaged[damaged.startIndex + at] ^= input[4] == 0 ? 0x01 : input[4]
    do {
        let decoded = try decode(damaged)
        precondition(
            decoded.map(\.bitPattern) == clean.map(\.bitPattern), "a damaged blob decoded to different values")
    } catch is WeightCodec.Failure {
    } catch { fatalError("untyped codec error: \(error)") }
}
