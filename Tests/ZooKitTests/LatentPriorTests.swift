import Foundation
import XCTest
import ZooEngine
import ZooRegistry

@testable import ZooKit

/// G's noise prior: the seeds' N(0, I), or a mixture of K Gaussians N(s·e_c, I).
final class LatentPriorTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = try Fixtures.temporaryDirectory()
        try Fixtures.writeSyntheticMNIST(to: directory, count: 96)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// The Gaussian prior draws exactly what `fillNormal` draws: every seeded run and every
    /// shipped model's images stay as they were.
    func testGaussianPriorDrawsWhatFillNormalDraws() {
        let a = Tensor(shape: [37, 100]), b = Tensor(shape: [37, 100])
        LatentPrior.gaussian.fill(a, rng: RandomSource(seed: 9))
        RandomSource(seed: 9).fillNormal(b)
        XCTAssertEqual(a.array, b.array)
    }

    /// Each row is its Gaussian draw plus s on exactly one of the first K axes, and the K
    /// components are used evenly.
    func testMixtureShiftsOneOfTheFirstKAxesByTheScale() {
        let rows = 2000, columns = 12
        let mixed = Tensor(shape: [rows, columns]), plain = Tensor(shape: [rows, columns])
        LatentPrior(components: 10, scale: 4).fill(mixed, rng: RandomSource(seed: 5))
        RandomSource(seed: 5).fillNormal(plain)
        var uses = [Int](repeating: 0, count: 10)
        for row in 0..<rows {
            let shifted = (0..<columns).filter { mixed.data[row * columns + $0] != plain.data[row * columns + $0] }
            XCTAssertEqual(shifted.count, 1, "row \(row)")
            guard let axis = shifted.first else { continue }
            XCTAssertLessThan(axis, 10, "row \(row) shifted axis \(axis), outside the first K")
            XCTAssertEqual(mixed.data[row * columns + axis] - plain.data[row * columns + axis], 4, accuracy: 1e-5)
            uses[min(axis, 9)] += 1
        }
        // 200 expected per component; ±50 is more than 3.5 standard deviations.
        for (component, count) in uses.enumerated() {
            XCTAssertTrue((150...250).contains(count), "component \(component) drawn \(count) times of \(rows)")
        }
    }

    /// A stored prior wider than the latent (someone else's file) shifts an axis inside the
    /// row, never one past it.
    func testAPriorWiderThanTheLatentStaysInsideTheRow() {
        let noise = Tensor(shape: [50, 4]), plain = Tensor(shape: [50, 4])
        LatentPrior(components: 10, scale: 2).fill(noise, rng: RandomSource(seed: 1))
        RandomSource(seed: 1).fillNormal(plain)
        let moved = zip(noise.array, plain.array).filter { $0 != $1 }.count
        XCTAssertEqual(moved, 50)
    }

    /// `zoo train --latent-mixture` stores the prior with the model, and generation (and the
    /// progress frames) draw from it: what `generate` makes equals the generator fed noise
    /// drawn from the prior, and differs from the generator fed N(0, I) from the same seed.
    func testTheMixtureIsStoredAndGenerationDrawsFromIt() throws {
        let store = try Fixtures.store(at: directory)
        var request = TrainingRequest(architecture: "dense-gan", name: "mixed", dataDirectory: directory.path)
        request.epochs = 1; request.batchSize = 32; request.latentMixture = 10; request.latentMixtureScale = 3
        _ = try Trainer(store: store).train(request)

        let loaded = try store.load("mixed", networks: ["generator"], weightsOnly: true)
        XCTAssertEqual(loaded.hyperparameters.latentPrior, LatentPrior(components: 10, scale: 3))
        let generator = try XCTUnwrap(loaded.architecture as? any ImageGenerating)
        XCTAssertEqual(generator.latentPrior, LatentPrior(components: 10, scale: 3))

        let drawn = try store.generate(model: "mixed", count: 12, seed: 4).array
        let mixture = Tensor(shape: [12, 100]), gaussian = Tensor(shape: [12, 100])
        LatentPrior(components: 10, scale: 3).fill(mixture, rng: RandomSource(seed: 4))
        RandomSource(seed: 4).fillNormal(gaussian)
        XCTAssertEqual(drawn, try store.generate(with: loaded, count: 12, labels: nil, seed: 0, noise: mixture).array)
        XCTAssertNotEqual(
            drawn, try store.generate(with: loaded, count: 12, labels: nil, seed: 0, noise: gaussian).array)
        XCTAssertEqual(
            try ProgressFrames.render(loaded.architecture), try store.progressFrames(of: "mixed", epoch: 1).first?.png)

        // A resumed run keeps the prior it was started with.
        _ = try Trainer(store: store).resume("mixed", epochs: 2, dataDirectory: directory.path, checkpointEvery: nil)
        XCTAssertEqual(try store.progressFrameCount(of: "mixed"), 2)
        XCTAssertEqual(
            try store.load("mixed", networks: ["generator"], weightsOnly: true).hyperparameters.latentPrior,
            LatentPrior(components: 10, scale: 3))
    }

    /// Out-of-range priors are refused with the flag named, and nothing is written.
    func testThePriorIsValidated() throws {
        let store = try Fixtures.store(at: directory)
        let bad: [(architecture: String, change: (inout TrainingRequest) -> Void, says: String)] = [
            ("dense-gan", { $0.latentMixture = 1 }, "--latent-mixture 1"),
            ("dense-gan", { $0.latentMixture = -3 }, "--latent-mixture -3"),
            ("dense-gan", { $0.latentMixture = 101 }, "the latent has 100"),
            ("dense-gan", { $0.latentMixture = 5000 }, "2...1024"),
            (
                "dense-gan",
                {
                    $0.latentMixture = 10; $0.latentMixtureScale = 0
                }, "(0, 100]"
            ),
            (
                "dense-gan",
                {
                    $0.latentMixture = 10; $0.latentMixtureScale = .nan
                }, "(0, 100]"
            ),
            (
                "dense-gan",
                {
                    $0.recipe = "gaussian"; $0.latentMixtureScale = 2
                }, "needs --latent-mixture K"
            ),
            (
                "dense-gan",
                {
                    $0.latentMixture = 0; $0.latentMixtureScale = 2
                }, "needs --latent-mixture K"
            ),
            ("classifier", { $0.latentMixture = 10 }, "a classifier has none"),
        ]
        for (index, case_) in bad.enumerated() {
            var request = TrainingRequest(
                architecture: case_.architecture, name: "bad\(index)", dataDirectory: directory.path)
            request.epochs = 1
            case_.change(&request)
            XCTAssertThrowsError(try Trainer(store: store).train(request)) { error in
                guard case ZooError.invalidHyperparameter(let message) = error else {
                    return XCTFail("\(index): \(error)")
                }
                XCTAssertTrue(message.contains(case_.says), "\(index): \(message)")
            }
            XCTAssertThrowsError(
                try store.sqlite.model(named: "bad\(index)"), "nothing is written for a refused request")
        }
    }

    /// JSON from before the prior existed decodes to N(0, I), a Gaussian prior is not written
    /// (stored JSON stays as it was), and a stored prior out of range is a corrupt model.
    func testStoredPriorsDecodeAndAreChecked() throws {
        let old =
            #"{"batchSize":128,"epochs":5,"learningRates":{"generator":0.0002,"discriminator":0.0002},"#
            + #""beta1":0.5,"beta2":0.999,"epsilon":1e-07}"#
        let decoded = try Hyperparameters.decode(json: old, model: "old")
        XCTAssertEqual(decoded.latentPrior, .gaussian)
        XCTAssertFalse(decoded.json().contains("latentPrior"))

        var mixed = decoded
        mixed.latentPrior = LatentPrior(components: 10, scale: 4)
        XCTAssertTrue(mixed.json().contains(#""latentPrior":{"components":10,"scale":4}"#), mixed.json())
        XCTAssertEqual(try Hyperparameters.decode(json: mixed.json(), model: "m").latentPrior, mixed.latentPrior)

        for crafted in [
            #"{"components":99999,"scale":4}"#, #"{"components":10,"scale":-1}"#, #"{"components":0,"scale":7}"#,
        ] {
            let json = String(old.dropLast()) + #","latentPrior":"# + crafted + "}"
            XCTAssertThrowsError(try Hyperparameters.decode(json: json, model: "crafted")) { error in
                guard case ZooError.corruptModel = error else { return XCTFail("\(crafted): \(error)") }
            }
        }
    }
}
