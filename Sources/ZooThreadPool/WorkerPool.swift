import CThreadPool

/// Swift's door to the process's worker pool (CThreadPool): the engine's GEMM splits and
/// parallel loops and the registry's tensor decoding share it. Its thread count is what the
/// process configured (ZooEngine's `Threads.configure`); unconfigured, parts run serially.
public enum WorkerPool {
    /// Runs body(part) for every part in 0..<parts on the pool's threads (workers that spin
    /// briefly between runs, parts claimed one at a time) and returns when all are done.
    /// Each part runs on one thread; nested calls run serially.
    public static func run(_ parts: Int, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { body in
            var closure = body
            withUnsafeMutablePointer(to: &closure) { pointer in
                zoo_pool_run(
                    parts,
                    { context, part in
                        context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(part)
                    }, pointer)
            }
        }
    }

    /// True on a thread that runs a part of `run`: a nested `run` there is serial.
    public static var insidePart: Bool { zoo_pool_inside_part() != 0 }

    /// Sets the number of threads taking parts, the caller included.
    public static func setThreads(_ threads: Int) { zoo_pool_set_threads(Int32(threads)) }
}
