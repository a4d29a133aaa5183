import CSHA256

/// SHA-256 (FIPS 180-4). Our own so the registry's checksums need nothing
/// beyond libc, and behave the same on every platform. On CPUs with the SHA
/// extensions the block function runs in C with them (every weight load hashes
/// every raw byte, and the portable loop was a tenth of a cold `zoo generate`);
/// the Swift block function below is the reference and the fallback.
public struct SHA256 {
    /// Whether this process hashes with the CPU's SHA instructions.
    public static let usesHardware = zoo_sha256_hardware() != 0

    private static let k: [UInt32] = (0..<64).map { zoo_sha256_round_constant(Int32($0)) }

    private var h: [UInt32] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ]
    private var buffer: [UInt8] = []
    private var length: UInt64 = 0

    /// Forces the portable Swift block function (tests compare the two).
    private let portable: Bool

    init(portable: Bool = false) {
        self.portable = portable || !SHA256.usesHardware
        buffer.reserveCapacity(64)
    }

    mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    mutating func update(_ raw: UnsafeRawBufferPointer) {
        length &+= UInt64(raw.count)
        var offset = 0
        if !buffer.isEmpty {
            let take = min(64 - buffer.count, raw.count)
            buffer.append(contentsOf: raw[0..<take])
            offset = take
            if buffer.count == 64 {
                let block = buffer
                block.withUnsafeBytes { if let base = $0.baseAddress { compress(base, blocks: 1) } }
                buffer.removeAll(keepingCapacity: true)
            }
        }
        let blocks = (raw.count - offset) / 64
        if blocks > 0, let base = raw.baseAddress {
            compress(base + offset, blocks: blocks)
            offset += 64 * blocks
        }
        if offset < raw.count { buffer.append(contentsOf: raw[offset...]) }
    }

    mutating func finalize() -> [UInt8] {
        let bitLength = length &* 8
        var pad: [UInt8] = [0x80]
        let used = (buffer.count + 1) % 64
        pad.append(contentsOf: repeatElement(0, count: used <= 56 ? 56 - used : 120 - used))
        for shift in stride(from: 56, through: 0, by: -8) {
            pad.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift)))
        }
        update(pad)
        return h.flatMap { word in [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: word >> UInt32($0)) } }
    }

    public static func hex(_ raw: UnsafeRawBufferPointer, portable: Bool = false) -> String {
        var hasher = SHA256(portable: portable)
        hasher.update(raw)
        return hexDigest(hasher.finalize())
    }

    static func hexDigest(_ digest: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in digest { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    public static func hex(_ bytes: [UInt8]) -> String { bytes.withUnsafeBytes { hex($0) } }

    private mutating func compress(_ p: UnsafeRawPointer, blocks: Int) {
        if portable {
            for i in 0..<blocks { compress(p + 64 * i) }
        } else {
            h.withUnsafeMutableBufferPointer { state in
                zoo_sha256_blocks(state.baseAddress, p.assumingMemoryBound(to: UInt8.self), blocks)
            }
        }
    }

    /// One 64-byte block at `p`, portably.
    private mutating func compress(_ p: UnsafeRawPointer) {
        var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7]
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
            for t in 0..<16 {
                let q = p + 4 * t
                w[t] =
                    UInt32(q.load(as: UInt8.self)) << 24 | UInt32((q + 1).load(as: UInt8.self)) << 16
                    | UInt32((q + 2).load(as: UInt8.self)) << 8 | UInt32((q + 3).load(as: UInt8.self))
            }
            for t in 16..<64 {
                let s0 = SHA256.rotr(w[t - 15], 7) ^ SHA256.rotr(w[t - 15], 18) ^ (w[t - 15] >> 3)
                let s1 = SHA256.rotr(w[t - 2], 17) ^ SHA256.rotr(w[t - 2], 19) ^ (w[t - 2] >> 10)
                w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
            }
            SHA256.k.withUnsafeBufferPointer { k in
                for t in 0..<64 {
                    let s1 = SHA256.rotr(e, 6) ^ SHA256.rotr(e, 11) ^ SHA256.rotr(e, 25)
                    let ch = (e & f) ^ (~e & g)
                    let t1 = hh &+ s1 &+ ch &+ k[t] &+ w[t]
                    let s0 = SHA256.rotr(a, 2) ^ SHA256.rotr(a, 13) ^ SHA256.rotr(a, 22)
                    let maj = (a & b) ^ (a & c) ^ (b & c)
                    let t2 = s0 &+ maj
                    hh = g; g = f; f = e; e = d &+ t1; d = c; c = b; b = a; a = t1 &+ t2
                }
            }
        }
        h[0] &+= a; h[1] &+= b; h[2] &+= c; h[3] &+= d; h[4] &+= e; h[5] &+= f; h[6] &+= g; h[7] &+= hh
    }

    @inline(__always) private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
}
