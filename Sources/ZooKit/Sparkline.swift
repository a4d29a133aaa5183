/// One-line charts (loss curves on cards and progress output).
public enum Sparkline {
    static let levels: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    /// Resamples `values` to `width` characters (bucket means when shrinking, linear
    /// interpolation when stretching) and maps min...max onto eight levels.
    /// Non-finite values (a diverged loss) are left out of the scale and shown as spaces.
    public static func render(_ values: [Double], width: Int) -> String {
        guard !values.isEmpty, width > 0 else { return "" }
        let samples = resample(values, to: width)
        let finite = samples.filter(\.isFinite)
        guard let lo = finite.min(), let hi = finite.max() else { return String(repeating: " ", count: width) }
        return String(
            samples.map { v -> Character in
                guard v.isFinite else { return " " }
                if hi == lo { return levels[levels.count / 2 - 1] }  // flat series: a middle bar
                let level = Int(((v - lo) / (hi - lo) * Double(levels.count - 1)).rounded())
                return levels[min(max(level, 0), levels.count - 1)]
            })
    }

    static func resample(_ values: [Double], to width: Int) -> [Double] {
        let n = values.count
        if n == width { return values }
        if n > width {
            return (0..<width).map { i in
                let bucket = values[(i * n / width)..<((i + 1) * n / width)]
                return bucket.reduce(0, +) / Double(bucket.count)
            }
        }
        if n == 1 { return Array(repeating: values[0], count: width) }
        return (0..<width).map { i in
            let t = Double(i) * Double(n - 1) / Double(width - 1)
            let k = min(Int(t), n - 2), f = t - Double(k)
            return values[k] * (1 - f) + values[k + 1] * f
        }
    }
}
