import Foundation
import ZooKit
import ZooRegistry

/// Generators loaded once and kept, least recently used first out, within a byte budget.
///
/// An entry is keyed by model, checkpoint and the model's `updated` time: saving a checkpoint
/// moves that time, so a model still training is reloaded on its next request and never drawn
/// from stale weights. A generator's layers keep their activations between calls, so one
/// instance serves one draw at a time: `checkOut` takes it out of the cache and `checkIn`
/// puts it back; a second request for the same model meanwhile loads its own copy.
final class GeneratorCache: @unchecked Sendable {
    struct Key: Hashable {
        let model: String
        let checkpoint: String
        let updated: Date
    }

    /// A loaded generator, handed between threads only through the lock.
    final class Entry: @unchecked Sendable {
        let loaded: ModelStore.Loaded
        let bytes: Int
        var lastUse: UInt64 = 0

        init(_ loaded: ModelStore.Loaded) {
            self.loaded = loaded
            // Parameters as float32, twice over for the activations and buffers a draw keeps.
            let parameters = loaded.architecture.networks.reduce(0) { $0 + $1.network.totalCount }
            bytes = 2 * 4 * parameters
        }
    }

    let budget: Int
    private let lock = NSLock()
    private var entries: [Key: Entry] = [:]
    private var clock: UInt64 = 0
    private(set) var hits = 0
    private(set) var loads = 0

    init(budget: Int) { self.budget = budget }

    var storedBytes: Int { lock.withLock { entries.values.reduce(0) { $0 + $1.bytes } } }

    func checkOut(_ key: Key) -> Entry? {
        lock.withLock {
            guard let entry = entries.removeValue(forKey: key) else {
                loads += 1
                return nil
            }
            hits += 1
            return entry
        }
    }

    /// Keeps `entry` for the next request, dropping older checkpoints of the same model and
    /// the least recently used entries until the cache fits its budget.
    func checkIn(_ key: Key, _ entry: Entry) {
        guard entry.bytes <= budget else { return }
        lock.withLock {
            clock += 1
            entry.lastUse = clock
            for other in entries.keys where other.model == key.model && other.updated < key.updated {
                entries.removeValue(forKey: other)
            }
            entries[key] = entry
            var total = entries.values.reduce(0) { $0 + $1.bytes }
            while total > budget, let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
                entries.removeValue(forKey: oldest.key)
                total -= oldest.value.bytes
            }
        }
    }
}
