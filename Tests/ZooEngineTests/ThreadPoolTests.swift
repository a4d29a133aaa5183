import Foundation
import XCTest

@testable import ZooEngine

/// The engine's worker pool (CThreadPool via Threads.run): every part runs exactly once per
/// run, over many back-to-back runs (the spinning hand-off), with nested runs and runs from
/// several threads at once, which fall back to running serially.
final class ThreadPoolTests: XCTestCase {
    func testEveryPartRunsOnceOverManyRuns() {
        Threads.configure(2)
        let parts = 7
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: parts)
        defer { counts.deallocate() }
        counts.initialize(repeating: 0, count: parts)
        // Which thread ran each part of the last runs: the worker must have taken some.
        let runners = UnsafeMutablePointer<pthread_t>.allocate(capacity: parts)
        defer { runners.deallocate() }
        let caller = pthread_self()
        var workerTookParts = false
        // 5,000 runs of empty parts last a few ms: with the other core busy (CI once ran this beside
        // another process) a sleeping worker may not wake within them, so runs go on until one
        // of its parts is seen or 2 s have passed.
        var runs = 0
        let deadline = DispatchTime.now().uptimeNanoseconds + 2_000_000_000
        while runs < 5_000 || (!workerTookParts && DispatchTime.now().uptimeNanoseconds < deadline) {
            Threads.run(parts) { part in
                counts[part] += 1  // each part runs on one thread: no race
                runners[part] = pthread_self()
            }
            runs += 1
            if (0..<parts).contains(where: { pthread_equal(runners[$0], caller) == 0 }) { workerTookParts = true }
        }
        XCTAssertEqual(Array(UnsafeBufferPointer(start: counts, count: parts)), Array(repeating: runs, count: parts))
        XCTAssertTrue(workerTookParts, "no part ran on a worker thread")
    }

    func testNestedRunsComplete() {
        Threads.configure(2)
        let cells = UnsafeMutablePointer<Int>.allocate(capacity: 16)
        defer { cells.deallocate() }
        cells.initialize(repeating: 0, count: 16)
        Threads.run(4) { outer in
            Threads.run(4) { inner in cells[outer * 4 + inner] += outer * 4 + inner + 1 }
        }
        XCTAssertEqual(Array(UnsafeBufferPointer(start: cells, count: 16)), Array(1...16))
    }

    func testRunsFromSeveralThreadsAtOnce() {
        Threads.configure(2)
        let callers = 4, runs = 500, parts = 5
        let totals = UnsafeMutablePointer<Int>.allocate(capacity: callers * parts)
        defer { totals.deallocate() }
        totals.initialize(repeating: 0, count: callers * parts)
        DispatchQueue.concurrentPerform(iterations: callers) { caller in
            for _ in 0..<runs {
                Threads.run(parts) { part in totals[caller * parts + part] += 1 }
            }
        }
        XCTAssertEqual(
            Array(UnsafeBufferPointer(start: totals, count: callers * parts)),
            Array(repeating: runs, count: callers * parts))
    }

    /// A worker takes parts of the very run that starts it: each part here waits until one
    /// more thread than before is inside a part, so the run finishes in time only if the new
    /// worker joined it (a worker that missed its first run left that run to the others).
    func testNewWorkerJoinsTheRunThatStartsIt() {
        Threads.configure(2)
        Threads.run(2) { _ in }  // the first worker is up
        let threads = Int32(3)
        Threads.configure(Int(threads))
        defer { Threads.configure(2) }
        let inside = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        defer { inside.deallocate() }
        inside.initialize(to: 0)
        let lock = NSLock()
        var together = 0
        Threads.run(Int(threads)) { _ in
            lock.withLock { inside.pointee += 1 }
            let deadline = Date().addingTimeInterval(5)
            while lock.withLock({ inside.pointee }) < threads, Date() < deadline { usleep(100) }
            if lock.withLock({ inside.pointee }) == threads { lock.withLock { together += 1 } }
        }
        XCTAssertEqual(together, Int(threads), "the worker started by this run took none of its parts")
    }
}
