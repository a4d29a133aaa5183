import Dispatch

/// Runs synchronous work (SQLite reads, the engine) on a Dispatch thread, so that the server's
/// event loops never wait on it.
enum Blocking {
    static func run<T>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
        }
    }
}

/// At most `permits` holders at once; the rest wait in order. Generation takes one, so no
/// more requests draw at once than there are cores: the engine's pool already spreads one
/// draw over them, and a second would only interleave with the first.
actor Gate {
    private var permits: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(permits: Int) { self.permits = max(1, permits) }

    func acquire() async {
        if permits > 0 {
            permits -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty {
            permits += 1
        } else {
            waiting.removeFirst().resume()
        }
    }

    /// Runs `work` holding a permit, releasing it however `work` ends.
    nonisolated func withPermit<T: Sendable>(_ work: @Sendable () async throws -> T) async throws -> T {
        await acquire()
        do {
            let value = try await work()
            await release()
            return value
        } catch {
            await release()
            throw error
        }
    }
}
