import ZooEngine

/// Where a generator's noise comes from.
///
/// The seeds draw z ~ N(0, I). That latent space is connected, so a generator that maps it
/// onto ten separate digit shapes must pass through images between two digits somewhere, and a
/// share of its samples land there (the score's gap for unconditional models, RESULTS.md). A
/// mixture of K Gaussians N(s·e_c, I), c uniform in 0..<K, e_c the c-th unit vector, gives G
/// K regions with (almost) no mass between them to put those transitions in; nothing tells G
/// which region is which digit (Ben-Yosef & Weinshall 2018, "Gaussian Mixture GANs"; Khayatkhoei
/// et al. 2018 on disconnected manifolds).
public struct LatentPrior: Codable, Equatable, Sendable {
    /// K; 0 is the seeds' N(0, I).
    public var components: Int
    /// s, the distance of each component's mean from the origin along its own axis.
    public var scale: Float

    public init(components: Int, scale: Float) {
        self.components = components; self.scale = scale
    }

    public static let gaussian = LatentPrior(components: 0, scale: 0)
    /// The scale `--latent-mixture` uses when none is given: means 4√2 ≈ 5.7 σ apart.
    public static let defaultScale: Float = 4

    public var isGaussian: Bool { components == 0 }

    /// Fills noise: [N, latent] with draws from the prior. The Gaussian part is drawn first and
    /// exactly as `fillNormal` draws it, so a Gaussian prior leaves every seeded run unchanged.
    public func fill(_ noise: Tensor, rng: RandomSource) {
        rng.fillNormal(noise)
        guard !isGaussian, noise.shape.count == 2 else { return }
        let columns = noise.shape[1]
        // A stored prior wider than the latent (someone else's file) is clamped, never an
        // index past the row: `validate(latentSize:)` refuses it where a run starts.
        let k = min(components, columns)
        guard k > 0 else { return }
        for row in 0..<noise.shape[0] {
            noise.data[row * columns + rng.int(below: k)] += scale
        }
    }

    /// Checks the values against their meaning; names the flag to change.
    public func validate(latentSize: Int? = nil) throws {
        guard components == 0 || (2...1024).contains(components) else {
            throw ZooError.invalidHyperparameter(
                "--latent-mixture \(components) must be 0 (the seeds' N(0, I)) or in 2...1024")
        }
        if let latentSize, components > latentSize {
            throw ZooError.invalidHyperparameter(
                "--latent-mixture \(components) needs a component per latent axis, and the latent has \(latentSize)")
        }
        guard scale.isFinite, isGaussian ? scale == 0 : (scale > 0 && scale <= 100) else {
            throw ZooError.invalidHyperparameter(
                isGaussian
                    ? "--latent-mixture-scale \(scale) needs --latent-mixture K (a scale without components means nothing)"
                    : "--latent-mixture-scale \(scale) must be in (0, 100]")
        }
    }

    /// "N(0, I)" or "10 Gaussians N(4·e_c, I)".
    public var summary: String {
        isGaussian ? "N(0, I)" : "mixture of \(components) Gaussians N(\(Self.number(scale))·e_c, I)"
    }

    static func number(_ value: Float) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
