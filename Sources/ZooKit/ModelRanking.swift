import ZooRegistry

/// The stored metrics `zoo list --sort` ranks the zoo by, each best first as in StudioGAN's
/// tables. Ranking happens on the listing's summaries, whose metrics are already each model's
/// latest stored value of that name, so no other query or registry method is needed.
public enum RankingMetric: String, CaseIterable, Sendable {
    case score
    case fd
    case requestedAccuracy = "requested_accuracy"

    /// Fréchet distance is a distance (lower is better); the others are scores.
    public var higherIsBetter: Bool { self != .fd }

    /// The model's latest stored value, if it has a usable one.
    public func value(of model: ModelSummary) -> Double? {
        model.metrics[rawValue].flatMap { $0.isFinite ? $0 : nil }
    }

    /// Best first; equal values, and the models without the metric (placed last), by name.
    public func rank(_ models: [ModelSummary]) -> [ModelSummary] {
        models.sorted { a, b in
            switch (value(of: a), value(of: b)) {
            case let (x?, y?) where x != y: return higherIsBetter ? x > y : x < y
            case (.some, nil): return true
            case (nil, .some): return false
            default: return a.name < b.name
            }
        }
    }
}
