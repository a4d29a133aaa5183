import CGIF
import Foundation
import XCTest
import ZooCatalog
import ZooEngine
import ZooRegistry

@testable import ZooKit

/// The GAN training aids (D steps, label smoothing, instance noise, generator EMA), the
/// recipes, and the per-epoch progress frames.
final class TrainingAidsTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = try Fixtures.temporaryDirectory()
        try Fixtures.writeSyntheticMNIST(to: directory, count: 96)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// A small dense GAN: G 4→6→784 (with a BatchNorm, whose moving statistics the EMA copies),
    /// D 784→5→1; no dropout, so two runs from the same RNG state see the same D.
    func tinyGAN(_ aids: TrainingAids = TrainingAids(), seed: UInt64 = 3) -> (GANStep, RandomSource) {
        let rng = RandomSource(seed: seed)
        let generator = Sequential([
            ("dense1", Dense(inputs: 4, outputs: 6, rng: rng)), ("bn", BatchNorm(features: 6)), ("relu", ReLU()),
            ("dense2", Dense(inputs: 6, outputs: 784, rng: rng)), ("tanh", Tanh()), ("reshape", Reshape([1, 28, 28])),
        ])
        let discriminator = Sequential([
            ("flatten", Flatten()), ("dense1", Dense(inputs: 784, outputs: 5, rng: rng)), ("relu", ReLU()),
            ("logit", Dense(inputs: 5, outputs: 1, rng: rng)),
        ])
        let h = Hyperparameters(
            batchSize: 8, epochs: 1, generatorLearningRate: 1e-3, discriminatorLearningRate: 1e-3, aids: aids)
        let gan = GANStep(generator: generator, discriminator: discriminator, hyperparameters: h, latentSize: 4)
        gan.parallelDiscriminator = false
        return (gan, rng)
    }

    func batch(_ rng: RandomSource, n: Int = 8) -> Batch {
        let images = Tensor(shape: [n, 1, 28, 28])
        rng.fillUniform(images, -1, 1)
        return Batch(images: images, labels: (0..<n).map { $0 % 10 })
    }

    // MARK: EMA

    /// shadow ← d·shadow + (1 − d)·w with d = min(decay, (1 + t)/(10 + t)), computed here by
    /// hand for two updates; BatchNorm's moving statistics are copied, not averaged.
    func testEMAUpdateMatchesHandComputation() throws {
        let (gan, _) = tinyGAN(TrainingAids(emaDecay: 0.95))
        let ema = try XCTUnwrap(gan.ema)
        let kernel = try XCTUnwrap(gan.generator.body.namedParameters.first { $0.path == "dense1.kernel" }?.parameter)
        let movingMean = try XCTUnwrap(
            gan.generator.body.namedParameters.first { $0.path == "bn.moving_mean" }?.parameter)
        let kernelShadow = try XCTUnwrap(ema.namedTensors.first { $0.path == "dense1.kernel" }?.tensor)
        let meanShadow = try XCTUnwrap(ema.namedTensors.first { $0.path == "bn.moving_mean" }?.tensor)
        XCTAssertEqual(ema.namedTensors.first?.network, "generator#ema")
        XCTAssertEqual(kernelShadow.array, kernel.value.array, "the average starts at the initial weights")

        let w0 = kernel.value.array
        // Update 1: d = min(0.95, 1/10) = 0.1.
        for i in 0..<kernel.value.count { kernel.value.data[i] = Float(i) * 0.01 - 0.1 }
        movingMean.value.fill(0.25)
        ema.update(updates: 1)
        let w1 = kernel.value.array
        let expected1 = zip(w0, w1).map { Float(0.1) * $0 + Float(0.9) * $1 }
        XCTAssertEqual(kernelShadow.array, expected1)
        XCTAssertEqual(meanShadow.array, [Float](repeating: 0.25, count: 6))

        // Update 200: d = min(0.95, 200/209) = 0.95.
        XCTAssertEqual(ema.effectiveDecay(updates: 200), 0.95)
        XCTAssertEqual(ema.effectiveDecay(updates: 11), Float(11) / 20)
        kernel.value.fill(1)
        ema.update(updates: 200)
        XCTAssertEqual(kernelShadow.array, expected1.map { Float(0.95) * $0 + (1 - Float(0.95)) * 1 })

        // Generation weights swap in and back out.
        let live = kernel.value.array
        ema.withAverageWeights { XCTAssertEqual(kernel.value.array, kernelShadow.array) }
        XCTAssertEqual(kernel.value.array, live)
    }

    /// A trained model with an EMA stores it in every checkpoint, `generate` draws from it,
    /// and `--no-ema` (average: false) draws from the trained weights instead.
    func testGenerationUsesTheAverageUnlessAskedNotTo() throws {
        let store = try Fixtures.store(at: directory)
        var request = TrainingRequest(architecture: "cgan", name: "averaged", dataDirectory: directory.path)
        request.epochs = 2; request.batchSize = 32; request.emaDecay = 0.9
        _ = try Trainer(store: store).train(request)
        for checkpoint in try store.sqlite.checkpoints(of: "averaged") {
            let record = try store.sqlite.loadCheckpoint(model: "averaged", checkpoint: .id(checkpoint.id))
            XCTAssertTrue(
                record.tensors.contains { $0.network == GeneratorEMA.network },
                "checkpoint \(checkpoint.step) lacks the EMA")
        }
        let record = try store.sqlite.loadCheckpoint(model: "averaged", checkpoint: .latest)
        let emaKernel = try XCTUnwrap(
            record.tensors.first { $0.network == GeneratorEMA.network && $0.path == "dense1.kernel" })
        let trainedKernel = try XCTUnwrap(
            record.tensors.first { $0.network == "generator" && $0.path == "dense1.kernel" })
        XCTAssertNotEqual(emaKernel.values, trainedKernel.values)

        for average in [true, false] {
            let loaded = try store.load("averaged", networks: ["generator"], weightsOnly: true, average: average)
            let model = try XCTUnwrap(loaded.architecture as? any AdversarialArchitecture)
            let kernel = try XCTUnwrap(model.gan.generator.body.namedParameters.first { $0.path == "dense1.kernel" })
            XCTAssertEqual(kernel.parameter.value.array, average ? emaKernel.values : trainedKernel.values)
        }
        let drawn = try store.generate(model: "averaged", count: 10, seed: 0).array
        XCTAssertNotEqual(
            drawn,
            try store.generate(
                with: try store.load("averaged", networks: ["generator"], average: false),
                count: 10, labels: nil, seed: 0
            ).array)
    }

    /// Publishing ships the average as the generator (half the generator bytes): the shipped
    /// model draws exactly what the trained one draws, refuses --no-ema, and publishes again
    /// unchanged.
    func testPublishingShipsTheAverageAsTheGenerator() throws {
        let store = try Fixtures.store(at: directory)
        var request = TrainingRequest(architecture: "dense-gan", name: "averaged", dataDirectory: directory.path)
        request.epochs = 2; request.batchSize = 32; request.emaDecay = 0.9
        _ = try Trainer(store: store).train(request)
        let source = try store.sqlite.loadCheckpoint(model: "averaged", checkpoint: .latest)
        let sourceAverage = source.tensors.filter { $0.network == GeneratorEMA.network }

        let shipped = ModelStore(registry: try Registry.inMemory(), catalog: builtinCatalog)
        try store.publish("averaged", to: shipped, float16: false)
        let record = try shipped.sqlite.loadCheckpoint(model: "averaged", checkpoint: .latest)
        XCTAssertFalse(record.tensors.contains { $0.network == GeneratorEMA.network })
        XCTAssertEqual(record.tensors.filter { $0.network == "generator" }.map(\.values), sourceAverage.map(\.values))
        XCTAssertEqual(record.tensors.filter { $0.network == "generator" }.map(\.path), sourceAverage.map(\.path))
        XCTAssertEqual(
            try shipped.generate(model: "averaged", count: 8, seed: 5).array,
            try store.generate(model: "averaged", count: 8, seed: 5).array)
        XCTAssertThrowsError(try shipped.load("averaged", networks: ["generator"], average: false)) { error in
            XCTAssertEqual(error as? ZooError, .averageOnly(model: "averaged"))
        }
        XCTAssertEqual(try shipped.load("averaged").position.generatorIsAverage, true)
        let again = ModelStore(registry: try Registry.inMemory(), catalog: builtinCatalog)
        try shipped.publish("averaged", to: again, float16: false)
        XCTAssertEqual(try again.sqlite.loadCheckpoint(model: "averaged", checkpoint: .latest).tensors, record.tensors)
        XCTAssertFalse(try store.load("averaged").position.generatorIsAverage ?? false, "the trained model keeps both")

        // Generator only: the same drawings from the generator's tensors alone.
        let alone = ModelStore(registry: try Registry.inMemory(), catalog: builtinCatalog)
        try store.publish("averaged", to: alone, float16: false, generatorOnly: true)
        let aloneRecord = try alone.sqlite.loadCheckpoint(model: "averaged", checkpoint: .latest)
        XCTAssertEqual(Set(aloneRecord.tensors.map(\.network)), ["generator"])
        XCTAssertEqual(aloneRecord.tensors, record.tensors.filter { $0.network == "generator" })
        XCTAssertEqual(
            try alone.generate(model: "averaged", count: 8, seed: 5).array,
            try store.generate(model: "averaged", count: 8, seed: 5).array)
        XCTAssertEqual(try alone.load("averaged").storedNetworks, ["generator"])
        XCTAssertThrowsError(try alone.load("averaged", networks: ["discriminator"])) { error in
            XCTAssertTrue("\(error)".contains("without its discriminator"), "\(error)")
        }

        // A checkpoint that claims networks its architecture does not have is refused, not half-loaded.
        let forged = try Registry.inMemory()
        try store.register(try builtinCatalog.lookup("dense-gan"))
        try ModelStore(registry: forged, catalog: builtinCatalog).register(try builtinCatalog.lookup("dense-gan"))
        var position = try alone.load("averaged").position
        for claim in [[String](), ["critic"]] {
            position.publishedNetworks = claim
            let name = "forged\(claim.count)"
            try forged.createModel(
                name: name, architecture: "dense-gan", dataset: "mnist",
                hyperparameters: try alone.sqlite.model(named: "averaged").hyperparameters, seed: 1)
            try forged.saveCheckpoint(
                model: name,
                CheckpointRecord(
                    epoch: 2, step: 6, isFinal: true, trainingPosition: position.encoded(),
                    rngState: Data(count: 48), tensors: aloneRecord.tensors))
            XCTAssertThrowsError(
                try ModelStore(registry: forged, catalog: builtinCatalog).generate(model: name, count: 2, seed: 0)
            ) { error in
                guard case ZooError.corruptModel = error else { return XCTFail("\(claim): \(error)") }
            }
        }
    }

    // MARK: Label smoothing

    /// With real target t = 1 − s, each real image's loss is t·softplus(−z) + s·softplus(z)
    /// = softplus(−z) + s·z: D's loss moves by exactly s·mean(z) over the real logits.
    func testLabelSmoothingChangesTheDLossAsComputedByHand() throws {
        let smoothing: Float = 0.2
        let (plain, rngA) = tinyGAN()
        let (smoothed, rngB) = tinyGAN(TrainingAids(labelSmoothing: smoothing))
        let images = batch(RandomSource(seed: 77))
        let realLogits = plain.discriminator.forward(images.images, oneHot: nil, training: true).array
        let meanLogit = realLogits.reduce(0.0) { $0 + Double($1) } / Double(realLogits.count)
        XCTAssertGreaterThan(abs(meanLogit), 1e-4, "the check needs real logits away from zero")

        let a = plain.computeGradients(images, rng: rngA)
        let b = smoothed.computeGradients(images, rng: rngB)
        XCTAssertEqual(b.discriminatorLoss - a.discriminatorLoss, Double(smoothing) * meanLogit, accuracy: 1e-6)
        XCTAssertEqual(b.generatorLoss, a.generatorLoss, "G's loss does not see the smoothing")

        // And its gradient is the loss's: finite differences over D's weights.
        let saved = rngB.state
        func loss() -> Double {
            rngB.state = saved; return smoothed.computeGradients(images, rng: rngB).discriminatorLoss
        }
        smoothed.discriminator.body.zeroGradients()
        smoothed.generator.body.zeroGradients()
        _ = loss()
        let (numeric, analytic) = directionalDerivatives(
            smoothed.discriminator.body.trainableParameters,
            rng: RandomSource(seed: 5), eps: 1e-3, loss: loss)
        XCTAssertEqual(numeric, analytic, accuracy: 0.02 * max(0.1, abs(analytic)))
    }

    // MARK: Instance noise

    func testInstanceNoiseAnnealsToZeroAtTheEndOfItsSchedule() {
        let aids = TrainingAids(instanceNoise: 0.5, instanceNoiseEpochs: 4)
        XCTAssertEqual(aids.instanceNoiseSigma(step: 0, stepsPerEpoch: 10, epochs: 20), 0.5)
        XCTAssertEqual(aids.instanceNoiseSigma(step: 20, stepsPerEpoch: 10, epochs: 20), 0.25)
        XCTAssertEqual(aids.instanceNoiseSigma(step: 40, stepsPerEpoch: 10, epochs: 20), 0)
        XCTAssertEqual(aids.instanceNoiseSigma(step: 150, stepsPerEpoch: 10, epochs: 20), 0)
        // Without an explicit span it lasts the whole run.
        let wholeRun = TrainingAids(instanceNoise: 0.5)
        XCTAssertEqual(wholeRun.instanceNoiseSigma(step: 100, stepsPerEpoch: 10, epochs: 20), 0.25)
        XCTAssertEqual(wholeRun.instanceNoiseSigma(step: 200, stepsPerEpoch: 10, epochs: 20), 0)
        XCTAssertEqual(TrainingAids().instanceNoiseSigma(step: 0, stepsPerEpoch: 10, epochs: 20), 0)
    }

    /// Noise on D's inputs changes D's losses while it lasts; once annealed to zero the step
    /// is exactly the step without the aid (no draws, no noise).
    func testInstanceNoiseReachesDAndVanishesAtZero() throws {
        let images = batch(RandomSource(seed: 8))
        let (reference, rngR) = tinyGAN()
        let clean = reference.computeGradients(images, rng: rngR)

        let (noisy, rngN) = tinyGAN(TrainingAids(instanceNoise: 0.8, instanceNoiseEpochs: 1))
        noisy.instanceNoise = 0.8
        let withNoise = noisy.computeGradients(images, rng: rngN)
        XCTAssertNotEqual(withNoise.discriminatorLoss, clean.discriminatorLoss)

        let (annealed, rngA) = tinyGAN(TrainingAids(instanceNoise: 0.8, instanceNoiseEpochs: 1))
        annealed.instanceNoise = 0
        let end = annealed.computeGradients(images, rng: rngA)
        XCTAssertEqual(end.discriminatorLoss, clean.discriminatorLoss)
        XCTAssertEqual(end.generatorLoss, clean.generatorLoss)
        XCTAssertEqual(rngA.state, rngR.state, "σ = 0 draws nothing")
    }

    /// G's gradient with instance noise is still the gradient of G's loss (noise held fixed).
    func testInstanceNoiseKeepsGeneratorGradientExact() throws {
        let (gan, rng) = tinyGAN(TrainingAids(instanceNoise: 0.3))
        gan.instanceNoise = 0.3
        let images = batch(RandomSource(seed: 4))
        let saved = rng.state
        func loss() -> Double { rng.state = saved; return gan.computeGradients(images, rng: rng).generatorLoss }
        gan.generator.body.zeroGradients(); gan.discriminator.body.zeroGradients()
        _ = loss()
        let (numeric, analytic) = directionalDerivatives(
            gan.generator.body.trainableParameters, rng: RandomSource(seed: 6), eps: 1e-3, loss: loss)
        XCTAssertEqual(numeric, analytic, accuracy: 0.03 * max(0.1, abs(analytic)))
        XCTAssertGreaterThan(abs(analytic), 1e-5)
    }

    // MARK: D steps

    /// With --d-steps 3, 9 steps make 9 D updates and 3 G updates (and 3 EMA updates), and
    /// the counts survive an interruption and a resume.
    func testDiscriminatorStepsCountTheUpdates() throws {
        let store = try Fixtures.store(at: directory)
        var request = TrainingRequest(architecture: "cgan", name: "k3", dataDirectory: directory.path)
        request.epochs = 3; request.batchSize = 32; request.discriminatorSteps = 3
        let trainer = Trainer(store: store)
        var stops = 0
        trainer.shouldStop = {
            stops += 1; return stops == 4
        }
        _ = try trainer.train(request)
        trainer.shouldStop = { false }
        _ = try trainer.resume("k3", epochs: nil, dataDirectory: directory.path, checkpointEvery: nil)
        let loaded = try store.load("k3", withOptimizer: true)
        XCTAssertEqual(loaded.position.globalStep, 9)
        XCTAssertEqual(loaded.position.optimizerSteps["discriminator"], 9)
        XCTAssertEqual(loaded.position.optimizerSteps["generator"], 3)
        XCTAssertEqual(loaded.hyperparameters.aids.discriminatorSteps, 3)
    }

    func testAidsAreValidated() throws {
        let store = try Fixtures.store(at: directory)
        let bad: [(inout TrainingRequest) -> Void] = [
            { $0.discriminatorSteps = 0 }, { $0.labelSmoothing = 0.6 }, { $0.labelSmoothing = -.infinity },
            { $0.instanceNoise = -1 }, { $0.emaDecay = 1 }, { $0.emaDecay = .nan },
        ]
        for (index, change) in bad.enumerated() {
            var request = TrainingRequest(architecture: "cgan", name: "bad\(index)", dataDirectory: directory.path)
            change(&request)
            XCTAssertThrowsError(try Trainer(store: store).train(request)) { error in
                guard case ZooError.invalidHyperparameter = error else { return XCTFail("\(index): \(error)") }
            }
            XCTAssertThrowsError(
                try store.sqlite.model(named: "bad\(index)"), "nothing is written for a refused request")
        }
        var classifier = TrainingRequest(architecture: "classifier", name: "c", dataDirectory: directory.path)
        classifier.emaDecay = 0.9
        XCTAssertThrowsError(try Trainer(store: store).train(classifier))
    }

    /// Aids read back from a file are checked before a resume uses them.
    func testResumeRefusesInvalidStoredAids() throws {
        let store = try Fixtures.store(at: directory)
        var request = TrainingRequest(architecture: "cgan", name: "tampered", dataDirectory: directory.path)
        request.epochs = 1; request.batchSize = 32
        _ = try Trainer(store: store).train(request)
        var h = try Hyperparameters.decode(
            json: try store.sqlite.model(named: "tampered").hyperparameters, model: "tampered")
        h.aids.labelSmoothing = 0.9
        try store.sqlite.updateHyperparameters("tampered", json: h.json())
        XCTAssertThrowsError(
            try Trainer(store: store).resume("tampered", epochs: 2, dataDirectory: directory.path, checkpointEvery: nil)
        ) { error in
            guard case ZooError.corruptModel = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("--label-smoothing"), "\(error)")
        }
    }

    /// The hostile-files audit's reproductions (issue: crafted imports): a stored batch size of
    /// −1, 0 or 10^12, a dropout of 5, and training positions that would index past a batch or
    /// loop forever are refused with a typed error that names the model, never run.
    func testResumeRefusesCraftedHyperparametersAndPositions() throws {
        let store = try Fixtures.store(at: directory)
        var request = TrainingRequest(architecture: "cgan", name: "crafted", dataDirectory: directory.path)
        request.epochs = 1; request.batchSize = 32
        _ = try Trainer(store: store).train(request)
        let original = try store.sqlite.model(named: "crafted").hyperparameters
        func refused(_ what: String, expecting text: String) {
            XCTAssertThrowsError(
                try Trainer(store: store).resume(
                    "crafted", epochs: 2, dataDirectory: directory.path, checkpointEvery: nil),
                what
            ) { error in
                guard case ZooError.corruptModel(let model, _) = error, model == "crafted" else {
                    return XCTFail("\(what): \(error)")
                }
                XCTAssertTrue("\(error)".contains(text), "\(what): \(error)")
            }
        }
        for (key, value) in [("batchSize", "-1"), ("batchSize", "0"), ("batchSize", "1000000000000")] {
            try store.sqlite.updateHyperparameters(
                "crafted", json: original.replacingOccurrences(of: "\"batchSize\":32", with: "\"\(key)\":\(value)"))
            refused("batchSize \(value)", expecting: "--batch-size")
        }
        var h = try Hyperparameters.decode(json: original, model: "crafted")
        h.extras["dropout"] = 5
        try store.sqlite.updateHyperparameters("crafted", json: h.json())
        refused("dropout 5", expecting: "dropout 5")
        XCTAssertThrowsError(try store.generate(model: "crafted", count: 2, seed: 0), "a load of any kind refuses it")
        try store.sqlite.updateHyperparameters("crafted", json: original)

        let latest = try store.sqlite.loadCheckpoint(model: "crafted")
        let good = try JSONDecoder().decode(TrainingPosition.self, from: latest.trainingPosition)
        var step = latest.step
        for (label, edit) in [
            (
                "step 1000 of 2000",
                { (p: inout TrainingPosition) in
                    p.stepInEpoch = 1000; p.stepsPerEpoch = 2000
                }
            ),
            ("step 50 past the epoch", { (p: inout TrainingPosition) in p.stepInEpoch = 50 }),
            ("no steps per epoch", { (p: inout TrainingPosition) in p.stepsPerEpoch = 0 }),
            ("a negative epoch", { (p: inout TrainingPosition) in p.epoch = -3 }),
        ] as [(String, (inout TrainingPosition) -> Void)] {
            var crafted = good
            edit(&crafted)
            step += 1
            var record = latest
            record.step = step
            record.trainingPosition = try JSONEncoder().encode(crafted)
            record.log = []
            try store.sqlite.saveCheckpoint(model: "crafted", record)
            refused(label, expecting: "training position is inconsistent")
        }
    }

    // MARK: Recipes

    /// `--recipe seed` gives the seeds' literal values (DESIGN.md), and the model says so.
    func testSeedRecipeReproducesTheSeedsHyperparameters() throws {
        let store = try Fixtures.store(at: directory)
        let seeds: [(String, Int, Int, Float, Float)] = [
            ("dense-gan", 256, 20, 1e-3, 0.9), ("cgan", 256, 20, 1e-3, 0.9), ("dcgan", 256, 50, 1e-4, 0.9),
        ]
        for (architecture, batch, epochs, lr, beta1) in seeds {
            let recipe = try builtinCatalog.lookup(architecture).descriptor.recipe(named: "seed")
            let h = recipe.hyperparameters
            XCTAssertEqual([h.batchSize, h.epochs], [batch, epochs], architecture)
            XCTAssertEqual(
                [h.learningRate(of: "generator"), h.learningRate(of: "discriminator"), h.beta1, h.beta2, h.epsilon],
                [lr, lr, beta1, 0.999, 1e-7], architecture)
            XCTAssertEqual(h.aids, TrainingAids(), "\(architecture): the seeds use no aid")
            XCTAssertEqual(h.recipe, "seed")

            var request = TrainingRequest(
                architecture: architecture, name: "\(architecture)-seed", dataDirectory: directory.path)
            request.recipe = "seed"; request.epochs = 1; request.batchSize = 32; request.limit = 32
            _ = try Trainer(store: store).train(request)
            var stored = try Hyperparameters.decode(
                json: try store.sqlite.model(named: "\(architecture)-seed").hyperparameters, model: "x")
            XCTAssertEqual(stored.recipe, "seed")
            stored.epochs = h.epochs; stored.batchSize = h.batchSize
            XCTAssertEqual(stored, h, "\(architecture): stored values are the recipe's but for the flags given")
        }
        XCTAssertThrowsError(try builtinCatalog.lookup("cgan").descriptor.recipe(named: "nope")) { error in
            XCTAssertTrue("\(error)".contains("default, seed"), "\(error)")
        }
        // Every architecture's first recipe is "default".
        for type in builtinCatalog.entries { XCTAssertEqual(type.descriptor.recipes.first?.name, "default") }
    }

    /// A model stored before aids and recipes existed reads back as it was trained.
    func testOldHyperparametersDecodeWithTheAidsOff() throws {
        let old =
            #"{"batchSize":128,"beta1":0.5,"beta2":0.999,"discriminatorLearningRate":0.0002,"epochs":30,"epsilon":1e-07,"extras":{"dropout":0.3},"generatorLearningRate":0.0002}"#
        let h = try Hyperparameters.decode(json: old, model: "old", networks: ["generator", "discriminator"])
        XCTAssertEqual(h.aids, TrainingAids())
        XCTAssertNil(h.recipe)
        XCTAssertEqual(h.learningRates, ["generator": 0.0002, "discriminator": 0.0002])
        XCTAssertEqual(
            h.json(),
            #"{"batchSize":128,"beta1":0.5,"beta2":0.999,"epochs":30,"epsilon":1e-07,"extras":{"dropout":0.3},"learningRates":{"discriminator":0.0002,"generator":0.0002}}"#,
            "re-encoding an old model's values writes the same values, the rates by network")
        XCTAssertEqual(try Hyperparameters.decode(json: h.json(), model: "again"), h)
    }

    /// Each network trains at its own rate, named by the network: the classifier's is its own
    /// (it used to borrow the generator's field), and an old classifier's JSON reads that way.
    func testLearningRatesArePerNetwork() throws {
        let classifierType = try builtinCatalog.lookup("classifier")
        XCTAssertEqual(classifierType.descriptor.trainedNetworks, ["classifier"])
        XCTAssertEqual(try builtinCatalog.lookup("dcgan").descriptor.trainedNetworks, ["generator", "discriminator"])
        var h = classifierType.descriptor.defaults
        h.learningRates["classifier"] = 0.005
        let classifier = try classifierType.init(hyperparameters: h, rng: RandomSource(seed: 1))
        XCTAssertEqual(classifier.optimizers.map(\.name), ["classifier"])
        XCTAssertEqual(classifier.optimizers.first?.optimizer.learningRate, 0.005)

        let oldClassifier =
            #"{"batchSize":128,"beta1":0.9,"beta2":0.999,"discriminatorLearningRate":0,"epochs":6,"epsilon":1e-07,"extras":{"dropout":0.4},"generatorLearningRate":0.001}"#
        let decoded = try Hyperparameters.decode(json: oldClassifier, model: "old", networks: ["classifier"])
        XCTAssertEqual(decoded.learningRates, ["classifier": 0.001])

        // Rates for other networks than the architecture trains are a damaged model.
        let missing =
            #"{"batchSize":128,"beta1":0.5,"beta2":0.999,"epochs":3,"epsilon":1e-07,"learningRates":{"generator":0.0002}}"#
        XCTAssertThrowsError(
            try Hyperparameters.decode(json: missing, model: "crafted", networks: ["generator", "discriminator"])
        ) { XCTAssertTrue("\($0)".contains("discriminator"), "\($0)") }

        // A training's overrides: one network by name, every network with "", an unknown one refused.
        let store = try Fixtures.store(at: directory)
        var request = TrainingRequest(architecture: "cgan", name: "rates", dataDirectory: directory.path)
        request.epochs = 1; request.batchSize = 32; request.limit = 32
        request.learningRates = ["": 3e-4, "discriminator": 1e-4]
        _ = try Trainer(store: store).train(request)
        let stored = try Hyperparameters.decode(
            json: try store.sqlite.model(named: "rates").hyperparameters, model: "rates")
        XCTAssertEqual(stored.learningRates, ["generator": 3e-4, "discriminator": 1e-4])
        request.name = "typo"; request.learningRates = ["generatr": 1e-4]
        XCTAssertThrowsError(try Trainer(store: store).train(request)) {
            XCTAssertTrue("\($0)".contains("no network 'generatr'"), "\($0)")
        }
        XCTAssertFalse(try store.contains(model: "typo"))
    }

    // MARK: Progress frames

    /// Publishing thins a long run's frames evenly, keeping the first and the last epoch.
    func testEvenlySpacedKeepsTheEndsAndSpreadsTheRest() {
        let epochs = Array(1...150)
        let kept = ModelStore.evenlySpaced(epochs, atMost: 50)
        XCTAssertEqual(kept.count, 50)
        XCTAssertEqual([kept.first, kept.last], [1, 150])
        XCTAssertEqual(Set(kept).count, 50)
        let gaps = zip(kept, kept.dropFirst()).map { $1 - $0 }
        XCTAssertEqual(Set(gaps), [3, 4], "\(gaps)")
        XCTAssertEqual(ModelStore.evenlySpaced(epochs, atMost: 2), [1, 150])
        XCTAssertEqual(ModelStore.evenlySpaced(Array(1...30), atMost: 50), Array(1...30))
        XCTAssertEqual(ModelStore.evenlySpaced(epochs, atMost: nil), epochs)
    }

    /// One frame per epoch, stored with the epoch's checkpoint; the GIF has one frame per
    /// epoch, each the stored PNG's pixels.
    func testOneProgressFramePerEpochAndTheGIFHasThemAll() throws {
        let store = try Fixtures.store(at: directory)
        for (architecture, grid) in [("cgan", (rows: 2, cols: 10)), ("dense-gan", (rows: 4, cols: 4))] {
            var request = TrainingRequest(
                architecture: architecture, name: "\(architecture)-frames", dataDirectory: directory.path)
            request.epochs = 3; request.batchSize = 32; request.checkpointEvery = 2
            _ = try Trainer(store: store).train(request)
            let frames = try store.progressFrames(of: "\(architecture)-frames")
            XCTAssertEqual(frames.map(\.epoch), [1, 2, 3])
            XCTAssertEqual(frames.map(\.step), [3, 6, 9])
            XCTAssertEqual(try store.progressFrameCount(of: "\(architecture)-frames"), 3)
            let decoded = try frames.map { try ImageGrid.decodePNG($0.png, what: "frame") }
            XCTAssertEqual(decoded[0].width, grid.cols * 28 + (grid.cols + 1) * 2)
            XCTAssertEqual(decoded[0].height, grid.rows * 28 + (grid.rows + 1) * 2)
            XCTAssertNotEqual(decoded[0].pixels, decoded[2].pixels, "the frames show training move")

            let gif = try GIFWriter.encode(
                decoded.map { GIFWriter.Frame(width: $0.width, height: $0.height, pixels: $0.pixels) })
            let read = try readGIF(gif)
            XCTAssertEqual(read.count, 3)
            XCTAssertEqual(read.map(\.pixels), decoded.map(\.pixels))
        }
        // The same fixed noise every epoch: a model's frame is redrawn identically from its checkpoint.
        let loaded = try store.load("cgan-frames", checkpoint: .epoch(3), networks: ["generator"])
        XCTAssertEqual(
            try ProgressFrames.render(loaded.architecture),
            try store.progressFrames(of: "cgan-frames", epoch: 3).first?.png)
    }

    /// --eval-every K scores the live model after every K-th epoch and the last (2,000
    /// samples, the epoch in the details, on that epoch's checkpoint); publishing keeps the
    /// frames and the curve.
    func testEvalEveryStoresACurveThatSurvivesPublishing() throws {
        let store = try Fixtures.store(at: directory)
        let trainer = Trainer(store: store)
        var judge = TrainingRequest(architecture: "classifier", name: "judge", dataDirectory: directory.path)
        judge.epochs = 1; judge.batchSize = 32
        _ = try trainer.train(judge)
        trainer.evaluator = try Evaluator(store: store, classifier: "judge", dataDirectory: directory.path)
        trainer.evaluateEvery = 2
        var seen: [Int] = []
        trainer.evaluated = { epoch, result in
            seen.append(epoch)
            XCTAssertEqual(try? result.get().samples, Trainer.evaluationSamples)
        }
        var request = TrainingRequest(architecture: "cgan", name: "curved", dataDirectory: directory.path)
        request.epochs = 3; request.batchSize = 32
        _ = try trainer.train(request)
        XCTAssertEqual(seen, [2, 3])

        let scores = try store.sqlite.metrics(of: "curved").filter { $0.name == "score" }
        XCTAssertEqual(scores.count, 2)
        let epochOf = Dictionary(
            try store.sqlite.checkpoints(of: "curved").map { ($0.id, $0.epoch) }, uniquingKeysWith: { a, _ in a })
        for (score, epoch) in zip(scores, [2, 3]) {
            XCTAssertEqual(score.sampleCount, 2_000)
            XCTAssertEqual(score.checkpointID.flatMap { epochOf[$0] }, epoch)
            let details = try XCTUnwrap(
                JSONSerialization.jsonObject(with: Data((score.details ?? "").utf8)) as? [String: Any])
            XCTAssertEqual(details["epoch"] as? Int, epoch)
        }

        let shipped = ModelStore(registry: try Registry.inMemory(), catalog: builtinCatalog)
        try store.publish("curved", to: shipped, float16: true)
        XCTAssertEqual(try shipped.progressFrames(of: "curved"), try store.progressFrames(of: "curved"))
        XCTAssertEqual(
            try shipped.metrics(of: "curved").filter { $0.name == "score" }.map(\.details), scores.map(\.details))
        // A score that fails (here an MNIST judge for a Fashion model) is reported; training goes on.
        var fashion = TrainingRequest(architecture: "cgan", name: "fashion-curve", dataDirectory: directory.path)
        fashion.dataset = .fashion; fashion.epochs = 2; fashion.batchSize = 32
        var failures: [String] = []
        trainer.evaluated = { _, result in if case let .failure(error) = result { failures.append("\(error)") } }
        XCTAssertFalse(try trainer.train(fashion).interrupted)
        XCTAssertEqual(failures.count, 1)
        XCTAssertTrue(failures.first?.contains("fashion-classifier") == true, "\(failures)")
        XCTAssertEqual(try store.sqlite.model(named: "fashion-curve").status, .ready)

        // Figures stored by an older zoo, without the epoch, get their checkpoint's on the way.
        XCTAssertEqual(ModelStore.details(#"{"seed":0}"#, epoch: 7), #"{"epoch":7,"seed":0}"#)
        XCTAssertEqual(ModelStore.details(#"{"epoch":2}"#, epoch: 7), #"{"epoch":2}"#)
        XCTAssertNil(ModelStore.details(nil, epoch: 7))
    }

    func testGIFWriterRefusesBadFrames() {
        XCTAssertThrowsError(try GIFWriter.encode([])) { XCTAssertEqual($0 as? GIFError, .noFrames) }
        let a = GIFWriter.Frame(width: 2, height: 2, pixels: [0, 1, 2, 3])
        let b = GIFWriter.Frame(width: 3, height: 2, pixels: [0, 1, 2, 3, 4, 5])
        XCTAssertThrowsError(try GIFWriter.encode([a, b])) { error in
            guard case GIFError.frameSize(index: 1, _, _, _)? = error as? GIFError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try GIFWriter.encode([GIFWriter.Frame(width: 2, height: 2, pixels: [1])]))
    }

    /// A damaged or hostile frame read from a registry is a readable error, not a crash.
    func testBadFramesAreRefused() throws {
        XCTAssertThrowsError(try ImageGrid.decodePNG(Data("not a png".utf8), what: "frame")) { error in
            guard case PNGError.unreadable = error else { return XCTFail("\(error)") }
        }
        let good = try ImageGrid.pngData(pixels: [UInt8](repeating: 9, count: 16), width: 4, height: 4)
        XCTAssertThrowsError(try ImageGrid.decodePNG(good.prefix(good.count - 20), what: "frame"), "truncated")
        // A header that claims 100000×100000 pixels is refused before anything is allocated.
        var huge = Array(good)
        for (offset, value) in [(16, UInt32(100_000)), (20, UInt32(100_000))] {
            for k in 0..<4 { huge[offset + k] = UInt8(value >> (24 - 8 * k) & 0xff) }
        }
        XCTAssertThrowsError(try ImageGrid.decodePNG(Data(huge), what: "frame"))

        let store = try Fixtures.store(at: directory)
        try store.register(try builtinCatalog.lookup("cgan"))
        try store.sqlite.createModel(name: "m", architecture: "cgan", dataset: "mnist", seed: 1)
        XCTAssertThrowsError(
            try store.sqlite.saveProgressFrame(model: "m", ProgressFrame(epoch: 0, step: 0, png: good)))
        XCTAssertThrowsError(
            try store.sqlite.saveProgressFrame(model: "m", ProgressFrame(epoch: 1, step: 0, png: Data())))
        XCTAssertThrowsError(
            try store.sqlite.saveProgressFrame(
                model: "m", ProgressFrame(epoch: 1, step: 0, png: Data(count: Registry.maximumFrameBytes + 1))))
        XCTAssertEqual(try store.progressFrameCount(of: "m"), 0)
    }

    /// Decodes a GIF with giflib's reader: frames as 8-bit palette indices (gray levels here).
    func readGIF(_ data: Data) throws -> [(width: Int, height: Int, pixels: [UInt8])] {
        final class Source { let bytes: [UInt8]; var offset = 0; init(_ d: Data) { bytes = Array(d) } }
        let source = Source(data)
        var error: Int32 = 0
        guard
            let gif = DGifOpen(
                Unmanaged.passUnretained(source).toOpaque(),
                { file, buffer, count in
                    guard let file, let buffer, let user = file.pointee.UserData else { return 0 }
                    let s = Unmanaged<Source>.fromOpaque(user).takeUnretainedValue()
                    let n = min(Int(count), s.bytes.count - s.offset)
                    for i in 0..<n { buffer[i] = s.bytes[s.offset + i] }
                    s.offset += n
                    return Int32(n)
                }, &error)
        else { throw GIFError.encodeFailed("DGifOpen \(error)") }
        defer { var e: Int32 = 0; _ = DGifCloseFile(gif, &e) }
        guard DGifSlurp(gif) == GIF_OK else { throw GIFError.encodeFailed("DGifSlurp \(gif.pointee.Error)") }
        return (0..<Int(gif.pointee.ImageCount)).map { i in
            let image = gif.pointee.SavedImages[i]
            let w = Int(image.ImageDesc.Width), h = Int(image.ImageDesc.Height)
            return (w, h, Array(UnsafeBufferPointer(start: image.RasterBits, count: w * h)))
        }
    }
}
