import Foundation

extension Registry {
    /// Checks the file (SQLite integrity and foreign keys) and decodes every
    /// tensor of one model, or of all models, against its checksum. Bad data
    /// is reported, not thrown, so one broken tensor does not hide the others.
    public func verify(model name: String? = nil) throws -> VerifyReport {
        var report = VerifyReport(modelsChecked: 0, checkpointsChecked: 0, tensorsChecked: 0, problems: [])
        return try db.read {
            do {
                for line in try db.query("PRAGMA integrity_check", [], { $0.text(0) }) where line != "ok" {
                    report.problems.append("integrity: \(line)")
                }
                for row in try db.query(
                    "PRAGMA foreign_key_check", [], { "\($0.text(0)) row \($0.int64(1)) -> \($0.text(2))" })
                {
                    report.problems.append("dangling reference: \(row)")
                }
            } catch let error as RegistryError {
                if case .corruptFile = error { report.problems.append(error.description); return report }
                throw error
            }
            let modelFilter: SQLValue = try name.map { .int(try modelID(named: $0)) } ?? .null
            report.modelsChecked = Int(
                try db.scalarInt("SELECT count(*) FROM models WHERE ?1 IS NULL OR id = ?1", [modelFilter]))
            report.checkpointsChecked = Int(
                try db.scalarInt(
                    "SELECT count(*) FROM checkpoints WHERE ?1 IS NULL OR model_id = ?1", [modelFilter]))
            let tensors = try tensorProblems(modelFilter: modelFilter)
            report.tensorsChecked = tensors.checked
            report.problems += tensors.problems
            return report
        }
    }

    /// Decodes every tensor of one model (`modelFilter` its id, or NULL for all) against its
    /// checksum; each failure is a line naming the tensor.
    func tensorProblems(modelFilter: SQLValue) throws -> (checked: Int, problems: [String]) {
        var checked = 0
        var problems: [String] = []
        // Rows in report order without their blobs (sorting blob-carrying rows copies every
        // blob into a temporary b-tree), then each blob by primary key.
        let rows = try db.query(
            """
            SELECT t.id, m.name, c.epoch, c.step, t.network, t.path, t.shape, t.dtype, t.codec, t.raw_bytes, t.sha256
            FROM tensors t JOIN checkpoints c ON c.id = t.checkpoint_id JOIN models m ON m.id = c.model_id
            WHERE ?1 IS NULL OR m.id = ?1 ORDER BY m.name, c.step, t.id
            """, [modelFilter]
        ) { s in
            (
                id: s.int64(0), model: s.text(1), epoch: s.int(2), step: s.int(3), network: s.text(4),
                path: s.text(5),
                shape: s.text(6), dtype: s.text(7), codec: s.text(8), rawBytes: s.int(9), sha256: s.text(10)
            )
        }
        let blobQuery = try db.prepare("SELECT blob FROM tensors WHERE id = ?")
        for row in rows {
            checked += 1
            try blobQuery.bind([.int(row.id)])
            guard try blobQuery.step() else { continue }
            do {
                let shape = try Shape.parse(row.shape)
                _ = try WeightCodec.decode(
                    blob: blobQuery.blob(0), dtype: row.dtype, codec: row.codec, rawBytes: row.rawBytes,
                    sha256: row.sha256, elementCount: Shape.elementCount(shape))
            } catch let failure as WeightCodec.Failure {
                problems.append(
                    RegistryError.corruptTensor(
                        model: row.model, epoch: row.epoch, step: row.step,
                        network: row.network, path: row.path, reason: failure.reason
                    ).description)
            }
        }
        return (checked, problems)
    }
}
