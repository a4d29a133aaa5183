import Foundation
import PostgresNIO
@_spi(Backend) import ZooRegistry

/// Pruning, space, verification: the SQLite registry's (Registry+Prune/Verify) in
/// PostgreSQL's dialect.
extension PostgresRegistry {
    /// See `Registry.pruneCheckpoints`: the same rule, in one transaction.
    @discardableResult
    public func pruneCheckpoints(model name: String, keepLatest: Int) throws -> PruneReport {
        guard keepLatest >= 1 else {
            throw RegistryError.invalidArgument("keep at least 1 checkpoint (got \(keepLatest))")
        }
        return try atomically {
            let modelID = try modelID(named: name)
            let all = try rows(
                "SELECT id, epoch, step, is_final FROM checkpoints WHERE model_id = $1 ORDER BY step DESC",
                [.int(modelID)]
            ) { (id: try $0.int64(0), epoch: try $0.int(1), step: try $0.int(2), isFinal: try $0.bool(3)) }
            let userAliased = Set(
                try rows(
                    "SELECT checkpoint_id FROM aliases WHERE model_id = $1 AND alias <> 'latest'", [.int(modelID)]
                ) { try $0.int64(0) })
            let latest = try first(
                "SELECT checkpoint_id FROM aliases WHERE model_id = $1 AND alias = 'latest'", [.int(modelID)]
            ) { try $0.int64(0) }
            let (weightsOnly, doomed) = PruneRule.split(
                all, keepLatest: keepLatest, latest: latest, userAliased: userAliased)
            var bytes = 0
            for checkpoint in doomed {
                bytes += try storedBytes(checkpoint: checkpoint.id, auxiliaryOnly: false)
                // The figure outlives its weights: it keeps where it was measured (details as
                // text, so an object gains epoch and step as SQLite's json_insert adds them).
                try query(
                    """
                    UPDATE metrics SET checkpoint_id = NULL,
                        details = CASE WHEN details IS NULL OR json_typeof(details::json) = 'object'
                            THEN (jsonb_build_object('epoch', $1::bigint, 'step', $2::bigint)
                                  || coalesce(details, '{}')::jsonb)::text
                            ELSE details END
                    WHERE checkpoint_id = $3
                    """, [.int(checkpoint.epoch), .int(checkpoint.step), .int(checkpoint.id)])
                try query("DELETE FROM checkpoints WHERE id = $1", [.int(checkpoint.id)])
            }
            var thinned = 0
            for id in weightsOnly {
                let auxiliary = try storedBytes(checkpoint: id, auxiliaryOnly: true)
                guard auxiliary > 0 else { continue }
                bytes += auxiliary
                thinned += 1
                try query("DELETE FROM tensors WHERE checkpoint_id = $1 AND strpos(network, '#') > 0", [.int(id)])
            }
            return PruneReport(
                model: name, checkpointsRemoved: doomed.count, checkpointsThinned: thinned, bytesRemoved: bytes,
                checkpointsKept: all.count - doomed.count)
        }
    }

    private func storedBytes(checkpoint id: Int64, auxiliaryOnly: Bool) throws -> Int {
        Int(
            try scalar(
                """
                SELECT coalesce(sum(octet_length(blob)), 0)::bigint FROM tensors
                WHERE checkpoint_id = $1 AND ($2::bigint = 0 OR strpos(network, '#') > 0)
                """, [.int(id), .int(auxiliaryOnly ? 1 : 0)]))
    }

    /// The database's size, and the part of its tables the server counts as dead rows' space
    /// (left by deleted checkpoints; autovacuum makes it reusable, `compact` returns it).
    public func fileSpace() throws -> (bytes: Int, freeBytes: Int) {
        try atomically {
            let total = try scalar("SELECT pg_database_size(current_database())")
            let dead = try scalar(
                """
                SELECT coalesce(sum(pg_total_relation_size(relid) * n_dead_tup / greatest(n_live_tup + n_dead_tup, 1)), 0)::bigint
                FROM pg_stat_user_tables
                """)
            return (Int(total), Int(dead))
        }
    }

    /// VACUUM FULL of the zoo's tables (outside a transaction, as the server requires): returns
    /// dead rows' space to the file system; it locks each table while it rewrites it.
    public func compact() throws {
        try atomically {}  // reconnects first if the connection was lost
        lock.lock()
        defer { lock.unlock() }
        for table in ["tensors", "checkpoints", "progress_frames", "training_log", "metrics", "aliases", "models"] {
            do { try session.query("VACUUM FULL \(table)") } catch let error as ServerError {
                throw PostgresRegistryError.server(
                    location: url.location, state: error.state, message: error.message, sql: error.sql)
            }
        }
    }

    /// Decodes every tensor of one model, or of all, against its checksum, one checkpoint's
    /// blobs at a time; bad data is reported, not thrown. (The server keeps its own pages'
    /// integrity; the foreign keys are enforced.)
    public func verify(model name: String?) throws -> VerifyReport {
        try atomically {
            let filter: PGValue = try name.map { .int(try modelID(named: $0)) } ?? .null
            var report = VerifyReport(modelsChecked: 0, checkpointsChecked: 0, tensorsChecked: 0, problems: [])
            report.modelsChecked = Int(
                try scalar("SELECT count(*) FROM models WHERE $1::bigint IS NULL OR id = $1", [filter]))
            let checkpoints = try rows(
                """
                SELECT c.id, m.name, c.epoch, c.step FROM checkpoints c JOIN models m ON m.id = c.model_id
                WHERE $1::bigint IS NULL OR m.id = $1 ORDER BY m.name COLLATE "C", c.step
                """, [filter]
            ) { (id: try $0.int64(0), model: try $0.text(1), epoch: try $0.int(2), step: try $0.int(3)) }
            report.checkpointsChecked = checkpoints.count
            for checkpoint in checkpoints {
                report.problems += try tensorProblems(
                    checkpoint: checkpoint.id,
                    at: .init(model: checkpoint.model, epoch: checkpoint.epoch, step: checkpoint.step),
                    checked: &report.tensorsChecked)
            }
            return report
        }
    }

    /// Each tensor of one checkpoint decoded against its checksum: one line per failure.
    func tensorProblems(checkpoint id: Int64, at position: CheckpointCodec.Position, checked: inout Int) throws
        -> [String]
    {
        let heads = try rows(
            """
            SELECT id, network, path, shape, dtype, codec, raw_bytes, sha256, octet_length(blob)
            FROM tensors WHERE checkpoint_id = $1 ORDER BY id
            """, [.int(id)]
        ) { s in
            (
                row: CheckpointCodec.StoredTensor(
                    id: try s.int64(0), network: try s.text(1), path: try s.text(2), shape: try s.text(3),
                    dtype: try s.text(4), codec: try s.text(5), rawBytes: try s.int(6), sha256: try s.text(7)),
                size: try s.int(8)
            )
        }
        var problems: [String] = []
        for (row, size) in heads {
            checked += 1
            do { try CheckpointCodec.checkSizes(row, blobSize: size, at: position) } catch {
                problems.append("\(error)")
                continue
            }
            let blob = try first("SELECT blob FROM tensors WHERE id = $1", [.int(row.id)]) { try $0.bytes(0) }
            if let problem = CheckpointCodec.problem(row, blob: blob ?? Data(), at: position) {
                problems.append(problem)
            }
        }
        return problems
    }
}
