import CBLAS
import Foundation
import XCTest

@testable import ZooEngine

/// The engine's own GEMM split (blocks of C rows or columns on its threads) against a
/// naive triple loop, for every transpose combination, padded leading dimensions and
/// accumulation into C (beta 1).
final class GEMMTests: XCTestCase {
    /// OpenBLAS's idle workers spin on sched_yield; with the engine's split they are stopped.
    /// The workers are found as the threads `openblas_set_num_threads` starts after a
    /// shutdown (it restarts the pool), whatever OpenBLAS made of the CPU count. A joined
    /// thread can linger in /proc for a moment after pthread_join returns (the kernel wakes
    /// the joiner before it unlinks the task), so the check waits up to two seconds.
    func testConfigureStopsOpenBLASWorkers() throws {
        blas_thread_shutdown_()
        let idle = try Self.threadsNamedLikeMain()
        openblas_set_num_threads(2)  // restarts OpenBLAS's pool: at least one worker beside the caller
        let workers = try Self.threadsNamedLikeMain().subtracting(idle)
        XCTAssertFalse(workers.isEmpty, "openblas_set_num_threads(2) started no thread")
        Threads.configure(2)
        XCTAssertTrue(Threads.ownGEMMThreads)
        XCTAssertEqual(openblas_get_num_threads(), 1)
        var running = workers
        let deadline = Date().addingTimeInterval(2)
        while !running.isEmpty, Date() < deadline {
            running = workers.intersection(try Self.threadsNamedLikeMain())
            if !running.isEmpty { usleep(1000) }
        }
        XCTAssertTrue(running.isEmpty, "OpenBLAS's workers \(running.sorted()) of \(workers.sorted()) still run")
    }

    /// Thread ids whose name is the main thread's, the main thread and exited threads
    /// (state Z or X in /proc/self/task/ID/stat) excluded.
    private static func threadsNamedLikeMain() throws -> Set<String> {
        func read(_ path: String) -> String? {
            (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let mainName = try String(contentsOfFile: "/proc/self/comm", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let me = String(getpid())
        var ids = Set<String>()
        for tid in try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") where tid != me {
            guard read("/proc/self/task/\(tid)/comm") == mainName,
                let stat = read("/proc/self/task/\(tid)/stat"),
                let close = stat.lastIndex(of: ")")
            else { continue }
            // The state follows the name, which is in parentheses and may hold spaces.
            let state = stat[stat.index(after: close)...].drop { $0 == " " }.first
            if state != "Z" && state != "X" { ids.insert(tid) }
        }
        return ids
    }

    func testSplitGEMMMatchesNaive() {
        Threads.configure(2)
        let savedThreshold = Threads.gemmSplitThreshold
        Threads.gemmSplitThreshold = 0  // split even these small products
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
                    gemm(
                        transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a.data, lda: lda, b.data,
                        ldb: ldb,
                        beta: 1, c.data, ldc: ldc)
                    assertClose(
                        c.array, expected, tolerance: 1e-4, "gemm \(m)×\(n)×\(k) transA \(transA) transB \(transB)")
                }
            }
        }
    }
}
