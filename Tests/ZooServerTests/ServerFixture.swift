import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest
import ZooCatalog
import ZooServer

@testable import zoo

/// A temporary registry holding the shipped models (imported by the real `zoo` binary, as a
/// user's first command would) and a tiny conditional GAN trained on synthetic digits, and the
/// `zoo` binary to compare the server's answers with.
enum ServerFixture {
    nonisolated(unsafe) static var directory: URL?
    static let lock = NSLock()

    struct Run {
        let code: Int32
        let stdout: Data
        let stderr: String
    }

    static var zooBinary: URL {
        // The test bundle's executable sits in the products folder next to `zoo`.
        let executable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("zoo")
    }

    static var shipped: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Zoo/pretrained.sqlite").path
    }

    /// The folder, made once for the whole suite.
    static func workspace() throws -> URL {
        try lock.withLock {
            if let directory { return directory }
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-serve-\(UUID().uuidString)")
            try FileManager.default.createDirectory(
                at: url.appendingPathComponent("mnist"), withIntermediateDirectories: true)
            try writeSyntheticMNIST(to: url.appendingPathComponent("mnist"), count: 96)
            directory = url
            // One workspace for the suite (a 24 MB registry): removed when the test process ends.
            atexit {
                if let directory = ServerFixture.directory { try? FileManager.default.removeItem(at: directory) }
            }
            let list = try zoo(["list", "--json"], in: url)
            guard list.code == 0 else { throw TestFailure("zoo list failed: \(list.stderr)") }
            let train = try zoo(
                ["train", "cgan", "--name", "tiny-cgan", "--epochs", "1", "--batch-size", "32"], in: url)
            guard train.code == 0 else { throw TestFailure("zoo train failed: \(train.stderr)") }
            return url
        }
    }

    static func registry(in directory: URL) -> String { directory.appendingPathComponent("registry.sqlite").path }

    @discardableResult
    static func zoo(_ arguments: [String], in directory: URL? = nil, withRegistry: Bool = true) throws -> Run {
        let directory = try directory ?? workspace()
        let process = Process()
        process.executableURL = zooBinary
        process.arguments = arguments + (withRegistry ? ["--registry", registry(in: directory)] : [])
        process.currentDirectoryURL = directory
        var environment = ProcessInfo.processInfo.environment
        environment["ZOO_PRETRAINED"] = shipped
        environment["ZOO_DATA"] = directory.appendingPathComponent("mnist").path
        environment.removeValue(forKey: "ZOO_REGISTRY")
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(code: process.terminationStatus, stdout: stdout, stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// The server on the workspace's registry, with the CLI's views and a log the test reads.
    static func server(log: LogLines = LogLines()) throws -> ZooServer {
        var configuration = ServerConfiguration(registryPath: registry(in: try workspace()), catalog: builtinCatalog)
        configuration.log = { line in log.append(line) }
        return ZooServer(configuration: configuration, views: .cli)
    }

    /// Each "digit" a bar whose position follows its label (as ZooKitTests' fixtures).
    static func writeSyntheticMNIST(to directory: URL, count: Int) throws {
        func bigEndian(_ value: Int) -> [UInt8] {
            let v = UInt32(value)
            return [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]
        }
        for (prefix, n) in [("train", count), ("t10k", 100)] {
            var images = Data([0, 0, 8, 3]), labels = Data([0, 0, 8, 1])
            for value in [n, 28, 28] { images.append(contentsOf: bigEndian(value)) }
            labels.append(contentsOf: bigEndian(n))
            for i in 0..<n {
                labels.append(UInt8(i % 10))
                for y in 0..<28 {
                    for x in 0..<28 {
                        images.append(abs(x - (4 + 2 * (i % 10))) <= 1 && y > 4 && y < 24 ? 230 : 10)
                    }
                }
            }
            try images.write(to: directory.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
            try labels.write(to: directory.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The access log's lines, gathered from the server's threads.
final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    func append(_ line: String) { lock.withLock { stored.append(line) } }
    var lines: [String] { lock.withLock { stored } }
}

extension TestResponse {
    var data: Data { Data(buffer: body) }
    var text: String { String(buffer: body) }
    /// The `error` of a JSON error answer.
    var errorMessage: String? {
        (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["error"] as? String
    }
}
