import Foundation
import ZooRegistry

/// Terminal formatting helpers: tables, sizes, ages, JSON.
enum Format {
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
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%02d:%02d", t / 60, t % 60)
    }

    static func json(_ value: Any) -> String {
        guard JSONSerialization.isValidJSONObject(value),
              let data = try? JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    static func number(_ x: Double, digits: Int = 3) -> String {
        x.isFinite ? String(format: "%.\(digits)f", x) : "n/a"
    }
}

/// The JSON forms of registry records that several commands print.
enum ModelJSON {
    static func summary(_ m: ModelSummary) -> [String: Any] {
        var result: [String: Any] = [
            "name": m.name, "architecture": m.architecture, "dataset": m.dataset, "status": m.status.rawValue,
            "epochs": m.epochs, "steps": m.steps, "checkpoints": m.checkpointCount, "parameters": m.parameterCount,
            "storedBytes": m.storedBytes, "rawBytes": m.rawBytes, "metrics": m.metrics,
            "created": ISO8601DateFormatter().string(from: m.createdAt), "updated": ISO8601DateFormatter().string(from: m.updatedAt),
        ]
        if let d = m.description { result["description"] = d }
        return result
    }
}
