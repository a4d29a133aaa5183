/// Model names double as CLI arguments and file names, so they are kept to a
/// small, shell-safe alphabet.
public enum ModelName {
    public static let rule =
        "names are 1 to 64 characters: lowercase letters, digits, '.', '_' or '-', starting with a letter or digit (e.g. dcgan-mnist-2)"

    public static func validate(_ name: String) throws {
        let bytes = Array(name.utf8)
        func lowerOrDigit(_ b: UInt8) -> Bool { (b >= 97 && b <= 122) || (b >= 48 && b <= 57) }
        guard let first = bytes.first, bytes.count <= 64, lowerOrDigit(first),
            bytes.allSatisfy({ lowerOrDigit($0) || $0 == 46 || $0 == 95 || $0 == 45 })
        else { throw RegistryError.invalidModelName(name, rule: rule) }
    }
}

/// The closest candidates by edit distance, for "did you mean" hints (model names, architectures):
/// within a third of the name's length (at least 2 edits), or a prefix either way; nearest first.
public func closestNames(to name: String, in candidates: [String], limit: Int = 3) -> [String] {
    let threshold = max(2, name.count / 3)
    let lowered = name.lowercased()
    return
        candidates
        .map { (name: $0, distance: editDistance(lowered, $0.lowercased())) }
        .filter { $0.distance <= threshold || $0.name.hasPrefix(lowered) || lowered.hasPrefix($0.name) }
        .sorted { ($0.distance, $0.name) < ($1.distance, $1.name) }
        .prefix(limit).map(\.name)
}

/// Levenshtein distance over Characters.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = previous
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
