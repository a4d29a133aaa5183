import CBLAS
import Foundation
import XCTest
@testable import ZooEngine

/// The engine's own GEMM split (blocks of C rows or columns on its threads) against a
/// naive triple loop, for every transpose combination, padded leading dimensions and
/// accumulation into C (beta 1).
final class GEMMTests: XCTestCase {
    /// OpenBLAS's idle workers spin on sched_yield; with the engine's split they are stopped.
    /// OpenBLAS's workers keep the process's name, while libdispatch names its own workers,
    /// so the check follows the threads named like the main thread: one of them must end.
    func testConfigureStopsOpenBLASWorkers() throws {
        openblas_set_num_threads(2)   // starts OpenBLAS's pool again: one worker beside the caller
        let before = try Self.threadsNamedLikeMain()
        Threads.configure(2)
        XCTAssertTrue(Threads.ownGEMMThreads)
        XCTAssertEqual(openblas_get_num_threads(), 1)
        let after = try Self.threadsNamedLikeMain()
        XCTAssertFalse(before.subtracting(after).isEmpty, "OpenBLAS's worker is still running (threads \(before) → \(after))")
    }

    /// Thread ids whose name is the main thread's, the main thread excluded.
    private static func threadsNamedLikeMain() throws -> Set<String> {
        func name(_ path: String) throws -> String {
            try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let mainName = try name("/proc/self/comm")
        let me = String(getpid())
        var ids = Set<String>()
        for tid in try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") where tid != me {
            if let threadName = try? name("/proc/self/task/\(tid)/comm"), threadName == mainName { ids.insert(tid) }
        }
        return ids
    }

    func testSplitGEMMMatchesNaive() {
        Threads.configure(2)
        let savedThreshold = Threads.gemmSplitThreshold
        Threads.gemmSplitThreshold = 0   // split even these small products
        defer { Threads.gemmSplitThreshold = savedThreshold }
        XCTAssertTrue(Threads.ownGEMMThreads)
        for (m, n, k) in [(37, 300, 45), (300, 37, 45), (64, 64, 64), (33, 33, 1)] {
            for transA in [false, true] {
                for transB in [false, true] {
                    let pad = 3
                    let (aRows, aCols) = transA ? (k, m) : (m, k)
                    let (bRows, bCols) = transB ? (n, k) : (k, n)
                    let lda = aCols + pad, ldb = bCols + pad, ldc = n + pad
                    let a = randomTensor([aRows * lda], seed: 1), b = randomTensor([bRows * ldb], seed: 2)
                    let c = randomTensor([m * ldc], seed: 3)
                    var expected = c.array
                    for i in 0..<m {
                        for j in 0..<n {
                            var sum: Float = 0
                            for p in 0..<k {
                                let av = transA ? a[p * lda + i] : a[i * lda + p]
                                let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                                sum += av * bv
                            }
                            expected[i * ldc + j] = 0.5 * sum + expected[i * ldc + j]
                        }
                    }
                    gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a.data, lda: lda, b.data, ldb: ldb,
                         beta: 1, c.data, ldc: ldc)
                    assertClose(c.array, expected, tolerance: 1e-4, "gemm \(m)×\(n)×\(k) transA \(transA) transB \(transB)")
                }
            }
        }
    }
}
