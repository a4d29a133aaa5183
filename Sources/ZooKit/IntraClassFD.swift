import Foundation

/// Per-class Fréchet distance (intra-FID's idea on the zoo classifier's features): a
/// conditional generator can match the overall feature distribution while drawing the wrong
/// thing for a class, which only a class-by-class comparison shows.
extension EvaluationMath {
    /// One Gaussian per class: the mean and covariance of the feature rows carrying that label.
    public struct ClassGaussians {
        /// Rows per class (labels outside 0..<classes are not counted).
        public let counts: [Int]
        /// nil where a class has fewer than 2 rows (no covariance) or a non-finite feature.
        public let statistics: [(mean: [Double], covariance: [Double])?]

        /// features: [N, dimension] row-major; labels: N class indices.
        public init(features: [Double], labels: [Int], dimension: Int, classes: Int) {
            var rows = [[Double]](repeating: [], count: classes)
            var counts = [Int](repeating: 0, count: classes)
            let n = dimension > 0 ? min(labels.count, features.count / dimension) : 0
            for i in 0..<n where (0..<classes).contains(labels[i]) {
                rows[labels[i]].append(contentsOf: features[(i * dimension)..<((i + 1) * dimension)])
                counts[labels[i]] += 1
            }
            self.counts = counts
            // Non-finite features (a diverged generator) never reach LAPACK.
            statistics = rows.map { r in
                r.allSatisfy(\.isFinite) ? try? EvaluationMath.meanAndCovariance(r, dimension: dimension) : nil
            }
        }
    }

    /// The per-class distances of one evaluation, with why any class has none.
    public struct ClassFrechetDistances: Equatable {
        /// One entry per class; nil where the class was skipped (see `notes`).
        public var distances: [Double?]
        /// One line per skipped class, for the user.
        public var notes: [String]
        /// Mean over the classes that have a distance; nil when none has.
        public var mean: Double? {
            let present = distances.compactMap { $0 }
            return present.isEmpty ? nil : present.reduce(0, +) / Double(present.count)
        }
    }

    /// FD between `generated` and `reference` class by class. A class is skipped, with a
    /// note, rather than given NaN: too few rows on either side for a covariance, or
    /// statistics the eigen-solver cannot use (non-finite features).
    public static func classFrechetDistances(generated: ClassGaussians, reference: ClassGaussians)
        -> ClassFrechetDistances
    {
        let classes = min(generated.counts.count, reference.counts.count)
        var result = ClassFrechetDistances(distances: [Double?](repeating: nil, count: classes), notes: [])
        for c in 0..<classes {
            guard generated.counts[c] >= 2, reference.counts[c] >= 2 else {
                result.notes.append(
                    "class \(c) skipped: \(generated.counts[c]) generated and \(reference.counts[c]) reference "
                        + "images; at least 2 of each are needed")
                continue
            }
            guard let g = generated.statistics[c], let r = reference.statistics[c],
                let fd = try? frechetDistance(
                    mean1: g.mean, covariance1: g.covariance, mean2: r.mean, covariance2: r.covariance),
                fd.isFinite
            else {
                result.notes.append("class \(c) skipped: its features give no finite Fréchet distance")
                continue
            }
            result.distances[c] = fd
        }
        return result
    }
}
