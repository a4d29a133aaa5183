import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest
import ZooServer

/// Every API route and its errors, against the CLI's own output for the same question.
final class APITests: XCTestCase {
    func app(_ log: LogLines = LogLines()) throws -> some ApplicationProtocol {
        Application(router: try ServerFixture.server(log: log).router())
    }

    func get(_ uri: String, log: LogLines = LogLines()) async throws -> TestResponse {
        try await app(log).test(.router) { client in try await client.execute(uri: uri, method: .get) }
    }

    func testHealthz() async throws {
        let response = try await get("/healthz")
        XCTAssertEqual(response.status, .ok)
        XCTAssertEqual(response.text, "ok\n")
    }

    func testModelListIsZooListJSON() async throws {
        let response = try await get("/api/models")
        XCTAssertEqual(response.status, .ok)
        XCTAssertEqual(response.headers[.contentType], "application/json; charset=utf-8")
        let cli = try ServerFixture.zoo(["list", "--json"])
        XCTAssertEqual(cli.code, 0, cli.stderr)
        XCTAssertEqual(response.text, String(decoding: cli.stdout, as: UTF8.self))
        let names = (try JSONSerialization.jsonObject(with: response.data) as? [[String: Any]])?.compactMap {
            $0["name"] as? String
        }
        XCTAssertTrue(names?.contains("cdcgan-mnist") ?? false, "\(names ?? [])")
        XCTAssertTrue(names?.contains("tiny-cgan") ?? false)
    }

    func testModelIsZooShowJSON() async throws {
        for name in ["cdcgan-mnist", "tiny-cgan", "dcgan-mnist"] {
            let response = try await get("/api/models/\(name)")
            XCTAssertEqual(response.status, .ok, name)
            let cli = try ServerFixture.zoo(["show", name, "--json", "--no-preview"])
            XCTAssertEqual(cli.code, 0, cli.stderr)
            XCTAssertEqual(response.text, String(decoding: cli.stdout, as: UTF8.self), name)
        }
    }

    func testArchitecturesIsZooArchitecturesJSON() async throws {
        let response = try await get("/api/architectures")
        XCTAssertEqual(response.status, .ok)
        let cli = try ServerFixture.zoo(["architectures", "--json"], withRegistry: false)
        XCTAssertEqual(cli.code, 0, cli.stderr)
        XCTAssertEqual(response.text, String(decoding: cli.stdout, as: UTF8.self))
    }

    /// The PNG bytes equal `zoo generate`'s file for the same arguments.
    func testSamplesAreZooGeneratesBytes() async throws {
        let cases: [(model: String, query: [(String, String)])] = [
            ("cdcgan-mnist", [("digit", "7")]),
            ("cdcgan-mnist", [("digit", "3"), ("count", "7"), ("seed", "42"), ("scale", "1")]),
            ("cdcgan-mnist", []),
            ("cdcgan-mnist", [("count", "20"), ("grid", "5x4"), ("scale", "3")]),
            ("dcgan-mnist", [("count", "9"), ("seed", "5"), ("grid", "1x9")]),
            ("tiny-cgan", [("digit", "0"), ("checkpoint", "1")]),
        ]
        let directory = try ServerFixture.workspace()
        let app = try app()
        for (index, c) in cases.enumerated() {
            let out = directory.appendingPathComponent("expected-\(index).png").path
            let cli = try ServerFixture.zoo(
                ["generate", c.model, "--out", out] + c.query.flatMap { ["--\($0.0)", $0.1] })
            XCTAssertEqual(cli.code, 0, cli.stderr)
            let expected = try Data(contentsOf: URL(fileURLWithPath: out))
            let uri =
                "/api/models/\(c.model)/samples.png" + (c.query.isEmpty ? "" : "?")
                + c.query.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
            let response = try await app.test(.router) { client in try await client.execute(uri: uri, method: .get) }
            XCTAssertEqual(response.status, .ok, "\(uri): \(response.text)")
            XCTAssertEqual(response.headers[.contentType], "image/png")
            XCTAssertEqual(response.data, expected, uri)
        }
    }

    func testBadParametersAre400WithAMessage() async throws {
        let base = "/api/models/cdcgan-mnist/samples.png?"
        let bad = [
            "digit=12", "digit=-1", "digit=seven", "count=0", "count=1001", "count=", "grid=abc", "grid=0x4",
            "grid=1001x1", "grid=2x2", "scale=0", "scale=17", "seed=-1", "checkpoint=-3", "checkpoint=..%2F..",
            "colour=red", "digit=1&digit=2", "count=1000&grid=1000x1&scale=16",
        ]
        let app = try app()
        try await app.test(.router) { client in
            for query in bad {
                let response = try await client.execute(uri: base + query, method: .get)
                XCTAssertEqual(response.status, .badRequest, "\(query): \(response.text)")
                XCTAssertNotNil(response.errorMessage, query)
            }
            // An unconditional model has no digit; a classifier draws nothing.
            for uri in [
                "/api/models/dcgan-mnist/samples.png?digit=1", "/api/models/mnist-classifier/samples.png",
            ] {
                let response = try await client.execute(uri: uri, method: .get)
                XCTAssertEqual(response.status, .badRequest, "\(uri): \(response.text)")
                XCTAssertNotNil(response.errorMessage, uri)
            }
        }
    }

    func testUnknownModelsCheckpointsAndRoutesAre404() async throws {
        let app = try app()
        try await app.test(.router) { client in
            for uri in [
                "/api/models/no-such-model", "/api/models/no-such-model/samples.png", "/models/no-such-model",
                "/api/models/cdcgan-mnist/samples.png?checkpoint=999",
                "/api/models/cdcgan-mnist/samples.png?checkpoint=nope",
                "/nowhere", "/api/models/cdcgan-mnist/other", "/api",
            ] {
                let response = try await client.execute(uri: uri, method: .get)
                XCTAssertEqual(response.status, .notFound, "\(uri): \(response.text)")
                XCTAssertNotNil(response.errorMessage, uri)
            }
        }
    }

    /// Names that are not model names never reach the registry or the file system.
    func testTraversalAndControlCharacterNamesAreRefused() async throws {
        let registry = ServerFixture.registry(in: try ServerFixture.workspace())
        let before = try Data(contentsOf: URL(fileURLWithPath: registry))
        let app = try app()
        try await app.test(.router) { client in
            for name in [
                "..", "..%2F..%2Fetc%2Fpasswd", "%2e%2e", "a%2Fb", "a%00b", "a%0Ab", "CDCGAN-MNIST", "%20",
                String(repeating: "a", count: 65), "a%5Cb", "%C3%A9",
            ] {
                for uri in ["/api/models/\(name)", "/api/models/\(name)/samples.png", "/models/\(name)"] {
                    let response = try await client.execute(uri: uri, method: .get)
                    XCTAssertTrue([.badRequest, .notFound].contains(response.status), "\(uri): \(response.status)")
                    XCTAssertNotNil(response.errorMessage, uri)
                }
            }
            for uri in ["/api/models/../../etc/passwd", "/api/models/a/b/samples.png", "/models/../api/models"] {
                let response = try await client.execute(uri: uri, method: .get)
                XCTAssertTrue([.badRequest, .notFound].contains(response.status), "\(uri): \(response.status)")
            }
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: registry)), before, "the server wrote the registry")
    }

    func testAccessLogLines() async throws {
        let log = LogLines()
        _ = try await get("/healthz", log: log)
        _ = try await get("/api/models/no-such-model", log: log)
        XCTAssertEqual(log.lines.count, 2)
        let pattern = #"^GET /healthz 200 [0-9]+\.[0-9] ms$"#
        XCTAssertNotNil(log.lines.first?.range(of: pattern, options: .regularExpression), "\(log.lines)")
        XCTAssertTrue(log.lines.last?.hasPrefix("GET /api/models/no-such-model 404 ") ?? false, "\(log.lines)")
    }

    /// A model checkpointed after the server started is drawn from its new weights: the cache
    /// is keyed by the model's update time.
    func testANewCheckpointIsSeen() async throws {
        let directory = try ServerFixture.workspace()
        let trained = try ServerFixture.zoo(
            ["train", "cgan", "--name", "growing", "--epochs", "1", "--batch-size", "32"], in: directory)
        XCTAssertEqual(trained.code, 0, trained.stderr)
        let app = try app()
        let uri = "/api/models/growing/samples.png?digit=4&count=5"
        try await app.test(.router) { client in
            let first = try await client.execute(uri: uri, method: .get)
            XCTAssertEqual(first.status, .ok, first.text)
            let again = try await client.execute(uri: uri, method: .get)
            XCTAssertEqual(again.data, first.data)
            let resumed = try ServerFixture.zoo(["resume", "growing", "--epochs", "2"], in: directory)
            XCTAssertEqual(resumed.code, 0, resumed.stderr)
            let second = try await client.execute(uri: uri, method: .get)
            XCTAssertEqual(second.status, .ok, second.text)
            XCTAssertNotEqual(second.data, first.data, "still drawing from the first epoch's generator")
            let out = directory.appendingPathComponent("growing.png").path
            let cli = try ServerFixture.zoo(
                ["generate", "growing", "--digit", "4", "--count", "5", "--out", out], in: directory)
            XCTAssertEqual(cli.code, 0, cli.stderr)
            XCTAssertEqual(second.data, try Data(contentsOf: URL(fileURLWithPath: out)))
            let show = try await client.execute(uri: "/api/models/growing", method: .get)
            let history = (try JSONSerialization.jsonObject(with: show.data) as? [String: Any])?["history"] as? [Any]
            XCTAssertEqual(history?.count, 2)
        }
    }

    func testLoopbackHosts() {
        for host in ["127.0.0.1", "localhost", "::1", "127.1.2.3"] {
            XCTAssertTrue(ServerConfiguration.isLoopback(host))
        }
        for host in ["0.0.0.0", "192.168.1.4", "::", "example.org"] {
            XCTAssertFalse(ServerConfiguration.isLoopback(host), host)
        }
    }
}
