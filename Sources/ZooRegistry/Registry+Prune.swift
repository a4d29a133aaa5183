import Foundation

/// What pruning removed from one model.
public struct PruneReport: Sendable, Equatable {
    public var model: String
    /// Checkpoints deleted whole.
    public var checkpointsRemoved: Int
    /// Kept checkpoints whose auxiliary state ("#" networks: optimizer moments) was dropped.
    public var checkpointsThinned: Int
    /// Stored (compressed) bytes of the tensors removed.
    public var bytesRemoved: Int
    /// Checkpoints left.
    public var checkpointsKept: Int

    /// Memberwise, public for backends (`@_spi(Backend)`).
    @_spi(Backend) public init(
        model: String, checkpointsRemoved: Int, checkpointsThinned: Int, bytesRemoved: Int, checkpointsKept: Int
    ) {
        self.model = model; self.checkpointsRemoved = checkpointsRemoved; self.checkpointsThinned = checkpointsThinned;
        self.bytesRemoved = bytesRemoved; self.checkpointsKept = checkpointsKept
    }
}

extension Registry {
    /// Removes the checkpoints a model no longer needs, in one transaction. Kept whole: the
    /// newest `keepLatest` (by step; the latest is where a resume starts, the ones before it
    /// are spares). Kept as weights only (their "#" networks, the optimizer moments, dropped):
    /// final checkpoints and those a user alias points at, so `--checkpoint final`/an alias still
    /// draws. Everything else goes. Figures measured on a removed checkpoint stay, detached
    /// from it, with its epoch and step in their details (the --eval-every curve survives).
    /// `keepLatest` is at least 1: a model always keeps the checkpoint it resumes from.
    @discardableResult
    public func pruneCheckpoints(model name: String, keepLatest: Int) throws -> PruneReport {
        guard keepLatest >= 1 else {
            throw RegistryError.invalidArgument("keep at least 1 checkpoint (got \(keepLatest))")
        }
        return try db.transaction {
            let modelID = try modelID(named: name)
            let all = try db.query(
                "SELECT id, epoch, step, is_final FROM checkpoints WHERE model_id = ? ORDER BY step DESC",
                [.int(modelID)]
            ) { (id: $0.int64(0), epoch: $0.int(1), step: $0.int(2), isFinal: $0.int(3) != 0) }
            let userAliased = Set(
                try db.query(
                    "SELECT checkpoint_id FROM aliases WHERE model_id = ? AND alias <> 'latest'", [.int(modelID)]
                ) { $0.int64(0) })
            let latest = try db.first(
                "SELECT checkpoint_id FROM aliases WHERE model_id = ? AND alias = 'latest'", [.int(modelID)]
            ) { $0.int64(0) }
            let (weightsOnly, doomed) = PruneRule.split(
                all, keepLatest: keepLatest, latest: latest, userAliased: userAliased)

            var bytes = 0
            for checkpoint in doomed {
                bytes += try storedBytes(checkpoint: checkpoint.id, auxiliaryOnly: false)
                // The figure outlives its weights: it keeps where it was measured.
                try db.run(
                    """
                    UPDATE metrics SET checkpoint_id = NULL,
                        details = CASE WHEN details IS NULL OR json_type(details) = 'object'
                            THEN json_insert(COALESCE(details, '{}'), '$.epoch', ?, '$.step', ?)
                            ELSE details END
                    WHERE checkpoint_id = ?
                    """, [.int(checkpoint.epoch), .int(checkpoint.step), .int(checkpoint.id)])
                // Its tensors go with it (ON DELETE CASCADE).
                try db.run("DELETE FROM checkpoints WHERE id = ?", [.int(checkpoint.id)])
            }
            var thinned = 0
            for id in weightsOnly {
                let auxiliary = try storedBytes(checkpoint: id, auxiliaryOnly: true)
                guard auxiliary > 0 else { continue }
                bytes += auxiliary
                thinned += 1
                try db.run("DELETE FROM tensors WHERE checkpoint_id = ? AND instr(network, '#') > 0", [.int(id)])
            }
            return PruneReport(
                model: name, checkpointsRemoved: doomed.count, checkpointsThinned: thinned, bytesRemoved: bytes,
                checkpointsKept: all.count - doomed.count)
        }
    }

    private func storedBytes(checkpoint id: Int64, auxiliaryOnly: Bool) throws -> Int {
        try db.first(
            """
            SELECT COALESCE(SUM(length(blob)), 0) FROM tensors
            WHERE checkpoint_id = ? AND (? = 0 OR instr(network, '#') > 0)
            """, [.int(id), .int(auxiliaryOnly ? 1 : 0)]
        ) { $0.int(0) } ?? 0
    }

    /// The registry file's size and the part of it that is free pages (left by deleted
    /// checkpoints and reused by later ones until `compact` returns them).
    public func fileSpace() throws -> (bytes: Int, freeBytes: Int) {
        try db.read {
            let pageSize = Int(try db.scalarInt("PRAGMA page_size"))
            let pages = Int(try db.scalarInt("PRAGMA page_count"))
            let free = Int(try db.scalarInt("PRAGMA freelist_count"))
            return (pages * pageSize, free * pageSize)
        }
    }

    /// Returns free pages to the file system by rebuilding the file from its live pages
    /// (VACUUM): its time follows the data kept, not the space freed. (SQLite's incremental
    /// vacuum, which moves pages one by one, was tried: on a 4.0 GB export of a 50-epoch DCGAN
    /// pruned to 3 checkpoints it ran 40 minutes without finishing.) It holds the write lock
    /// while it runs and needs free disk space for the kept data: call it when no training
    /// writes this registry.
    public func compact() throws {
        try db.exec("VACUUM")
        // In WAL mode the file shrinks when the log is copied back into it.
        try db.exec("PRAGMA wal_checkpoint(TRUNCATE)")
    }
}

/// The rule `pruneCheckpoints` applies, the same for every backend.
@_spi(Backend) public enum PruneRule {
    public typealias Checkpoint = (id: Int64, epoch: Int, step: Int, isFinal: Bool)

    /// Splits a model's checkpoints (`all`, newest first) into those kept as weights only and
    /// those removed; the rest (the newest `keepLatest` and the one `latest` names) stay whole.
    public static func split(
        _ all: [Checkpoint], keepLatest: Int, latest: Int64?, userAliased: Set<Int64>
    ) -> (weightsOnly: Set<Int64>, doomed: [Checkpoint]) {
        var whole = Set(all.prefix(keepLatest).map(\.id))
        if let latest { whole.insert(latest) }
        let weightsOnly = Set(all.filter { $0.isFinal || userAliased.contains($0.id) }.map(\.id)).subtracting(whole)
        return (weightsOnly, all.filter { !whole.contains($0.id) && !weightsOnly.contains($0.id) })
    }
}
