import Foundation
import XCTest

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `zoo serve` as a user runs it: the real binary on a free port, stopped by SIGINT (Ctrl-C) or
/// SIGTERM, which must end it cleanly (exit 0) within a second, its access log on stderr.
final class ServeCLITests: XCTestCase {
    /// Collects a pipe's output as it arrives, so the test can wait for a line.
    final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()
        func append(_ more: Data) { lock.withLock { data.append(more) } }
        var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
    }

    func get(_ url: URL) throws -> (status: Int, body: String) {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: (Int, String)?
        URLSession.shared.dataTask(with: url) { data, response, _ in
            result = ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data ?? Data(), as: UTF8.self))
            done.signal()
        }.resume()
        _ = done.wait(timeout: .now() + 30)
        let answer = try XCTUnwrap(result, "no answer from \(url)")
        return (answer.0, answer.1)
    }

    func testSignalsStopTheServerCleanlyWithinASecond() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for signal in [SIGINT, SIGTERM] {
            let process = Process()
            process.executableURL = CLITests.zooBinary
            process.arguments = ["serve", "--port", "0", "--registry", folder.appendingPathComponent("r.sqlite").path]
            var env = ProcessInfo.processInfo.environment
            env["ZOO_PRETRAINED"] = ""  // an empty registry: the lifecycle, not the models
            env.removeValue(forKey: "ZOO_REGISTRY")
            process.environment = env
            let err = Pipe(), stderr = Collected()
            err.fileHandleForReading.readabilityHandler = { stderr.append($0.availableData) }
            process.standardError = err
            process.standardOutput = Pipe()
            try process.run()
            defer { if process.isRunning { process.terminate() } }

            // "zoo serve: http://127.0.0.1:PORT (registry …)" once it listens.
            let started = Date().addingTimeInterval(60)
            var base: URL?
            while base == nil, Date() < started, process.isRunning {
                if let line = stderr.text.split(separator: "\n").first(where: { $0.hasPrefix("zoo serve: http://") }),
                    let url = line.split(separator: " ").dropFirst(2).first
                {
                    base = URL(string: String(url))
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
            let url = try XCTUnwrap(base, "the server did not say where it listens: \(stderr.text)")
            let health = try get(url.appendingPathComponent("healthz"))
            XCTAssertEqual(health.status, 200)
            XCTAssertEqual(health.body, "ok\n")
            XCTAssertEqual(try get(url.appendingPathComponent("no-such-page")).status, 404)

            let sent = Date()
            kill(process.processIdentifier, signal)
            while process.isRunning, Date().timeIntervalSince(sent) < 10 { Thread.sleep(forTimeInterval: 0.01) }
            let took = Date().timeIntervalSince(sent)
            XCTAssertFalse(process.isRunning, "signal \(signal): still running after 10 s")
            XCTAssertLessThan(took, 1.0, "signal \(signal): \(took) s to stop")
            XCTAssertEqual(process.terminationReason, .exit, "signal \(signal): ended by the signal, not by itself")
            XCTAssertEqual(process.terminationStatus, 0, "signal \(signal): \(stderr.text)")
            err.fileHandleForReading.readabilityHandler = nil
            // One access-log line a request: method, path, status, milliseconds.
            let log = stderr.text
            XCTAssertNotNil(log.range(of: #"GET /healthz 200 [0-9.]+ ms"#, options: .regularExpression), log)
            XCTAssertNotNil(log.range(of: #"GET /no-such-page 404 [0-9.]+ ms"#, options: .regularExpression), log)
        }
    }
}
