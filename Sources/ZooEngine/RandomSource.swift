import Foundation

/// The one source of randomness: xoshiro256** with a Box–Muller normal sampler.
/// A reference type so every consumer (noise, dropout, shuffling, initializers) shares one
/// stream; its complete state (`state`) is saved with each checkpoint, so a resumed run draws
/// exactly the numbers the uninterrupted run would have drawn.
public final class RandomSource: RandomNumberGenerator {
    private var s: (UInt64, UInt64, UInt64, UInt64)
    /// Box–Muller yields pairs; the unused second value is part of the state.
    private var spareNormal: Float?
    /// Inside `withoutInitializers`: every weight is about to be overwritten from a checkpoint,
    /// so the initializers (`glorotUniform`, the one they all go through) leave tensors zero
    /// (and their pages untouched) instead of drawing numbers.
    public private(set) var skipsInitializers = false

    /// Runs `body` (building networks to be loaded) with the initializers drawing nothing.
    public func withoutInitializers<T>(_ body: () throws -> T) rethrows -> T {
        let outer = skipsInitializers
        skipsInitializers = true
        defer { skipsInitializers = outer }
        return try body()
    }

    public init(seed: UInt64) {
        // splitmix64 expands the seed so nearby seeds give unrelated streams.
        var x = seed
        func next() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (next(), next(), next(), next())
        spareNormal = nil
    }

    public func next() -> UInt64 {
        let result = rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = rotl(s.3, 45)
        return result
    }

    /// words[0..<count] = the next `count` values of `next()`, with the state in registers
    /// (a call per word through the class costs several times the arithmetic).
    public func fill(words: UnsafeMutablePointer<UInt64>, count: Int) {
        var (s0, s1, s2, s3) = s
        for i in 0..<count {
            words[i] = rotl(s1 &* 5, 7) &* 9
            let t = s1 << 17
            s2 ^= s0
            s3 ^= s1
            s1 ^= s2
            s0 ^= s3
            s2 ^= t
            s3 = rotl(s3, 45)
        }
        s = (s0, s1, s2, s3)
    }

    @inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in [0, 1) with 24 random bits.
    @inline(__always) public func uniform() -> Float { Float(next() >> 40) * 0x1p-24 }

    public func uniform(_ low: Float, _ high: Float) -> Float { low + (high - low) * uniform() }

    /// Standard normal N(0, 1).
    public func normal() -> Float {
        if let spare = spareNormal { spareNormal = nil; return spare }
        var u1: Float
        repeat { u1 = uniform() } while u1 <= Float.leastNormalMagnitude
        let u2 = uniform()
        let r = (-2 * log(u1)).squareRoot()
        let theta = 2 * Float.pi * u2
        spareNormal = r * sin(theta)
        return r * cos(theta)
    }

    public func fillNormal(_ t: Tensor, mean: Float = 0, std: Float = 1) {
        for i in 0..<t.count { t.data[i] = mean + std * normal() }
    }

    public func fillUniform(_ t: Tensor, _ low: Float, _ high: Float) {
        for i in 0..<t.count { t.data[i] = uniform(low, high) }
    }

    /// Uniform integer in 0..<bound (bound > 0), unbiased.
    public func int(below bound: Int) -> Int {
        // Lemire's multiply-shift with rejection: unbiased, no division in the common case.
        let range = UInt64(bound)
        var m = next().multipliedFullWidth(by: range)
        if m.low < range {
            let threshold = (0 &- range) % range
            while m.low < threshold { m = next().multipliedFullWidth(by: range) }
        }
        return Int(m.high)
    }

    /// Fisher–Yates permutation of 0..<n.
    public func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        if n > 1 { for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, int(below: i + 1)) } }
        return p
    }

    /// The complete generator state: 4 words of xoshiro, a flag and the spare normal's bits.
    public var state: [UInt64] {
        get { [s.0, s.1, s.2, s.3, spareNormal == nil ? 0 : 1, UInt64(spareNormal?.bitPattern ?? 0)] }
        set {
            precondition(newValue.count == 6, "RNG state must have 6 words")
            s = (newValue[0], newValue[1], newValue[2], newValue[3])
            spareNormal = newValue[4] == 0 ? nil : Float(bitPattern: UInt32(truncatingIfNeeded: newValue[5]))
        }
    }
}
