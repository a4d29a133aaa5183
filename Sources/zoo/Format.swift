import Foundation
import ZooKit
import ZooRegistry

/// Terminal formatting helpers: tables, sizes, ages, JSON.
enum Format {
    /// Text from a registry (someone else's file may hold any bytes) made safe for a terminal:
    /// control characters other than newline and tab, ESC included, are shown as \u{…}, so
    /// stored text cannot move the cursor, recolour or retitle the terminal.
    static func printable(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            let v = scalar.value
            if (v < 0x20 && v != 0x0A && v != 0x09) || (0x7F...0x9F).contains(v) {
                out += "\\u{\(String(v, radix: 16, uppercase: true))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func table(_ header: [String], _ rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }

    static func bytes(_ n: Int) -> String {
        let units = ["B", "KB", "MB", "GB"]
        var value = Double(n), unit = 0
        while value >= 1000, unit < units.count - 1 { value /= 1000; unit += 1 }
        return unit == 0 ? "\(n) B" : String(format: "%.1f %@", value, units[unit])
    }

    static func count(_ n: Int) -> String {
        let formatter = NumberFormatter()
        formatter.numberStyle = .decimal
        formatter.groupingSeparator = ","
        return formatter.string(from: NSNumber(value: n)) ?? "\(n)"
    }

    static func age(_ date: Date, now: Date = Date()) -> String {
        let s = max(0, now.timeIntervalSince(date))
        switch s {
        case ..<60: return "\(Int(s))s ago"
        case ..<3600: return "\(Int(s / 60))m ago"
        case ..<86400: return "\(Int(s / 3600))h ago"
        default: return "\(Int(s / 86400))d ago"
        }
    }

    static func duration(_ s: Double) -> String {
        guard s.isFinite else { return "--:--" }
        let t = Int(s.rounded())
        return t >= 3600
            ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60)
            : String(format: "%02d:%02d", t / 60, t % 60)
    }

    static func json(_ value: Any) -> String {
        guard JSONSerialization.isValidJSONObject(value),
            let data = try? JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys])
        else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    static func number(_ x: Double, digits: Int = 3) -> String {
        x.isFinite ? String(format: "%.\(digits)f", x) : "n/a"
    }
}

extension Format {
    /// One line of hyperparameters in words: the Adam settings, the extras and the aids in use.
    static func hyperparameters(_ h: Hyperparameters, gan: Bool) -> String {
        var parts = ["batch \(h.batchSize)", "epochs \(h.epochs)"]
        let rates = h.learningRatesInOrder
        if rates.count == 1, let only = rates.first {
            parts.append("Adam lr \(only.rate)")
        } else {
            let short = ["generator": "G", "discriminator": "D"]
            parts.append(
                "Adam " + rates.map { "lr \(short[$0.network] ?? $0.network) \($0.rate)" }.joined(separator: ", "))
        }
        parts.append("β1 \(h.beta1), β2 \(h.beta2), ε \(h.epsilon)")
        parts += h.extras.sorted { $0.key < $1.key }.map { "\($0.key) \(number($0.value, digits: 2))" }
        let a = h.aids
        if a.discriminatorSteps != 1 { parts.append("\(a.discriminatorSteps) D steps per G step") }
        if a.labelSmoothing > 0 { parts.append("label smoothing \(a.labelSmoothing)") }
        if a.instanceNoise > 0 {
            parts.append(
                "instance noise σ \(a.instanceNoise) → 0 over "
                    + (a.instanceNoiseEpochs > 0 ? "\(a.instanceNoiseEpochs) epochs" : "the run"))
        }
        if a.emaDecay > 0 { parts.append("generator EMA \(a.emaDecay)") }
        if !h.latentPrior.isGaussian { parts.append("noise: \(h.latentPrior.summary)") }
        return parts.joined(separator: ", ")
    }
}

/// The JSON forms of registry records that several commands print.
enum ModelJSON {
    static func summary(_ m: ModelSummary) -> [String: Any] {
        var result: [String: Any] = [
            "name": m.name, "architecture": m.architecture, "dataset": m.dataset, "status": m.status.rawValue,
            "epochs": m.epochs, "steps": m.steps, "checkpoints": m.checkpointCount, "parameters": m.parameterCount,
            "storedBytes": m.storedBytes, "rawBytes": m.rawBytes, "metrics": m.metrics,
            "created": ISO8601DateFormatter().string(from: m.createdAt),
            "updated": ISO8601DateFormatter().string(from: m.updatedAt),
        ]
        if let d = m.description { result["description"] = d }
        return result
    }
}
