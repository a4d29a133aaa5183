import ZooRegistry

/// The architectures this build knows, looked up by name. (Metatypes are immutable, hence
/// @unchecked Sendable.)
public struct Catalog: @unchecked Sendable {
    public let entries: [any Architecture.Type]

    public init(_ entries: [any Architecture.Type]) {
        self.entries = entries
        var seen = Set<String>()
        for entry in entries {
            precondition(seen.insert(entry.descriptor.name).inserted, "duplicate plugin \(entry.descriptor.name)")
        }
    }

    public var names: [String] { entries.map { $0.descriptor.name } }

    public func lookup(_ name: String) throws -> any Architecture.Type {
        if let found = entries.first(where: { $0.descriptor.name == name }) { return found }
        throw ZooError.unknownArchitecture(
            name, suggestions: closestNames(to: name, in: names, limit: 2), available: names)
    }
}
