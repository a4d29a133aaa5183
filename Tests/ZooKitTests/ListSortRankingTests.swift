import XCTest

@testable import ZooKit
@_spi(Backend) @testable import ZooRegistry

/// `zoo list --sort`'s order, on summaries whose metrics are known: best first in each
/// metric's direction, ties and models without the metric by name, the latter last.
final class ListSortRankingTests: XCTestCase {
    func summary(_ name: String, _ metrics: [String: Double]) -> ModelSummary {
        ModelSummary(
            name: name, architecture: "dcgan", dataset: "mnist", status: .ready, createdAt: Date(),
            updatedAt: Date(), description: nil, checkpointCount: 1, epochs: 1, steps: 1, parameterCount: 1,
            storedBytes: 1, rawBytes: 1, metrics: metrics)
    }

    func testRanksByMetricWithMissingLastInNameOrder() {
        let models = [
            summary("zeta", ["score": 8.0, "fd": 9.1]),
            summary("alpha", ["score": 6.4, "fd": 7.3, "requested_accuracy": 0.90]),
            summary("classifier", ["accuracy": 0.99]),
            summary("mid", ["score": 8.0, "fd": 3.2, "requested_accuracy": 0.98]),
            summary("broken", ["score": .nan, "fd": .infinity]),
            summary("beta", [:]),
        ]
        XCTAssertEqual(
            RankingMetric.score.rank(models).map(\.name), ["mid", "zeta", "alpha", "beta", "broken", "classifier"],
            "score descending, the tie at 8.0 by name, then the models without a finite score by name")
        XCTAssertEqual(
            RankingMetric.fd.rank(models).map(\.name), ["mid", "alpha", "zeta", "beta", "broken", "classifier"])
        XCTAssertEqual(
            RankingMetric.requestedAccuracy.rank(models).map(\.name),
            ["mid", "alpha", "beta", "broken", "classifier", "zeta"])
        XCTAssertEqual(RankingMetric.allCases.map(\.rawValue), ["score", "fd", "requested_accuracy"])
        XCTAssertEqual(RankingMetric.score.rank([]), [])
    }
}
