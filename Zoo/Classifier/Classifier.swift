import ZooEngine
import ZooKit

/// The zoo's evaluator: a small CNN whose probabilities and 128-d penultimate features
/// feed the MNIST score and the Fréchet distance. Stride-2 convolutions stand in for
/// pooling (the engine has no pooling layer).
public final class Classifier: ImageClassifying {
    public static let descriptor = ArchitectureDescriptor(
        name: "classifier", title: "MNIST classifier (evaluator)",
        summary: "Two 5×5 stride-2 convolutions + dropout + two dense layers; its features score generated digits.",
        reference: "LeNet-style CNN (LeCun et al. 1998)",
        kind: .classifier, conditional: false, latentSize: 0,
        recipes: [
            Recipe(
                Recipe.defaultName, "Adam 1e-3, batch 128, 6 epochs (99 % on the MNIST test set)",
                Hyperparameters(
                    batchSize: 128, epochs: 6, learningRates: ["classifier": 1e-3],
                    extras: ["dropout": 0.4]))
        ],
        hyperparameterHelp: [
            ("batchSize", "images per step"), ("epochs", "passes over the training set"),
            ("learningRates", "Adam learning rate of the classifier (--lr RATE)"),
            ("dropout", "dropout rate before each dense layer"),
        ],
        stepMetricNames: ["loss", "accuracy"])

    public static let featureCount = 128

    /// x: [N, 1, 28, 28] → features [N, 128]
    let trunk: Sequential
    /// features → logits [N, 10]
    let head: Sequential
    let network: Sequential
    let optimizer: Adam
    private let probabilities = Tensor(shape: [0])
    private let dLogits = Tensor(shape: [0])

    public init(hyperparameters h: Hyperparameters, rng: RandomSource) {
        let dropout = Float(h.extras["dropout"] ?? 0.4)
        let conv1 = Conv2D(inChannels: 1, outChannels: 32, kernel: 5, stride: 2, rng: rng)
        let conv2 = Conv2D(inChannels: 32, outChannels: 64, kernel: 5, stride: 2, rng: rng)
        let dense1 = Dense(inputs: 64 * 7 * 7, outputs: Self.featureCount, rng: rng)
        let logits = Dense(inputs: Self.featureCount, outputs: 10, rng: rng)
        let drop1 = Dropout(rate: dropout, rng: rng), drop2 = Dropout(rate: dropout, rng: rng)
        let relu1 = ReLU(), relu2 = ReLU(), relu3 = ReLU(), flatten = Flatten()
        // One network for training; the same layer objects split in two for feature extraction.
        network = Sequential([
            ("conv1", conv1), ("relu1", relu1), ("conv2", conv2), ("relu2", relu2),
            ("flatten", flatten), ("drop1", drop1), ("dense1", dense1), ("relu3", relu3),
            ("drop2", drop2), ("logits", logits),
        ])
        trunk = Sequential([
            ("conv1", conv1), ("relu1", relu1), ("conv2", conv2), ("relu2", relu2),
            ("flatten", flatten), ("dense1", dense1), ("relu3", relu3),
        ])
        head = Sequential([("logits", logits)])
        optimizer = Adam(
            parameters: network.trainableParameters, learningRate: h.learningRate(of: "classifier"),
            beta1: h.beta1, beta2: h.beta2, epsilon: h.epsilon)
    }

    public var networks: [(name: String, network: Sequential)] { [("classifier", network)] }
    public func inputShape(of network: String) -> [Int]? { network == "classifier" ? Self.descriptor.imageShape : nil }
    public var optimizers: [(name: String, optimizer: Adam)] { [("classifier", optimizer)] }

    /// Returns (cross-entropy loss, batch accuracy).
    public func trainStep(_ batch: Batch, rng: RandomSource) -> StepResult {
        let logits = network.forward(batch.images, training: true)
        let loss = CategoricalCrossEntropy.fromLogits(logits, labels: batch.labels, grad: dLogits)
        var correct = 0
        let classes = logits.perSample
        for i in 0..<logits.batch {
            var best = 0
            for c in 1..<classes where logits.data[i * classes + c] > logits.data[i * classes + best] { best = c }
            if best == batch.labels[i] { correct += 1 }
        }
        network.backward(dLogits, needs: .parameters)
        optimizer.step()
        return StepResult([
            StepMetric("loss", Double(loss)), StepMetric("accuracy", Double(correct) / Double(logits.batch)),
        ])
    }

    public func classify(_ images: Tensor) -> (probabilities: Tensor, features: Tensor) {
        let features = trunk.forward(images, training: false)
        let logits = head.forward(features, training: false)
        softmax(logits, into: probabilities)
        return (probabilities, features)
    }
}
