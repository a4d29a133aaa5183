/// Errors of the plugin layer, the trainer and generation. Each message says what to do.
public enum ZooError: Error, CustomStringConvertible, Equatable {
    case unknownArchitecture(String, suggestions: [String], available: [String])
    case notConditional(model: String)
    case digitOutOfRange(Int, classes: Int)
    case countOutOfRange(Int, limit: Int)
    case samplesOutOfRange(Int, range: ClosedRange<Int>)
    case notAGenerator(model: String, architecture: String)
    case notAClassifier(model: String, architecture: String)
    case corruptModel(String, String)
    case datasetTooSmall(count: Int, batchSize: Int)
    case invalidHyperparameter(String)
    case alreadyTrained(model: String, epochs: Int)
    case unknownRecipe(String, architecture: String, available: [String])
    case noProgressFrames(model: String)
    case averageOnly(model: String)
    case notFinished(model: String, status: String)
    case wrongEvaluator(
        model: String, dataset: String, classifier: String, classifierDataset: String, suggestion: String)
    case noProgressFrame(model: String, epoch: Int, available: String)
    /// Tensors from a file (safetensors) that do not fit the architecture: each problem names one.
    case tensorsDoNotFit(source: String, architecture: String, problems: [String])
    case invalidNoise(String)

    public var description: String {
        switch self {
        case let .unknownArchitecture(name, suggestions, available):
            let hint = suggestions.isEmpty ? "" : " Did you mean \(suggestions.joined(separator: " or "))?"
            return
                "unknown architecture '\(name)'.\(hint) Available: \(available.joined(separator: ", ")) (see `zoo architectures`)."
        case let .notFinished(model, status):
            return "model \"\(model)\" is \(status), not finished: only a ready model can be published; "
                + "let its training end (or `zoo resume \(model)`) and publish it then"
        case let .notConditional(model):
            return
                "model '\(model)' is not conditional, so it cannot draw a chosen digit; drop --digit, or use a conditional model such as cdcgan-mnist."
        case let .digitOutOfRange(digit, classes):
            return "--digit \(digit) is out of range: use 0...\(classes - 1)."
        case let .samplesOutOfRange(samples, range):
            return "--samples \(samples) is out of range: use \(range.lowerBound)...\(range.upperBound)."
        case let .countOutOfRange(count, limit):
            return "--count \(count) is out of range: use 1...\(limit)."
        case let .notAGenerator(model, architecture):
            return
                "model '\(model)' is a \(architecture) (a classifier), it does not generate images; use `zoo evaluate --classifier \(model)` instead."
        case let .notAClassifier(model, architecture):
            return
                "model '\(model)' (\(architecture)) is not a classifier; pass a model trained with `zoo train classifier`."
        case let .corruptModel(model, detail):
            return "model '\(model)' cannot be loaded: \(detail). Run `zoo verify \(model)`."
        case let .datasetTooSmall(count, batchSize):
            return "the dataset has \(count) images, fewer than one batch of \(batchSize); lower --batch-size."
        case let .invalidHyperparameter(detail):
            return "invalid hyperparameter: \(detail)."
        case let .alreadyTrained(model, epochs):
            return "model '\(model)' already has \(epochs) epochs; pass --epochs N with N > \(epochs) to train further."
        case let .wrongEvaluator(model, dataset, classifier, classifierDataset, suggestion):
            return
                "model '\(model)' was trained on \(dataset) but '\(classifier)' is a \(classifierDataset) classifier; evaluate it with --classifier \(suggestion)."
        case let .averageOnly(model):
            return
                "model '\(model)' was published with its generator's moving average only, so --no-ema has no trained weights to draw from; drop --no-ema (or train the architecture yourself to compare both)."
        case let .noProgressFrames(model):
            return
                "model '\(model)' has no progress frames: it was trained before zoo stored them; train a new one, or `zoo resume` it to add frames for the epochs to come."
        case let .noProgressFrame(model, epoch, available):
            return "model '\(model)' has no progress frame for epoch \(epoch); it has epochs \(available)."
        case let .unknownRecipe(name, architecture, available):
            return
                "\(architecture) has no recipe '\(name)'; use one of \(available.joined(separator: ", ")) (listed by `zoo architectures`)."
        case let .invalidNoise(why):
            return
                "the --noise array cannot be used: \(why). Save a float32 array of shape [count, latent] with numpy.save."
        case let .tensorsDoNotFit(source, architecture, problems):
            let shown = problems.prefix(8).joined(separator: "; ")
            let more = problems.count > 8 ? "; and \(problems.count - 8) more" : ""
            return
                "\(source) does not fit \(architecture): \(shown)\(more). Tensor names are NETWORK.PATH as `zoo export --format safetensors` writes them (tools/interop maps PyTorch's)."
        }
    }
}

public extension ZooError {
    /// Mistakes in what was asked (a flag's value, a name), as opposed to failures while doing
    /// it: the CLI exits 2 for these, as for its own usage errors.
    var isUsageError: Bool {
        switch self {
        case .unknownArchitecture, .notConditional, .digitOutOfRange, .countOutOfRange, .samplesOutOfRange,
            .notAGenerator,
            .notAClassifier, .invalidHyperparameter, .alreadyTrained, .unknownRecipe, .wrongEvaluator, .averageOnly,
            .invalidNoise:
            return true
        case .corruptModel, .datasetTooSmall, .noProgressFrames, .noProgressFrame, .notFinished, .tensorsDoNotFit:
            return false
        }
    }
}
