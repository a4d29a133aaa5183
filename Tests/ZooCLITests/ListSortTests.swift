import Foundation
import XCTest

/// `zoo list --sort` on a registry of its own, with figures stored by `zoo evaluate` (which
/// also prints a conditional model's per-class Fréchet distances).
final class ListSortTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-list-sort-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: dir.appendingPathComponent("mnist"), withIntermediateDirectories: true)
        try SyntheticMNIST.write(to: dir.appendingPathComponent("mnist"), count: 64)
    }

    override func tearDownWithError() throws {
        if let dir { try? FileManager.default.removeItem(at: dir) }
    }

    @discardableResult
    func zoo(_ args: String...) throws -> CLITests.Result { try zoo(args) }

    func zoo(_ args: [String]) throws -> CLITests.Result {
        try CLITests.run(
            args + ["--registry", dir.appendingPathComponent("registry.sqlite").path], in: dir,
            data: dir.appendingPathComponent("mnist").path)
    }

    /// `zoo list --json` with `args`: each model's name and latest metrics, in listed order.
    func listed(_ args: String...) throws -> [(name: String, metrics: [String: Double])] {
        let r = try zoo(["list", "--json"] + args)
        XCTAssertEqual(r.code, 0, r.stderr)
        let models = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        return models.map { (($0["name"] as? String) ?? "", ($0["metrics"] as? [String: Double]) ?? [:]) }
    }

    func testListSortRanksByStoredMetricsWithMissingLast() throws {
        for args in [
            ["classifier", "--name", "judge"], ["simple-gan", "--name", "gan-b", "--seed", "2"],
            ["simple-gan", "--name", "gan-a", "--seed", "3"], ["cgan", "--name", "cond"],
            ["simple-gan", "--name", "gan-unscored"],
        ] {
            let r = try zoo(["train"] + args + ["--epochs", "1", "--batch-size", "32", "--limit", "64"])
            XCTAssertEqual(r.code, 0, r.stderr)
        }
        for model in ["gan-a", "gan-b", "cond"] {
            let r = try zoo("evaluate", model, "--classifier", "judge", "--samples", "100")
            XCTAssertEqual(r.code, 0, r.stderr)
            // Only the conditional model has classes to compare one by one.
            XCTAssertEqual(r.stdout.contains("Fréchet per class  intra mean"), model == "cond", r.stdout)
        }
        let json = try zoo("evaluate", "cond", "--classifier", "judge", "--samples", "100", "--json")
        let report = try XCTUnwrap(
            (try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])?.first)
        XCTAssertEqual((report["frechetDistancePerClass"] as? [Any])?.count, 10)
        XCTAssertNotNil(report["frechetDistanceIntraMean"] as? Double)

        // One epoch on 64 images leaves the figures to chance; renaming the lowest FD's model to
        // sort last by name makes the FD order differ from the name order whatever they are.
        let lowest = try XCTUnwrap(
            try listed().filter { $0.metrics["fd"] != nil }.min {
                ($0.metrics["fd"] ?? .infinity) < ($1.metrics["fd"] ?? .infinity)
            })
        XCTAssertEqual(try zoo("rename", lowest.name, "zz-lowest-fd").code, 0)
        let byName = try listed()
        XCTAssertEqual(byName.map(\.name).last, "zz-lowest-fd", "the default order is by name")
        XCTAssertEqual(try listed("--sort", "fd").first?.name, "zz-lowest-fd")
        for (key, higherIsBetter) in [("score", true), ("fd", false), ("requested_accuracy", true)] {
            let scored = byName.filter { $0.metrics[key] != nil }.sorted {
                let (x, y) = ($0.metrics[key] ?? 0, $1.metrics[key] ?? 0)
                return x == y ? $0.name < $1.name : (higherIsBetter ? x > y : x < y)
            }
            let expected =
                scored.map(\.name) + byName.map(\.name).filter { name in !scored.contains { $0.name == name } }
            XCTAssertEqual(try listed("--sort", key).map(\.name), expected, key)
            let text = try zoo("list", "--sort", key)
            XCTAssertEqual(text.code, 0, text.stderr)
            let lines = text.stdout.split(separator: "\n")
            XCTAssertEqual(
                lines.first?.split(separator: " ").prefix(2), ["NAME", Substring(key.uppercased())], text.stdout)
            XCTAssertEqual(lines.dropFirst().map { String($0.prefix { $0 != " " }) }, expected, text.stdout)
        }
        let conditional = lowest.name == "cond" ? "zz-lowest-fd" : "cond"
        XCTAssertEqual(try listed("--sort", "requested_accuracy").first?.name, conditional)
        XCTAssertEqual(try listed("--sort", "score").suffix(2).map(\.name), ["gan-unscored", "judge"])
        let shown = try zoo("show", conditional, "--no-preview").stdout
        XCTAssertTrue(shown.contains("fd_intra_mean") && shown.contains("fd per class         0:"), shown)

        let bad = try zoo("list", "--sort", "speed")
        XCTAssertEqual(bad.code, 2, "an unknown sort key is a usage error")
        for key in ["speed", "score", "fd", "requested_accuracy"] {
            XCTAssertTrue(bad.stderr.contains(key), bad.stderr)
        }
    }
}
