import CBLASCore
import Foundation
import XCTest

@testable import ZooEngine

/// OpenBLAS's kernel family after start-up, and GEMMs through it against a naive loop.
final class BLASKernelsTests: XCTestCase {
    func testBetterFamilyDecisions() {
        // A generic or AVX2 core on an AVX-512 CPU is replaced; AVX-512 cores are kept.
        XCTAssertEqual(BLASKernels.better(than: "Prescott", avx512: true, avx2FMA: true), "SkylakeX")
        XCTAssertEqual(BLASKernels.better(than: "Haswell", avx512: true, avx2FMA: true), "SkylakeX")
        XCTAssertNil(BLASKernels.better(than: "SkylakeX", avx512: true, avx2FMA: true))
        XCTAssertNil(BLASKernels.better(than: "Cooperlake", avx512: true, avx2FMA: true))
        // Without AVX-512, only pre-AVX2 cores are replaced, by Haswell.
        XCTAssertEqual(BLASKernels.better(than: "Prescott", avx512: false, avx2FMA: true), "Haswell")
        XCTAssertEqual(BLASKernels.better(than: "Sandybridge", avx512: false, avx2FMA: true), "Haswell")
        XCTAssertNil(BLASKernels.better(than: "Zen", avx512: false, avx2FMA: true))
        XCTAssertNil(BLASKernels.better(than: "Prescott", avx512: false, avx2FMA: false))
    }

    func testConfigureLeavesTheFastestFamilyThisCPURuns() throws {
        if ProcessInfo.processInfo.environment["ZOO_KEEP_BLAS_CORE"] != nil {
            throw XCTSkip("ZOO_KEEP_BLAS_CORE is set: OpenBLAS keeps its own choice")
        }
        Threads.configure(2)
        let core = BLASKernels.current.lowercased()
        if zoo_cpu_has_avx512() != 0 {
            XCTAssertTrue(BLASKernels.avx512Cores.contains(core), "AVX-512 CPU runs \(core)")
        } else if zoo_cpu_has_avx2_fma() != 0 {
            XCTAssertTrue(BLASKernels.avx2Cores.contains(core), "AVX2 CPU runs \(core)")
        }
        // Large enough for the family's main kernels, not only their edge cases.
        let (m, n, k) = (197, 263, 151)
        let a = randomTensor([m * k], seed: 4), b = randomTensor([k * n], seed: 5)
        let c = Tensor(shape: [m * n])
        gemm(
            transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a.data, lda: k, b.data, ldb: n,
            beta: 0, c.data, ldc: n)
        var expected = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for p in 0..<k {
                let av = a[i * k + p]
                for j in 0..<n { expected[i * n + j] += av * b[p * n + j] }
            }
        }
        assertClose(c.array, expected, tolerance: 1e-4, "sgemm \(m)×\(n)×\(k) on \(core)")
    }
}
