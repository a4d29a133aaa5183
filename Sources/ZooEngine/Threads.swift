import CBLAS
import Foundation
import ZooThreadPool

/// Threading for the engine: GEMMs cut into blocks and large elementwise loops split over
/// the engine's worker pool (CThreadPool), single-threaded OpenBLAS inside each block.
/// `ZOO_THREADS` (default 2, this project's target machine) sets the thread count.
public enum Threads {
    public nonisolated(unsafe) private(set) static var count: Int = 2

    /// Call once at start-up (the CLI and the benchmark do; tests may skip it).
    /// Whether `gemm` splits work over the engine's threads (OpenBLAS then runs one thread
    /// per call) instead of handing all of them to OpenBLAS. `ZOO_GEMM_THREADS=openblas`
    /// chooses OpenBLAS's threading.
    /// Off until `configure` has set OpenBLAS to one thread per call.
    public nonisolated(unsafe) private(set) static var ownGEMMThreads = false

    /// GEMMs below this many multiply-adds run on one thread: splitting costs more.
    public nonisolated(unsafe) static var gemmSplitThreshold = 1 << 18

    public static func configure(_ requested: Int? = nil) {
        let environment = ProcessInfo.processInfo.environment
        BLASKernels.selectFastest(environment: environment)
        let env = environment["ZOO_THREADS"].flatMap(Int.init)
        count = max(1, requested ?? env ?? 2)
        WorkerPool.setThreads(count)
        ownGEMMThreads = environment["ZOO_GEMM_THREADS"] != "openblas"
        openblas_set_num_threads(Int32(ownGEMMThreads ? 1 : count))
        if ownGEMMThreads {
            // OpenBLAS started its workers when it loaded, and an idle worker spins on
            // sched_yield for ~0.1 s before it sleeps: the whole of a cold `zoo generate`, on
            // the core our second thread needs. With one thread per call OpenBLAS never
            // wakes them, so they are stopped. (Setting OPENBLAS_NUM_THREADS from the
            // executable's .preinit_array does not work: libc's initializer, which runs
            // after it, resets `environ` to the process's original environment.)
            // The shutdown follows set_num_threads, which would start the pool again.
            blas_thread_shutdown_()
        }
    }

    /// Below this many elements the split costs more than it saves.
    public static let parallelThreshold = 1 << 16

    /// Runs body(range) over 0..<n, split across `count` threads when n is large.
    @inline(__always)
    public static func parallelFor(_ n: Int, minimum: Int = parallelThreshold, _ body: (Range<Int>) -> Void) {
        let parts = count
        if parts <= 1 || n < minimum {
            body(0..<n)
            return
        }
        let chunk = (n + parts - 1) / parts
        run(parts) { i in
            let lo = i * chunk, hi = min(n, lo + chunk)
            if lo < hi { body(lo..<hi) }
        }
    }

    /// Runs body(part) for every part in 0..<parts on the engine's threads (WorkerPool).
    /// Each part runs on one thread; nested calls run serially.
    /// True inside a part of `run`, where nested runs and GEMMs are serial.
    public static var insidePart: Bool { WorkerPool.insidePart }

    @inline(__always)
    public static func run(_ parts: Int, _ body: (Int) -> Void) { WorkerPool.run(parts, body) }
}
