import CThreadPool

/// The engine's worker pool (CThreadPool) for registry work: decoding a checkpoint's tensors.
/// Its thread count is whatever the process configured (ZooEngine's `Threads.configure`); a
/// process that never did runs the parts serially.
enum Parallel {
    /// Runs body(part) for every part in 0..<parts and returns when all are done.
    static func run(_ parts: Int, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { body in
            var closure = body
            withUnsafeMutablePointer(to: &closure) { pointer in
                zoo_pool_run(parts, { context, part in
                    context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(part)
                }, pointer)
            }
        }
    }
}
