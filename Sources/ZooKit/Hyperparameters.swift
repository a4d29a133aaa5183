import Foundation

/// The knobs a training run is made with; stored as JSON with each model.
public struct Hyperparameters: Codable, Equatable, Sendable {
    public var batchSize: Int
    public var epochs: Int
    public var generatorLearningRate: Float
    public var discriminatorLearningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    /// Plugin-specific extras (e.g. dropout rate), by name.
    public var extras: [String: Double]

    public init(batchSize: Int = 256, epochs: Int, generatorLearningRate: Float, discriminatorLearningRate: Float,
                beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-7, extras: [String: Double] = [:]) {
        self.batchSize = batchSize; self.epochs = epochs
        self.generatorLearningRate = generatorLearningRate
        self.discriminatorLearningRate = discriminatorLearningRate
        self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon; self.extras = extras
    }

    public static let standardHelp: [(name: String, meaning: String)] = [
        ("batchSize", "images per training step"),
        ("epochs", "passes over the training set"),
        ("generatorLearningRate", "Adam learning rate of the generator (classifier: its only rate)"),
        ("discriminatorLearningRate", "Adam learning rate of the discriminator"),
        ("beta1, beta2, epsilon", "Adam moment decay rates and epsilon (Keras defaults)"),
    ]

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(self), let text = String(data: data, encoding: .utf8) else { return "{}" }
        return text
    }

    public static func decode(json: String, model: String) throws -> Hyperparameters {
        do {
            return try JSONDecoder().decode(Hyperparameters.self, from: Data(json.utf8))
        } catch {
            throw ZooError.corruptModel(model, "its hyperparameters JSON does not parse (\(error))")
        }
    }
}
